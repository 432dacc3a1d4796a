"""Named training recipes: each is a few lines of ``fit`` calls you can read in one screen.

Taught in ``00_welcome_first_transfer`` (``fine_tune``, ``train_from_scratch``,
``feature_extract``).  The course's learning rates:

* ``LR_SCRATCH = 3e-3`` is the rate that trains these small CNNs from scratch
  well (measured: 1e-3 under-trains in the course's budgets and 1e-2 often
  diverges).
* ``LR_FINETUNE = 3e-4`` is ten times smaller: the rate for changing weights
  that already know something.
* ``LR_HEAD = 1e-2``: a fresh linear head on frozen features is a convex
  problem and tolerates a high rate.
* ``LR_LORA = 3e-3``: LoRA adapters start at zero and can only move in a
  low-rank subspace, so they are usually trained at a rate about ten times
  that of full fine-tuning (taught in ``08_strategies``).

>>> from course_lib import data, models, recipes
>>> train_set = data.load("clinic").take_per_class(5, seed=0)
>>> model = models.load_base("scans-s", n_classes=train_set.n_classes)
>>> hist = recipes.fine_tune(model, train_set, head_epochs=2, epochs=2, progress=False)
>>> hist.label, len(hist), hist.extra["phase"]
('fine-tune', 4, [1.0, 1.0, 2.0, 2.0])
"""

from . import lora, models
from ._checks import check_integer, check_positive
from .train import _epochs_before, _interrupt_message, fit

LR_SCRATCH = 3e-3
LR_FINETUNE = 3e-4
LR_HEAD = 1e-2
LR_LORA = 3e-3


def train_from_scratch(model, train, val=None, *, epochs=40, lr=LR_SCRATCH, **kwargs):
    """Train every weight of a freshly built model: the non-transfer control."""
    models.unfreeze(model, "all")
    return fit(model, train, val, epochs=epochs, lr=lr, label=kwargs.pop("label", "from scratch"), **kwargs)


def feature_extract(model, train, val=None, *, epochs=40, lr=LR_HEAD, **kwargs):
    """Freeze the pretrained backbone and train only the head: the frozen baseline."""
    models.freeze(model, "backbone")
    models.unfreeze(model, "head")
    return fit(model, train, val, epochs=epochs, lr=lr, label=kwargs.pop("label", "frozen backbone"), **kwargs)


def fine_tune(model, train, val=None, *, head_epochs=20, epochs=20, lr=LR_FINETUNE,
              head_lr=LR_HEAD, decay=2.6, **kwargs):
    """Start frozen, then thaw: the course's fine-tuning recipe (after fastai's ``fine_tune``).

    1. Freeze the backbone and train the new head for ``head_epochs`` at ``head_lr``,
       so that the head stops sending random gradients into the pretrained blocks.
    2. Unfreeze everything and train for ``epochs`` at the fine-tuning rate ``lr``,
       with discriminative rates: each block below the head learns ``decay``
       times more slowly than the one above it.

    Returns one History covering both phases; ``history.extra["phase"]`` is 1
    during the head-only epochs and 2 afterwards.
    """
    for name, value in (("head_epochs", head_epochs), ("epochs", epochs)):
        check_positive(name, value, integer=True)
    for name, value in (("lr", lr), ("head_lr", head_lr), ("decay", decay)):
        check_positive(name, value)
    label = kwargs.pop("label", "fine-tune")

    def every_layer(callbacks):
        models.unfreeze(model, "all")
        groups = models.param_groups(model, lr, decay=decay)
        return fit(model, train, val, epochs=epochs, lr=lr, param_groups=groups, label=label,
                   callbacks=callbacks, **kwargs)

    return _head_first(model, train, val, head_epochs, head_lr, label, kwargs, then=every_layer)


def _head_first(model, train, val, head_epochs, head_lr, label, kwargs, then):
    """The two-phase recipes: the head alone (phase 1), then ``then(callbacks)`` (phase 2), as one History."""
    mark = lambda phase: (lambda model, history: history.record("phase", phase))
    callbacks = list(kwargs.pop("callbacks", ()))
    first = feature_extract(model, train, val, epochs=head_epochs, lr=head_lr, label=f"{label}: head only",
                            callbacks=callbacks + [mark(1)], **kwargs)
    if first.interrupted:
        return first
    try:   # an interrupt counts every epoch returned, both phases; between them it returns phase 1 as it ended
        with _epochs_before(len(first)):
            second = then(callbacks + [mark(2)])
    except KeyboardInterrupt:
        first.interrupted = True
        print(_interrupt_message(len(first)))
        return first
    return first.then(second, label=label)


def gradual_unfreeze(model, train, val=None, *, epochs_per_stage=10, head_epochs=None, lr=LR_FINETUNE,
                     head_lr=LR_HEAD, n_blocks=len(models.BLOCKS), **kwargs):
    """Thaw the backbone one block at a time, from the top (after ULMFiT's gradual unfreezing).

    Taught in ``06_tiny_dataset_overfitting``.

    0. Freeze the backbone and train the new head for ``head_epochs`` (default:
       ``epochs_per_stage``) at ``head_lr``.
    1. Unfreeze the top block (``block3``) and train for ``epochs_per_stage`` at ``lr``.
    2. ... and so on, one more block per stage, until ``n_blocks`` blocks are thawed.

    Returns one History covering every stage; ``history.extra["stage"]`` holds
    the number of thawed blocks (0 for the head-only epochs), so the curves show
    when each block started to move.  Pass ``early_stopping=N`` to stop each stage
    at its validation plateau (and keep its best epoch).

    >>> from course_lib import data, models, recipes
    >>> tiny = data.load("clinic").take_per_class(3, seed=0)
    >>> model = models.load_base("scans-s", n_classes=tiny.n_classes)
    >>> hist = recipes.gradual_unfreeze(model, tiny, epochs_per_stage=1, progress=False)
    >>> hist.extra["stage"], models.trainable_parts(model)
    ([0.0, 1.0, 2.0, 3.0], ['block1', 'block2', 'block3', 'head'])
    """
    check_positive("epochs_per_stage", epochs_per_stage, integer=True)
    head_epochs = epochs_per_stage if head_epochs is None else head_epochs
    check_positive("head_epochs", head_epochs, integer=True)
    for name, value in (("lr", lr), ("head_lr", head_lr)):
        check_positive(name, value)
    _refuse_blocks("gradual_unfreeze", kwargs)
    check_integer("n_blocks", n_blocks, low=1, high=len(models.BLOCKS), note=" (how many blocks to thaw, from the top)",
                  hint=" For the head alone use recipes.feature_extract.")
    label = kwargs.pop("label", "gradual unfreezing")
    callbacks = list(kwargs.pop("callbacks", ()))
    history = None
    for stage in range(n_blocks + 1):
        mark = lambda model, hist, stage=stage: hist.record("stage", stage)
        try:   # an interrupt message counts every epoch returned; between stages the last stage is kept as it ended
            with _epochs_before(len(history) if history is not None else 0):
                models.freeze_up_to(model, stage)
                part = fit(model, train, val, epochs=head_epochs if stage == 0 else epochs_per_stage,
                           lr=head_lr if stage == 0 else lr, label=f"{label}: {stage} block(s) thawed",
                           callbacks=callbacks + [mark], **kwargs)
        except KeyboardInterrupt:
            if history is None:
                raise
            history.interrupted = True
            print(_interrupt_message(len(history)))
            break
        history = part if history is None else history.then(part, label=label)
        if part.interrupted:
            break
    history.label = label
    return history


def lora_fine_tune(model, train, val=None, *, rank=4, alpha=None, blocks=models.BLOCKS, head_epochs=10, epochs=30,
                   lr=LR_LORA, head_lr=LR_HEAD, **kwargs):
    """Start frozen, then adapt with LoRA: the head first, then low-rank adapters and the head.

    Taught in ``08_strategies``.

    1. Freeze the backbone and train the new head for ``head_epochs`` at ``head_lr``
       (as ``fine_tune`` does, so no random gradients reach the adapters).
    2. Wrap the convs of ``blocks`` in rank-``rank`` adapters (``lora.add_lora``:
       every pretrained weight stays frozen) and train the adapters and the
       head for ``epochs`` at ``lr``.

    The model keeps its adapters; fold them into the weights with
    ``lora.merge_lora(model)`` for inference, and store ``lora.lora_state_dict(model)``
    per task.  Returns one History covering both phases;
    ``history.extra["phase"]`` is 1 during the head-only epochs and 2 afterwards.

    >>> from course_lib import data, lora, models, recipes
    >>> few = data.load("clinic").take_per_class(3, seed=0)
    >>> model = models.load_base("scans-s", n_classes=few.n_classes)
    >>> hist = recipes.lora_fine_tune(model, few, head_epochs=1, epochs=1, progress=False)
    >>> hist.extra["phase"], len(lora.lora_layers(model))
    ([1.0, 2.0], 3)
    """
    for name, value in (("head_epochs", head_epochs), ("epochs", epochs)):
        check_positive(name, value, integer=True)
    for name, value in (("lr", lr), ("head_lr", head_lr)):
        check_positive(name, value)
    lora.check_adapters(model, rank, alpha, blocks)          # a bad rank or block fails now, not after the head phase
    label = kwargs.pop("label", "LoRA")

    def adapters(callbacks):
        lora.add_lora(model, rank=rank, alpha=alpha, blocks=blocks)
        return fit(model, train, val, epochs=epochs, lr=lr, label=label, callbacks=callbacks, **kwargs)

    return _head_first(model, train, val, head_epochs, head_lr, label, kwargs, then=adapters)


def head_then_unfreeze(model, train, val=None, *, head_epochs=20, epochs=150, n_blocks=len(models.BLOCKS),
                       lr=LR_FINETUNE, head_lr=LR_HEAD, early_stopping=None, regularizer=None, augment=None,
                       weight_decay=0.0, **kwargs):
    """The head alone first, then the top ``n_blocks`` blocks with it: one recipe whose remedies are one argument each.

    Taught in ``06_tiny_dataset_overfitting``.

    1. Freeze the backbone and train the new head for ``head_epochs`` at ``head_lr``,
       so that the head is not starved when the blocks start to move.
    2. Thaw the top ``n_blocks`` blocks (``models.freeze_up_to``; 0 keeps the whole
       backbone frozen) and train them and the head for ``epochs`` at ``lr``.

    ``early_stopping``, ``regularizer``, ``augment`` and ``weight_decay`` act in
    phase 2 only, so a run and its remedy share the same trained head; every
    other keyword (``batch_size``, ``seed``, ``callbacks``, ...) goes to both
    phases.  Returns one History covering both phases;
    ``history.extra["phase"]`` is 1 during the head-only epochs and 2 afterwards.

    >>> from course_lib import data, models, recipes
    >>> few = data.load("clinic").take_per_class(3, seed=0)
    >>> model = models.load_base("scans-s", n_classes=few.n_classes)
    >>> hist = recipes.head_then_unfreeze(model, few, head_epochs=2, epochs=2, n_blocks=1, progress=False)
    >>> hist.extra["phase"], models.trainable_parts(model)
    ([1.0, 1.0, 2.0, 2.0], ['block3', 'head'])
    """
    for name, value in (("head_epochs", head_epochs), ("epochs", epochs)):
        check_positive(name, value, integer=True)
    for name, value in (("lr", lr), ("head_lr", head_lr)):
        check_positive(name, value)
    _refuse_blocks("head_then_unfreeze", kwargs)
    check_integer("n_blocks", n_blocks, low=0, high=len(models.BLOCKS),
                  note=" (how many blocks to thaw after the head, from the top; 0 keeps the backbone frozen)")
    if early_stopping is not None and val is None:
        raise ValueError("early_stopping needs validation data: pass val=... to head_then_unfreeze().")
    label = kwargs.pop("label", "head, then unfreeze")

    def thawed(callbacks):
        models.freeze_up_to(model, n_blocks)
        return fit(model, train, val, epochs=epochs, lr=lr, early_stopping=early_stopping, regularizer=regularizer,
                   augment=augment, weight_decay=weight_decay, label=label, callbacks=callbacks, **kwargs)

    return _head_first(model, train, val, head_epochs, head_lr, label, kwargs, then=thawed)


def _refuse_blocks(where, kwargs):
    """``blocks=`` names blocks (``lora_fine_tune``); the unfreezing recipes count them with ``n_blocks=``."""
    if "blocks" in kwargs:
        raise TypeError(f"{where}() counts the blocks to thaw with n_blocks= (for example n_blocks=2: block3 and "
                        f"block2), got blocks={kwargs['blocks']!r}. blocks= names blocks, in lora_fine_tune.")
