"""The strategies side by side: the frozen baseline, fine-tuning, from scratch (and LoRA), on one label budget.

Taught in ``05_skipped_baseline`` (and extended with LoRA in ``08_strategies``).
Before fine-tuning a pretrained base, train the cheap *frozen baseline*
(feature extraction: the backbone stays as it is, only a new head learns) and a
model *from scratch*, with the same labels, seed and epochs.
:func:`run_strategies` runs them and returns, for each, what you need to judge
it: accuracy, trainable parameters, training seconds, and how many parameters
you must store per task (the frozen baseline shares one backbone between all
its tasks and stores only its head).  The table :data:`RECIPES` says which
recipe each strategy is, in one line each.  :func:`inverted` builds a target
further from the base's source: the same specimens as scanned by a machine
that writes dark marks on light film.

>>> from course_lib import data, strategies
>>> clinic, test = data.load("clinic"), data.load("clinic_test")
>>> runs = strategies.run_strategies(clinic.take_per_class(3, seed=0), test, epochs=2, progress=False)
>>> list(runs)
['frozen baseline', 'fine-tune', 'from scratch']
>>> [(r.trainable, r.stored_per_task) for r in runs.values()]
[(325, 325), (23621, 23621), (23621, 23621)]
"""

from dataclasses import dataclass

from . import forgetting, lora, models, recipes, train
from ._checks import check_choice, check_imageset, check_positive, check_seed
from .repro import seed_everything

__all__ = ["FROZEN", "FINE_TUNE", "SCRATCH", "LORA", "STRATEGIES", "RECIPES", "StrategyRun", "inverted",
           "run_strategies"]

FROZEN, FINE_TUNE, SCRATCH = "frozen baseline", "fine-tune", "from scratch"
LORA = "LoRA"                      # the parameter-efficient strategy, added in 08_strategies
STRATEGIES = (FROZEN, FINE_TUNE, SCRATCH)


@dataclass(frozen=True)
class Budget:
    """What every strategy of one :func:`run_strategies` call shares: epochs, the head phase, batch size, seed."""

    epochs: int
    head_epochs: int
    batch_size: int
    seed: int
    decay: float
    rank: int
    progress: object = None

    def common(self, label):
        return dict(batch_size=self.batch_size, seed=self.seed, progress=self.progress, label=label)


# --------------------------------------------------------------------------- the recipes, one line each
# Each strategy is one recipe of course_lib.recipes, run on a fresh model: the base, or for "from scratch" a new
# random model of the base's architecture.  ``lr`` is the strategy's rate; RECIPES gives each its default.
def _frozen_baseline(model, train_set, val, lr, b):
    return recipes.feature_extract(model, train_set, val, epochs=b.epochs, lr=lr, **b.common(FROZEN))


def _fine_tune(model, train_set, val, lr, b):
    return recipes.fine_tune(model, train_set, val, head_epochs=b.head_epochs, epochs=b.epochs - b.head_epochs,
                             lr=lr, decay=b.decay, **b.common(FINE_TUNE))


def _from_scratch(model, train_set, val, lr, b):
    return recipes.train_from_scratch(model, train_set, val, epochs=b.epochs, lr=lr, **b.common(SCRATCH))


def _lora(model, train_set, val, lr, b):
    return recipes.lora_fine_tune(model, train_set, val, rank=b.rank, head_epochs=b.head_epochs,
                                  epochs=b.epochs - b.head_epochs, lr=lr, **b.common(LORA))


RECIPES = {             # strategy: (its recipe, its default rate)
    FROZEN: (_frozen_baseline, recipes.LR_HEAD),
    FINE_TUNE: (_fine_tune, recipes.LR_FINETUNE),
    SCRATCH: (_from_scratch, recipes.LR_SCRATCH),
    LORA: (_lora, recipes.LR_LORA),
}
_ALL = tuple(RECIPES)
_TWO_PHASE = (FINE_TUNE, LORA)      # the head alone first, then the backbone (or its adapters)


@dataclass
class StrategyRun:
    """One strategy's result on one label budget.  Taught in ``05_skipped_baseline``.

    ``trainable`` and ``total`` count parameters while training (the frozen
    baseline trains only its head); ``stored_per_task`` is what a second task
    would add to your disk: the head alone when the backbone is shared and
    frozen, the whole model otherwise.  ``seconds`` is the training wall time
    (``History.seconds``), which depends on the machine and its load.
    ``source_accuracy`` is ``forgetting.source_accuracy`` of the trained
    backbone: how much of the base's own task it still knows (``None`` for a
    model trained from scratch, which has no base).
    """

    strategy: str
    accuracy: float
    trainable: int
    total: int
    stored_per_task: int
    seconds: float
    history: train.History
    model: object = None
    source_accuracy: float = None


def inverted(dataset, name=None):
    """The same images with dark and light swapped (``255 - images``): a target further from the base.

    Taught in ``05_skipped_baseline``: the clinic's second scanner writes dark
    marks on light film.  Labels, class names, specimen groups and times are
    kept, so ``take_per_class`` still draws one scan per specimen.

    >>> from course_lib import data, strategies
    >>> clinic = data.load("clinic")
    >>> second = strategies.inverted(clinic, name="clinic B")
    >>> second
    ImageSet('clinic B': 1200 images of 20x20, 5 classes, groups, times)
    >>> int(clinic.images[0, 0, 0]) + int(second.images[0, 0, 0])
    255
    """
    check_imageset(dataset, "inverted")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a string such as 'clinic B', got {type(name).__name__}.")
    return dataset.replace(images=255 - dataset.images, labels=dataset.labels.copy(),
                           name=name or f"{dataset.name} (inverted)")


def run_strategies(train_set, score_on, *, strategies=STRATEGIES, base="scans-s", epochs=40, batch_size=16,
                   decay=1.0, seed=0, val=None, progress=None, head_epochs=None, lr=None, rank=4):
    """Train each of ``strategies`` on ``train_set`` with the same seed and epochs; score each on ``score_on``.

    Taught in ``05_skipped_baseline``.  Each strategy is its line of :data:`RECIPES`:

    * ``"frozen baseline"`` (``FROZEN``): ``recipes.feature_extract`` on base ``base``, ``epochs`` epochs;
    * ``"fine-tune"`` (``FINE_TUNE``): ``recipes.fine_tune``, the head alone for ``head_epochs`` epochs
      (default ``epochs // 2``), then every layer for the rest at ``lr`` (default
      ``LR_FINETUNE``); ``decay`` is its per-block rate ratio (the default 1.0: one
      rate for every layer, so the early blocks can adapt as fast as the late
      ones when the target's pixels differ);
    * ``"from scratch"`` (``SCRATCH``): ``recipes.train_from_scratch`` on a new model of the same architecture;
    * ``"LoRA"`` (``LORA``, taught in ``08_strategies``): ``recipes.lora_fine_tune``,
      the head alone for ``head_epochs``, then rank-``rank`` adapters and the head
      for the rest at ``lr`` (default ``LR_LORA``).

    ``score_on`` is the labelled set each trained model is scored on: a test set
    for a final report (notebook 05), a validation set while you are still
    choosing (notebook 09).  Every strategy gets ``epochs`` epochs in all.  ``lr`` is
    either one rate, for the second phase of ``"fine-tune"`` and ``"LoRA"`` (the
    other strategies keep their usual rates), or a dict giving each strategy its
    own rate, for example one chosen on validation (taught in ``08_strategies``):
    ``{"frozen baseline": 3e-2, "fine-tune": 1e-3, "LoRA": 1e-2}``.  For the frozen
    baseline it is the head's rate (default ``LR_HEAD``), for ``"from scratch"``
    the rate of every layer (default ``LR_SCRATCH``); a strategy the dict does not
    name keeps its default.

    Returns ``{strategy: StrategyRun}`` in the order given.  ``val`` (optional)
    records validation curves in each history.

    >>> from course_lib import data, strategies
    >>> small = data.load("clinic").take_per_class(2, seed=1)
    >>> runs = strategies.run_strategies(small, data.load("clinic_test"), strategies=["from scratch"],
    ...                                  epochs=1, progress=False)
    >>> 0.0 <= runs["from scratch"].accuracy <= 1.0
    True
    >>> rates = {"frozen baseline": 3e-2, "fine-tune": 1e-3}         # each strategy its own rate
    >>> runs = strategies.run_strategies(small, data.load("clinic_test"), strategies=list(rates), lr=rates,
    ...                                  epochs=2, progress=False)
    >>> [r.history.lr[-1] for r in runs.values()]
    [0.03, 0.001]
    """
    check_imageset(train_set, "run_strategies (train_set)")
    check_imageset(score_on, "run_strategies (score_on)")
    names = _check_strategies(strategies)
    budget = _check_budget(names, base, epochs, head_epochs, batch_size, decay, seed, rank, progress)
    rates = _rates(lr, names)
    if score_on.n_classes != train_set.n_classes:
        raise ValueError(f"train_set has {train_set.n_classes} classes but score_on has {score_on.n_classes}; "
                         "score on the same task.")
    runs = {}
    for name in names:
        seed_everything(budget.seed)    # the same fresh head (or fresh model) for a given seed, whatever ran before
        recipe, default_lr = RECIPES[name]
        model = (models.build(models.BASES[base].arch, n_classes=train_set.n_classes) if name == SCRATCH else
                 models.load_base(base, n_classes=train_set.n_classes))
        hist = recipe(model, train_set, val, rates.get(name, default_lr), budget)
        runs[name] = _strategy_run(name, model, hist, score_on, base)
    return runs


def _check_strategies(strategies):
    """The strategy names as a list; raises for a string, an empty list or an unknown name."""
    if isinstance(strategies, str) or not hasattr(strategies, "__iter__"):
        raise TypeError(f"strategies must be a list of names such as {list(STRATEGIES)}, got {strategies!r}.")
    names = list(strategies)
    if not names:
        raise ValueError(f"strategies is empty, so there is nothing to run. Choose from {list(STRATEGIES)}.")
    for name in names:
        check_choice("strategy", name, _ALL)
    return names


def _check_budget(names, base, epochs, head_epochs, batch_size, decay, seed, rank, progress):
    """The :class:`Budget` every strategy shares, after checking each argument."""
    check_choice("base", base, tuple(models.BASES))
    check_positive("epochs", epochs, integer=True)
    two_phase = [name for name in names if name in _TWO_PHASE]
    if two_phase and epochs < 2:
        raise ValueError(f"epochs must be at least 2 for {two_phase[0]!r} (some for the head, the rest for the "
                         f"backbone), got {epochs}.")
    head_epochs = max(epochs // 2, 1) if head_epochs is None else head_epochs
    check_positive("head_epochs", head_epochs, integer=True)
    if two_phase and head_epochs >= epochs:
        raise ValueError(f"head_epochs must be smaller than epochs ({epochs}), so that {two_phase[0]!r} has "
                         f"epochs left to train its backbone; got head_epochs={head_epochs}.")
    if LORA in names:       # a bad rank fails now, before any strategy has trained
        lora.check_adapters(models.build(models.BASES[base].arch, n_classes=2), rank, None, models.BLOCKS)
    check_positive("batch_size", batch_size, integer=True)
    check_positive("decay", decay)
    return Budget(epochs=epochs, head_epochs=head_epochs, batch_size=batch_size, seed=check_seed(seed),
                  decay=decay, rank=rank, progress=progress)


def _strategy_run(name, model, hist, score_on, base):
    """The :class:`StrategyRun` of a trained model, counted as it was trained (a frozen backbone still frozen).

    A task stores its head (frozen baseline), its adapters and head (LoRA), or the whole model.
    """
    counts = models.count_parameters(model)
    stored = counts["total"] if name in (FINE_TUNE, SCRATCH) else counts["trainable"]
    return StrategyRun(strategy=name, accuracy=train.evaluate(model, score_on).accuracy,
                       trainable=counts["trainable"], total=counts["total"], stored_per_task=stored,
                       seconds=hist.seconds, history=hist, model=model,
                       source_accuracy=None if name == SCRATCH else forgetting.source_accuracy(model, base))


def _rates(lr, strategies):
    """``{strategy: rate}`` from run_strategies' ``lr``: one rate for the two-phase strategies, or a dict."""
    if lr is None:
        return {}
    if isinstance(lr, dict):
        for name, rate in lr.items():
            check_choice("strategy in lr", name, _ALL)
            if name not in strategies:
                raise ValueError(f"lr gives a rate for {name!r}, which is not among the strategies to run "
                                 f"({strategies}). Give rates only for strategies you run.")
            check_positive(f"lr[{name!r}]", rate)
        return dict(lr)
    check_positive("lr", lr)
    return {name: lr for name in ("fine-tune", LORA)}
