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

>>> from course_lib import data, models, recipes
>>> train_set = data.load("clinic").take_per_class(5, seed=0)
>>> model = models.load_base("scans-s", n_classes=train_set.n_classes)
>>> hist = recipes.fine_tune(model, train_set, head_epochs=2, epochs=2, progress=False)
>>> hist.label, len(hist), hist.extra["phase"]
('fine-tune', 4, [1.0, 1.0, 2.0, 2.0])
"""

from . import models
from ._checks import check_positive
from .train import fit

LR_SCRATCH = 3e-3
LR_FINETUNE = 3e-4
LR_HEAD = 1e-2


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
    mark = lambda phase: (lambda model, history: history.record("phase", phase))
    callbacks = list(kwargs.pop("callbacks", ()))
    first = feature_extract(model, train, val, epochs=head_epochs, lr=head_lr, label=f"{label}: head only",
                            callbacks=callbacks + [mark(1)], **kwargs)
    if first.interrupted:
        return first
    models.unfreeze(model, "all")
    groups = models.param_groups(model, lr, decay=decay)
    second = fit(model, train, val, epochs=epochs, lr=lr, param_groups=groups, label=label,
                 callbacks=callbacks + [mark(2)], **kwargs)
    return first.then(second, label=label)
