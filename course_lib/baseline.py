"""The frozen baseline next to fine-tuning and training from scratch, on one label budget.

Taught in ``05_skipped_baseline``.  Before fine-tuning a pretrained base, train
the cheap *frozen baseline* (feature extraction: the backbone stays as it is,
only a new head learns) and a model *from scratch*, with the same labels, seed
and epochs.  :func:`run_strategies` runs the three and returns, for each, what
you need to judge it: test accuracy, trainable parameters, training seconds,
and how many parameters you must store per task (the frozen baseline shares
one backbone between all its tasks and stores only its head).
:func:`inverted` builds a target further from the base's source: the same
specimens as scanned by a machine that writes dark marks on light film.

>>> from course_lib import baseline, data
>>> clinic, test = data.load("clinic"), data.load("clinic_test")
>>> runs = baseline.run_strategies(clinic.take_per_class(3, seed=0), test, epochs=2, progress=False)
>>> list(runs)
['frozen baseline', 'fine-tune', 'from scratch']
>>> [(r.trainable, r.stored_per_task) for r in runs.values()]
[(325, 325), (23621, 23621), (23621, 23621)]
"""

from dataclasses import dataclass

from . import data, forgetting, lora, models, recipes, train
from ._checks import check_choice, check_imageset, check_positive, check_seed
from .repro import seed_everything

__all__ = ["STRATEGIES", "LORA", "StrategyRun", "inverted", "run_strategies"]

STRATEGIES = ("frozen baseline", "fine-tune", "from scratch")
LORA = "LoRA"                      # the parameter-efficient strategy, added in 08_strategies
_ALL = STRATEGIES + (LORA,)


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

    >>> from course_lib import baseline, data
    >>> clinic = data.load("clinic")
    >>> second = baseline.inverted(clinic, name="clinic B")
    >>> second
    ImageSet('clinic B': 1200 images of 20x20, 5 classes, groups, times)
    >>> int(clinic.images[0, 0, 0]) + int(second.images[0, 0, 0])
    255
    """
    check_imageset(dataset, "inverted")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a string such as 'clinic B', got {type(name).__name__}.")
    return data.ImageSet(255 - dataset.images, dataset.labels.copy(), list(dataset.class_names),
                         name or f"{dataset.name} (inverted)", dataset.groups, dataset.times,
                         dataset.summary, dict(dataset.meta))


def run_strategies(train_set, test, *, strategies=STRATEGIES, base="scans-s", epochs=40, batch_size=16,
                   decay=1.0, seed=0, val=None, progress=None, head_epochs=None, lr=None, rank=4):
    """Train each of ``strategies`` on ``train_set`` with the same seed and epochs; score on ``test``.

    Taught in ``05_skipped_baseline``.

    * ``"frozen baseline"``: ``recipes.feature_extract`` on base ``base``, ``epochs`` epochs;
    * ``"fine-tune"``: ``recipes.fine_tune``, the head alone for ``head_epochs`` epochs
      (default ``epochs // 2``), then every layer for the rest at ``lr`` (default
      ``LR_FINETUNE``); ``decay`` is its per-block rate ratio (the default 1.0: one
      rate for every layer, so the early blocks can adapt as fast as the late
      ones when the target's pixels differ);
    * ``"from scratch"``: ``recipes.train_from_scratch`` on a new model of the same architecture;
    * ``"LoRA"`` (``baseline.LORA``, taught in ``08_strategies``): ``recipes.lora_fine_tune``,
      the head alone for ``head_epochs``, then rank-``rank`` adapters and the head
      for the rest at ``lr`` (default ``LR_LORA``).

    Every strategy gets ``epochs`` epochs in all.  ``lr`` is either one rate, for
    the second phase of ``"fine-tune"`` and ``"LoRA"`` (the other strategies keep
    their usual rates), or a dict giving each strategy its own rate, for example
    one chosen on validation (taught in ``08_strategies``): ``{"frozen baseline":
    3e-2, "fine-tune": 1e-3, "LoRA": 1e-2}``.  For the frozen baseline it is the
    head's rate (default ``LR_HEAD``), for ``"from scratch"`` the rate of every
    layer (default ``LR_SCRATCH``); a strategy the dict does not name keeps its
    default.

    Returns ``{strategy: StrategyRun}`` in the order given.  ``val`` (optional)
    records validation curves in each history.

    >>> from course_lib import baseline, data
    >>> small = data.load("clinic").take_per_class(2, seed=1)
    >>> runs = baseline.run_strategies(small, data.load("clinic_test"), strategies=["from scratch"],
    ...                                epochs=1, progress=False)
    >>> 0.0 <= runs["from scratch"].accuracy <= 1.0
    True
    >>> rates = {"frozen baseline": 3e-2, "fine-tune": 1e-3}         # each strategy its own rate
    >>> runs = baseline.run_strategies(small, data.load("clinic_test"), strategies=list(rates), lr=rates,
    ...                                epochs=2, progress=False)
    >>> [r.history.lr[-1] for r in runs.values()]
    [0.03, 0.001]
    """
    check_imageset(train_set, "run_strategies (train_set)")
    check_imageset(test, "run_strategies (test)")
    if isinstance(strategies, str) or not hasattr(strategies, "__iter__"):
        raise TypeError(f"strategies must be a list of names such as {list(STRATEGIES)}, got {strategies!r}.")
    strategies = list(strategies)
    if not strategies:
        raise ValueError(f"strategies is empty, so there is nothing to run. Choose from {list(STRATEGIES)}.")
    for name in strategies:
        check_choice("strategy", name, _ALL)
    check_choice("base", base, tuple(models.BASES))
    check_positive("epochs", epochs, integer=True)
    two_phase = [name for name in strategies if name in ("fine-tune", LORA)]
    if two_phase and epochs < 2:
        raise ValueError(f"epochs must be at least 2 for {two_phase[0]!r} (some for the head, the rest for the "
                         f"backbone), got {epochs}.")
    head_epochs = max(epochs // 2, 1) if head_epochs is None else head_epochs
    check_positive("head_epochs", head_epochs, integer=True)
    if two_phase and head_epochs >= epochs:
        raise ValueError(f"head_epochs must be smaller than epochs ({epochs}), so that {two_phase[0]!r} has "
                         f"epochs left to train its backbone; got head_epochs={head_epochs}.")
    rates = _rates(lr, strategies)
    if LORA in strategies:       # a bad rank fails now, before any strategy has trained
        lora._plan(models.build(models.BASES[base]["arch"], n_classes=2), rank, None, models.BLOCKS)
    check_positive("batch_size", batch_size, integer=True)
    check_positive("decay", decay)
    seed = check_seed(seed)
    n_classes = train_set.n_classes
    if test.n_classes != n_classes:
        raise ValueError(f"train_set has {n_classes} classes but test has {test.n_classes}; score on the same task.")

    runs = {}
    common = dict(batch_size=batch_size, seed=seed, progress=progress)
    for name in strategies:
        seed_everything(seed)       # the same fresh head (or fresh model) for a given seed, whatever ran before
        if name == "from scratch":
            model = models.build(models.BASES[base]["arch"], n_classes=n_classes)
            hist = recipes.train_from_scratch(model, train_set, val, epochs=epochs, label=name,
                                              lr=rates.get(name, recipes.LR_SCRATCH), **common)
        else:
            model = models.load_base(base, n_classes=n_classes)
            if name == "frozen baseline":
                hist = recipes.feature_extract(model, train_set, val, epochs=epochs, label=name,
                                               lr=rates.get(name, recipes.LR_HEAD), **common)
            elif name == LORA:
                hist = recipes.lora_fine_tune(model, train_set, val, rank=rank, head_epochs=head_epochs,
                                              epochs=epochs - head_epochs, lr=rates.get(name, recipes.LR_LORA),
                                              label=name, **common)
            else:
                hist = recipes.fine_tune(model, train_set, val, head_epochs=head_epochs, epochs=epochs - head_epochs,
                                         lr=rates.get(name, recipes.LR_FINETUNE), decay=decay, label=name, **common)
        # count while the model is as it was trained (the frozen baseline's backbone is still frozen);
        # a task stores its head (frozen), its adapters and head (LoRA), or the whole model
        counts = models.count_parameters(model)
        stored = counts["total"] if name in ("fine-tune", "from scratch") else counts["trainable"]
        runs[name] = StrategyRun(strategy=name, accuracy=train.evaluate(model, test).accuracy,
                                 trainable=counts["trainable"], total=counts["total"], stored_per_task=stored,
                                 seconds=hist.seconds, history=hist, model=model,
                                 source_accuracy=None if name == "from scratch" else
                                 forgetting.source_accuracy(model, base))
    return runs


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
