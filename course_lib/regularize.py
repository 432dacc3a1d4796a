"""Keeping a fine-tuned model from memorising a tiny training set.

Taught in ``06_tiny_dataset_overfitting``.  With a handful of labels per class,
a fully unfrozen base trained long learns its training images by heart:
training accuracy reaches 1.0 (wrong labels included) while validation
accuracy stalls and the validation loss, after a minimum, turns up.  The
helpers here measure that and plug the usual remedies into ``train.fit``:

* :func:`generalization_gap` (training minus validation accuracy),
  :func:`loss_rise` (how far the validation loss climbed back above its
  minimum) and :func:`plateau_epoch` (where validation stopped improving)
  read a History;
* :func:`overconfidence` reads an Evaluation: the mean confidence of the
  model's answers minus how often they are right;
* :func:`flip_labels` makes a few training labels wrong on purpose, as a
  hurried labeller would, and records which ones;
* :func:`l2sp` builds a ``regularizer=`` that pulls the backbone back toward
  its pretrained weights (L2-SP, Li et al. 2018);
* :func:`augmenter` builds an ``augment=`` from torchvision transforms: small
  random shifts, rotations and rescalings, plus a little pixel noise, drawn
  from its own seeded random stream so that runs are reproducible.

Freezing more blocks, early stopping (which restores the best epoch), L2-SP,
weight decay and augmentation are each one argument of
``recipes.head_then_unfreeze`` (``blocks=``, ``early_stopping=``,
``regularizer=``, ``weight_decay=``, ``augment=``); gradual unfreezing is
``recipes.gradual_unfreeze``.

>>> from course_lib import data, models, regularize, train
>>> tiny = data.load("clinic").take_per_class(3, seed=0)
>>> model = models.load_base("scans-s", n_classes=tiny.n_classes)
>>> hist = train.fit(model, tiny, tiny, epochs=3, regularizer=regularize.l2sp(model),
...                  augment=regularize.augmenter(seed=0), seed=0, progress=False)
>>> regularize.generalization_gap(hist).shape
(3,)
"""

import numbers

import numpy as np
import torch

from ._checks import check_imageset, check_integer, check_positive, check_seed

__all__ = ["l2sp", "augmenter", "generalization_gap", "loss_rise", "plateau_epoch", "overconfidence",
           "flip_labels"]


# --------------------------------------------------------------------------- reading a history
def _check_history(history, where, need_val=True):
    if not all(hasattr(history, a) for a in ("train_acc", "val_acc", "epoch")):
        raise TypeError(f"{where} needs a History (what train.fit returns), got {type(history).__name__}.")
    if not history.train_acc:
        raise ValueError(f"History {history.label!r} has no completed epochs; train for at least one epoch.")
    if need_val and len(history.val_acc) != len(history.train_acc):
        raise ValueError(f"History {history.label!r} has no validation curve, so there is no gap to measure. "
                         "Train with train.fit(model, train_set, val_set, ...) to record one.")
    return history


def generalization_gap(history, final=False):
    """Training accuracy minus validation accuracy, per epoch (an array), or of the model kept (``final=True``).

    Taught in ``09_capstone_decision_path`` (notebook 06 reads the same gap off
    its learning curves).  A gap that keeps widening while validation stays
    flat is the signature of memorisation.  The training
    accuracy is measured on the (possibly augmented) training batches, as
    ``fit`` records it.  ``final=True`` reads ``History.final_gap``: the last
    epoch, or the best one when early stopping restored it (the model that
    ``fit`` returned).

    >>> from course_lib.train import History
    >>> h = History(epoch=[1, 2, 3], train_acc=[0.6, 0.9, 1.0], val_acc=[0.5, 0.6, 0.6])
    >>> generalization_gap(h).round(2).tolist()
    [0.1, 0.3, 0.4]
    >>> round(generalization_gap(h, final=True), 2)
    0.4
    """
    _check_history(history, "generalization_gap")
    gap = np.asarray(history.train_acc, dtype=float) - np.asarray(history.val_acc, dtype=float)
    return float(history.final_gap) if final else gap


def loss_rise(history):
    """How far the validation loss climbed back up: its last value minus its minimum over the run.

    Taught in ``06_tiny_dataset_overfitting``.  0 means the validation loss was
    still at its lowest at the last epoch (no sign of memorisation in the loss);
    a clearly positive value means it reached a minimum and then turned up, the
    moment after which the model fits its training images better and new ones
    worse.  Measured on the curve as ``fit`` recorded it, whatever weights an
    early stop restored.

    >>> from course_lib.train import History
    >>> h = History(epoch=[1, 2, 3, 4], train_acc=[0.5] * 4, val_acc=[0.5] * 4, val_loss=[1.0, 0.6, 0.7, 0.9])
    >>> round(loss_rise(h), 2)
    0.3
    """
    _check_history(history, "loss_rise")
    values = np.asarray(history.val_loss, dtype=float)
    if len(values) != len(history.train_acc):
        raise ValueError(f"History {history.label!r} has no validation loss curve; train with val=... to record one.")
    return float(values[-1] - values.min())


def plateau_epoch(history, patience=10, metric="val_loss", min_delta=1e-4):
    """The epoch at which validation stopped improving: where early stopping would have stopped looking.

    Taught in ``06_tiny_dataset_overfitting``.  Walks the curve as
    ``fit(..., early_stopping=patience)`` does: returns the best epoch so far
    (1-based) at the first moment ``patience`` epochs have passed without an
    improvement of more than ``min_delta``, or the best epoch of the whole run if
    that never happens.  ``metric`` is ``"val_loss"`` (lower is better, what
    ``fit`` watches) or ``"val_acc"`` (higher is better).

    >>> from course_lib.train import History
    >>> h = History(epoch=[1, 2, 3, 4, 5, 6], train_acc=[0.5] * 6, val_acc=[0.5] * 6,
    ...             val_loss=[1.0, 0.8, 0.7, 0.72, 0.71, 0.75])
    >>> plateau_epoch(h, patience=3)
    3
    """
    _check_history(history, "plateau_epoch")
    check_positive("patience", patience, integer=True)
    check_positive("min_delta", min_delta, allow_zero=True)
    if metric not in ("val_loss", "val_acc"):
        raise ValueError(f"metric must be 'val_loss' or 'val_acc', got {metric!r}.")
    values = np.asarray(getattr(history, metric), dtype=float)
    if len(values) != len(history.train_acc):
        raise ValueError(f"History {history.label!r} has no {metric!r} curve; train with val=... to record one.")
    sign = 1.0 if metric == "val_loss" else -1.0       # compare as "lower is better"
    best, best_epoch, waited = np.inf, 1, 0
    for epoch, value in enumerate(sign * values, start=1):
        if value < best - min_delta:
            best, best_epoch, waited = value, epoch, 0
        else:
            waited += 1
            if waited >= patience:
                break
    return best_epoch


# --------------------------------------------------------------------------- L2-SP
def l2sp(model, alpha=0.1, beta=0.01):
    """A ``regularizer`` for ``train.fit`` that pulls the backbone toward its starting weights (L2-SP).

    Taught in ``06_tiny_dataset_overfitting``.  Snapshots the backbone's weights
    ``w0`` now (call it right after loading the base) and returns
    ``penalty(model) = alpha/2 * ||w - w0||^2 + beta/2 * ||head||^2``, summed
    over the backbone's and the head's weights (Li, Grandvalet & Davoine, 2018).
    Plain weight decay pulls every weight toward zero, which for a pretrained
    base means toward forgetting; L2-SP pulls the backbone toward what it knew
    and applies ordinary decay only to the new head.

    >>> from course_lib import models
    >>> model = models.load_base("scans-s", n_classes=5)
    >>> penalty = l2sp(model, alpha=0.1, beta=0.0)
    >>> penalty(model).item()                       # nothing has moved yet
    0.0
    """
    if not isinstance(model, torch.nn.Module) or not hasattr(model, "backbone") or not hasattr(model, "head"):
        raise TypeError(f"l2sp needs a course model with a backbone and a head (models.load_base(...)), "
                        f"got {type(model).__name__}.")
    check_positive("alpha", alpha, allow_zero=True)
    check_positive("beta", beta, allow_zero=True)
    if alpha == 0 and beta == 0:
        raise ValueError("alpha and beta are both 0, so the penalty would always be 0. "
                         "Li et al. (2018) use alpha=0.1 (pull toward the start) and beta=0.01 (decay of the head).")
    start = {name: p.detach().clone() for name, p in model.backbone.named_parameters()}
    shapes = {name: p.shape for name, p in start.items()}

    def penalty(m):
        if {name: p.shape for name, p in m.backbone.named_parameters()} != shapes:
            raise ValueError("This L2-SP penalty was made for another model: build one per model, "
                             "with regularize.l2sp(model), right after loading the base.")
        pull = sum(((p - start[name]) ** 2).sum() for name, p in m.backbone.named_parameters())
        decay = sum((p ** 2).sum() for name, p in m.head.named_parameters() if name.endswith("weight"))
        return alpha / 2 * pull + beta / 2 * decay

    return penalty


# --------------------------------------------------------------------------- augmentation
class _Augmenter:
    """Random small affine moves and pixel noise, one draw per image, from a private seeded stream."""

    def __init__(self, transform, noise, seed):
        self.transform, self.noise = transform, noise
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.state = torch.get_rng_state()

    def __call__(self, images):
        if not torch.is_tensor(images) or images.ndim != 4 or not images.is_floating_point():
            shape = tuple(images.shape) if hasattr(images, "shape") else type(images).__name__
            raise ValueError(f"augment expects a float tensor batch shaped (N, C, H, W) with values in 0..1, "
                             f"got {shape}. train.fit passes its training batches in that form.")
        with torch.random.fork_rng(devices=[]):       # the rest of the program's randomness is left alone
            torch.set_rng_state(self.state)
            out = torch.stack([self.transform(img) for img in images])   # v2 draws once per call: one image each
            if self.noise:
                out = (out + self.noise * torch.randn_like(out)).clamp_(0, 1)
            self.state = torch.get_rng_state()
        return out

    def __repr__(self):
        return f"augmenter({self.transform}, noise={self.noise})"


def augmenter(rotation=10, shift=0.1, scale=(0.9, 1.1), noise=0.05, seed=0):
    """An ``augment`` for ``train.fit``: small random rotations, shifts and rescalings, plus pixel noise.

    Taught in ``06_tiny_dataset_overfitting``.  Built from torchvision's
    ``transforms.v2.RandomAffine``; each image of a batch gets its own random
    move (``rotation`` in degrees, ``shift`` as a fraction of the image size,
    ``scale`` as a (low, high) range), then Gaussian noise of standard deviation
    ``noise``.  The random draws come from a private stream seeded with
    ``seed``, so two runs with the same seed see the same augmented batches and
    nothing else in the program is disturbed.  Build a fresh one for each run.

    >>> import torch
    >>> aug = augmenter(seed=0)
    >>> batch = torch.zeros(4, 1, 20, 20)
    >>> batch[:, :, 5:15, 8:12] = 1.0
    >>> moved = aug(batch)
    >>> moved.shape, bool((moved != batch).any())
    (torch.Size([4, 1, 20, 20]), True)
    >>> torch.equal(augmenter(seed=0)(batch), moved)      # same seed, same draws
    True
    """
    from torchvision.transforms import v2

    for name, value in (("rotation", rotation), ("shift", shift), ("noise", noise)):
        check_positive(name, value, allow_zero=True)
    if shift >= 0.5:
        raise ValueError(f"shift must be below 0.5 (a fraction of the image size), got {shift!r}; "
                         "0.1 moves a 20-pixel image by up to 2 pixels.")
    if (not isinstance(scale, (tuple, list)) or len(scale) != 2
            or not all(isinstance(s, numbers.Real) and s > 0 for s in scale) or scale[0] > scale[1]):
        raise ValueError(f"scale must be a (low, high) pair of positive numbers with low <= high, "
                         f"such as (0.9, 1.1), got {scale!r}.")
    seed = check_seed(seed)
    transform = v2.RandomAffine(degrees=rotation, translate=(shift, shift), scale=tuple(scale))
    return _Augmenter(transform, float(noise), seed)


# --------------------------------------------------------------------------- over-confidence
def overconfidence(evaluation):
    """Mean confidence minus accuracy: how much more sure of itself the model is than it is right.

    Taught in ``06_tiny_dataset_overfitting``.  ``evaluation`` is what
    ``train.evaluate`` returns; the confidence of one answer is the probability
    the model gives its top class.  A well calibrated model scores about 0; a
    model that memorised its training set answers new images with confidence
    close to 1 while being right far less often, so it scores well above 0.
    This is why its cross-entropy loss on new images rises while its accuracy
    need not fall: confident wrong answers are what the loss punishes most.

    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> ev = SimpleNamespace(probs=np.array([[0.9, 0.1], [0.8, 0.2]]), accuracy=0.5)
    >>> round(overconfidence(ev), 2)
    0.35
    """
    probs, accuracy = getattr(evaluation, "probs", None), getattr(evaluation, "accuracy", None)
    if probs is None or accuracy is None:
        raise TypeError(f"overconfidence needs an Evaluation (what train.evaluate returns), "
                        f"got {type(evaluation).__name__}.")
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 2 or len(probs) == 0:
        raise ValueError(f"The evaluation's probs must be an (images, classes) array, got shape {probs.shape}.")
    return float(probs.max(axis=1).mean() - accuracy)


# --------------------------------------------------------------------------- wrong labels
def flip_labels(dataset, n, seed=0):
    """A copy of ``dataset`` in which ``n`` labels, chosen at random, name another class.

    Taught in ``06_tiny_dataset_overfitting``.  Hand-labelled sets contain
    mistakes; this makes ``n`` of them on purpose, so that we know which.
    Each chosen image gets a label drawn at random from the other classes.
    The positions of the flipped images are stored in
    ``result.meta["flipped"]`` and their true labels in
    ``result.meta["true_labels"]``; the images themselves are unchanged.  The
    same ``seed`` flips the same labels.

    >>> from course_lib import data
    >>> few = data.load("clinic").take_per_class(5, seed=0)
    >>> noisy = flip_labels(few, 3, seed=0)
    >>> len(noisy.meta["flipped"]), int((noisy.labels != few.labels).sum())
    (3, 3)
    """
    check_imageset(dataset, "flip_labels")
    check_integer("n", n, low=0, high=len(dataset), note=f" (the images in {dataset.name!r})")
    if dataset.n_classes < 2:
        raise ValueError("flip_labels needs at least two classes: a label can only be wrong if there is another one.")
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)
    flipped = np.sort(rng.choice(len(dataset), size=int(n), replace=False))
    labels = dataset.labels.copy()
    labels[flipped] = (labels[flipped] + rng.integers(1, dataset.n_classes, size=len(flipped))) % dataset.n_classes
    out = dataset.subset(np.arange(len(dataset)), name=f"{dataset.name}, {int(n)} labels wrong")
    out.labels = labels
    out.meta["flipped"] = flipped
    out.meta["true_labels"] = dataset.labels[flipped].copy()
    return out
