"""Training core: one ``fit`` for every run in the course, and ``evaluate``.

Taught in ``00_welcome_first_transfer`` (fit, learning curves) and used by
every notebook after it.  There is deliberately one training loop in the
course: a broken run and its fix differ in an argument, never in the loop.

>>> from course_lib import data, models, train
>>> ds = data.load("clinic").take_per_class(5, seed=0)
>>> model = models.build("small", n_classes=ds.n_classes)
>>> hist = train.fit(model, ds, epochs=2, lr=1e-2, progress=False)
>>> len(hist.train_loss)
2
"""

import contextlib
import inspect
import math
import os
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ._checks import (check_images, check_keywords, check_labels, check_positive, check_same_length, check_seed,
                      is_imageset)
from .repro import get_device


# --------------------------------------------------------------------------- history
@dataclass
class History:
    """What ``fit`` measured, one entry per completed epoch.

    ``extra`` holds the values that callbacks recorded (for example the source
    accuracy re-probed after each epoch).  ``interrupted`` is True when training
    was stopped with Ctrl-C / the stop button: the model then holds the weights
    of the last completed epoch, the one the history ends with.  ``diverged``
    is True when training stopped at a non-finite (NaN or infinite) loss:
    the model then holds the weights of the last completed epoch too.
    """

    label: str = "run"
    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    best_epoch: int = None
    stopped_early: bool = False
    interrupted: bool = False
    seconds: float = 0.0
    diverged: bool = False

    def __len__(self):
        return len(self.epoch)

    @property
    def final_val_acc(self):
        """Validation accuracy of the model as returned (the best epoch when restored)."""
        if not self.val_acc:
            return float("nan")
        if self.best_epoch is not None:
            return self.val_acc[self.best_epoch - 1]
        return self.val_acc[-1]

    @property
    def final_gap(self):
        """Train minus validation accuracy of the model as returned (the best epoch when restored).

        The one definition of "final gap" in the course: ``regularize.generalization_gap(h, final=True)``
        and the audit's train-validation row both read it.
        """
        if not self.val_acc or len(self.val_acc) != len(self.train_acc):
            return float("nan")
        i = self.best_epoch - 1 if self.best_epoch is not None else -1
        return self.train_acc[i] - self.val_acc[i]

    def epochs_to(self, fraction=0.9, metric="val_acc"):
        """First epoch at which ``metric`` reaches ``fraction`` of its best value: a convergence speed.

        Taught in ``00_welcome_first_transfer``.  A run that climbs fast reaches 90% of
        its best accuracy in a few epochs; a slow one needs most of its budget.
        """
        values = getattr(self, metric, None)
        if not isinstance(values, list) or not values:
            raise ValueError(f"History {self.label!r} has no {metric!r} values; train with val=... to record them.")
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must lie in (0, 1], got {fraction!r}.")
        target = fraction * max(values)
        return next(epoch for epoch, v in zip(self.epoch, values) if v >= target)

    def record(self, name, value):
        """Append ``value`` to the series ``extra[name]`` (used by callbacks)."""
        self.extra.setdefault(name, []).append(float(value))

    def then(self, other, label=None):
        """One history made of this one followed by ``other`` (epochs keep counting up).

        Used by multi-phase recipes such as ``recipes.fine_tune``.
        """
        joined = History(label=label or other.label)
        for name in ("train_loss", "train_acc", "val_loss", "val_acc", "lr"):
            setattr(joined, name, getattr(self, name) + getattr(other, name))
        joined.epoch = list(range(1, len(self) + len(other) + 1))
        for name in set(self.extra) | set(other.extra):
            joined.extra[name] = self.extra.get(name, []) + other.extra.get(name, [])
        if other.best_epoch is not None:
            joined.best_epoch = len(self) + other.best_epoch
        joined.stopped_early, joined.interrupted = other.stopped_early, self.interrupted or other.interrupted
        joined.diverged = self.diverged or other.diverged
        joined.seconds = self.seconds + other.seconds
        return joined

    def __repr__(self):
        if not self.epoch:
            return f"History({self.label!r}, no completed epochs)"
        last = f"train_acc={self.train_acc[-1]:.3f}"
        if self.val_acc:
            last += f", val_acc={self.val_acc[-1]:.3f}"
        flags = (" interrupted" if self.interrupted else " diverged" if self.diverged
                 else " stopped early" if self.stopped_early else "")
        return f"History({self.label!r}, {len(self)} epochs, {last},{flags} {self.seconds:.1f}s)"


# --------------------------------------------------------------------------- inputs
def as_tensors(data, *, name="data"):
    """Turn the course's kinds of data into ``(X, y)`` float/long tensors.

    Accepts an ``ImageSet`` (see ``course_lib.data``), a tuple ``(images,
    labels)`` of NumPy arrays or tensors (uint8 images are scaled to 0..1).
    """
    if hasattr(data, "tensors") and callable(data.tensors):  # ImageSet
        return data.tensors()
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
    else:
        raise TypeError(
            f"{name} must be an ImageSet or an (images, labels) pair, "
            f"got {type(data).__name__}. Load data with course_lib.data.load(...)."
        )
    what = name if name.endswith("images") else f"{name} images"
    check_images(x, name=what)
    if len(x.shape) == 4 and x.shape[1] != 1:
        fix = ("colour images: convert them to grayscale first, for example images.mean(axis=-1)"
               if x.shape[-1] in (3, 4) else "keep one channel, images[:, :1]")
        raise ValueError(f"{what} must be grayscale, shaped (N, H, W) or (N, 1, H, W), got shape {tuple(x.shape)}: "
                         f"{fix}.")
    check_same_length(**{f"{name} images": x, f"{name} labels": y})
    y = torch.as_tensor(check_labels(y, name=f"{name} labels")).long()
    x = torch.as_tensor(np.asarray(x)) if not torch.is_tensor(x) else x
    if x.dtype == torch.uint8:
        x = x.float() / 255.0
    x = x.float()
    if x.ndim == 3:
        x = x[:, None]
    return x, y


def _batches(x, y, batch_size, shuffle, generator):
    n = len(x)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        yield x[idx], y[idx]


def _check_finite_scaled(x, name):
    """Raise for images holding NaN or infinity, or floats in 0..255 that were never scaled to 0..1."""
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} hold NaN or infinite pixel values; training on them gives a NaN loss. Find where "
                         "they came from, or replace them (np.nan_to_num).")
    if x.ndim == 4 and x.shape[1] == 1 and len(x) and x.min() >= 0 and x.max() > 2.0:
        raise ValueError(f"{name} are floats in 0..{x.max().item():g}: pixel values that were never scaled to 0..1. "
                         "Pass uint8 images (they are scaled for you) or divide by 255 first.")


# Epochs that a multi-phase recipe (recipes.fine_tune, ...) has already completed before this fit: the
# interrupt message then counts every epoch the recipe returns, not only this phase's.
_EPOCHS_BEFORE = [0]


@contextlib.contextmanager
def _epochs_before(n):
    """Inside this block, fit's interrupt message adds ``n`` epochs already completed by the caller."""
    _EPOCHS_BEFORE.append(n)
    try:
        yield
    finally:
        _EPOCHS_BEFORE.pop()


def _interrupt_message(n):
    before = _EPOCHS_BEFORE[-1]
    return f"Training interrupted: kept the model and history of {before + n} completed epoch(s)."


# fit's keywords under the names other libraries use
FIT_ALIASES = {"learning_rate": "lr", "num_epochs": "epochs", "n_epochs": "epochs", "max_epochs": "epochs",
               "bs": "batch_size", "validation": "val", "val_data": "val", "callback": "callbacks",
               "random_state": "seed", "verbose": "progress",
               "num_classes": "the number of classes is set when the model is built, models.build(arch, "
                              "n_classes=...) or models.load_base(name, n_classes=...), not in fit.",
               "n_classes": "the number of classes is set when the model is built, models.build(arch, "
                            "n_classes=...) or models.load_base(name, n_classes=...), not in fit."}


def _quiet_by_default():
    return bool(os.environ.get("COURSE_QUIET") or os.environ.get("CI"))


# --------------------------------------------------------------------------- fit
def fit(model, train, val=None, *, epochs=30, lr=1e-3, batch_size=32, weight_decay=0.0,
        param_groups=None, warmup_epochs=0, early_stopping=None, class_weights=None,
        regularizer=None, augment=None, callbacks=(), seed=None, progress=None,
        label="run", device="cpu", **unknown):
    """Train ``model`` with Adam and return a :class:`History`.

    Parameters
    ----------
    model : torch.nn.Module
        Only parameters with ``requires_grad=True`` are trained, so a frozen
        backbone (``models.freeze``) stays as it is.
    train, val : ImageSet or (images, labels)
        ``val`` is optional; without it there are no validation curves and no
        early stopping.
    epochs : int
        Passes over ``train``.
    lr : float
        Learning rate.  The course's rule of thumb: ``recipes.LR_SCRATCH``
        (3e-3) trains these small models from scratch well, and fine-tuning a
        pretrained base wants about ten times less (``recipes.LR_FINETUNE``, 3e-4).
    param_groups : list of dict, optional
        Per-block learning rates from ``models.param_groups`` (discriminative
        fine-tuning).  Overrides ``lr`` for the parameters it lists.
    warmup_epochs : float
        Ramp the learning rate up linearly from 0 over this many epochs.
    early_stopping : int, optional
        Stop when validation loss has not improved for this many epochs, and
        restore the weights of the best epoch.
    class_weights : sequence of float, optional
        Weights for the cross-entropy loss, one per class (imbalance lessons).
    regularizer : callable, optional
        ``regularizer(model) -> tensor`` added to the loss (for example L2-SP).
    augment : callable, optional
        ``augment(batch_images) -> batch_images`` applied to training batches.
    callbacks : sequence of callables
        Each is called as ``callback(model, history)`` after every epoch; use
        ``history.record(name, value)`` to log extra series.
    seed : int, optional
        Seeds the batch order, so two runs with the same seed see the same batches.
    progress : bool, optional
        Show a progress bar; default is on in a notebook, off when the
        environment variable ``CI`` or ``COURSE_QUIET`` is set.
    label : str
        A name for the run, used by the plots.

    Pressing Ctrl-C (or the stop button in Jupyter) ends training cleanly: the
    model keeps the weights of the last completed epoch, the history ends
    with that epoch, whatever the moment of the interrupt, and it is
    returned with ``interrupted=True``.  A non-finite (NaN or infinite)
    training loss stops training at once with a warning that says what to
    try; the model and history are then those of the last completed epoch,
    with ``diverged=True``.

    With the whole backbone frozen and no ``augment``, the features of each
    image never change, so ``fit`` computes them once (:func:`backbone_features`)
    and trains the head on them: the same result as running the backbone at
    every step, many times faster.  This is why the frozen baseline is cheap.
    """
    seed, trainable = _check_fit_arguments(model, val, epochs, lr, batch_size, weight_decay, warmup_epochs,
                                           early_stopping, seed, callbacks, augment, regularizer, unknown)
    x, y, xv, yv, weight = _fit_data(model, train, val, class_weights)
    device = get_device(device)
    model.to(device)
    optimizer = _optimizer(trainable, param_groups, lr, weight_decay)
    gen = torch.Generator().manual_seed(int(seed) if seed is not None else int(torch.initial_seed() % 2**31))
    warmup_steps = int(round(warmup_epochs * math.ceil(len(x) / batch_size)))
    forward = model
    if _backbone_frozen(model) and augment is None:      # the frozen-backbone shortcut (see the docstring)
        forward = model.head
        x = backbone_features(model, x, device)
        xv = backbone_features(model, xv, device) if val is not None else None
    loss_fn = lambda out, yb: F.cross_entropy(out, yb, weight=weight.to(device) if weight is not None else None)

    hist = History(label=label)
    stopper = _EarlyStopping(early_stopping)
    committed = (_snapshot(model), _lengths(hist))      # weights and history lengths of the last completed epoch
    bar = _progress(epochs, label, (not _quiet_by_default()) if progress is None else bool(progress))
    start, step = time.perf_counter(), 0
    try:
        for epoch in range(1, epochs + 1):
            result, step = _train_epoch(model, forward, optimizer, _batches(x, y, batch_size, True, gen), loss_fn,
                                        regularizer, augment, device, step, warmup_steps)
            if result[1] is None:          # a NaN or infinite loss: every later step would be meaningless
                hist.diverged = True
                model.load_state_dict(committed[0])
                warnings.warn(_diverged_message(hist, epoch, result[0], lr, param_groups, x), RuntimeWarning,
                              stacklevel=2)
                break
            _record_epoch(hist, epoch, result, optimizer, forward, xv, yv, device)
            for cb in callbacks:
                cb(model, hist)
            committed = (_snapshot(model), _lengths(hist))
            _show_progress(bar, hist)
            if stopper.should_stop(hist, committed[0]):
                break
    except KeyboardInterrupt:
        _roll_back(model, hist, committed)
    finally:
        if bar is not None:
            bar.close()
    if stopper.best_state is not None and not hist.interrupted:
        model.load_state_dict(stopper.best_state)
    hist.seconds = time.perf_counter() - start
    return hist


# --------------------------------------------------------------------------- fit's steps
def _check_fit_arguments(model, val, epochs, lr, batch_size, weight_decay, warmup_epochs, early_stopping, seed,
                         callbacks, augment, regularizer, unknown):
    """Check fit's arguments (not its data) up front; return ``(seed, trainable parameters)``."""
    check_keywords("fit", unknown, _FIT_KEYWORDS, FIT_ALIASES)
    check_positive("epochs", epochs, integer=True)
    check_positive("lr", lr)
    check_positive("batch_size", batch_size, integer=True)
    check_positive("weight_decay", weight_decay, allow_zero=True)
    check_positive("warmup_epochs", warmup_epochs, allow_zero=True)
    if early_stopping is not None:
        check_positive("early_stopping", early_stopping, integer=True)
        if val is None:
            raise ValueError("early_stopping needs validation data: pass val=... to fit().")
    seed = check_seed(seed, allow_none=True)
    if callable(callbacks) or isinstance(callbacks, (str, bytes)) or not hasattr(callbacks, "__iter__"):
        raise TypeError(f"callbacks must be a list of functions callback(model, history), got "
                        f"{type(callbacks).__name__}. For one callback pass callbacks=[my_callback].")
    for name, fn in (("augment", augment), ("regularizer", regularizer)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{name} must be a function (or None), got {type(fn).__name__}.")
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError(
            "Every parameter of the model is frozen, so there is nothing to train. "
            "Unfreeze the head (models.unfreeze(model, 'head')) or some blocks first."
        )
    return seed, trainable


def _fit_data(model, train, val, class_weights):
    """``(x, y, xv, yv, class weight tensor)`` after checking the data against the model and each other."""
    x, y = as_tensors(train, name="train")
    n_classes = _n_outputs(model)
    _check_task(model, n_classes, train, val)
    check_labels(y, n_classes, name="train labels")
    _check_finite_scaled(x, "train images")
    _check_input_size(model, x)
    xv = yv = None
    if val is not None:
        xv, yv = as_tensors(val, name="val")
        _check_val_labels(yv, n_classes)
        _check_finite_scaled(xv, "val images")
    weight = None
    if class_weights is not None:
        weight = torch.as_tensor(class_weights, dtype=torch.float32)
        if weight.shape != (n_classes,) or (weight < 0).any():
            raise ValueError(f"class_weights must be {n_classes} non-negative numbers, one per class.")
    return x, y, xv, yv, weight


def _optimizer(trainable, param_groups, lr, weight_decay):
    """AdamW over ``param_groups`` (per-block rates) or over every trainable parameter at ``lr``."""
    groups = param_groups if param_groups is not None else [{"params": trainable, "lr": lr}]
    for g in groups:
        g.setdefault("lr", lr)
        g["base_lr"] = g["lr"]           # the rate the warm-up ramps up to
    return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay, foreach=True)


def get_lr_scale(step, warmup_steps):
    """The warm-up: the share of each group's rate used at optimizer step ``step`` (0, 1, 2, ...).

    Ramps linearly from ``1 / warmup_steps`` to 1 over the first
    ``warmup_steps`` steps, then stays at 1 (no warm-up when ``warmup_steps`` is 0):
    what ``fit(..., warmup_epochs=...)`` does, tried in ``02_too_high_learning_rate``.

    >>> [get_lr_scale(s, 4) for s in range(6)]
    [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    """
    return min(1.0, (step + 1) / warmup_steps) if warmup_steps else 1.0


def _train_epoch(model, forward, optimizer, batches, loss_fn, regularizer, augment, device, step, warmup_steps):
    """One pass over ``batches``: ``((mean loss, accuracy), step)``, or ``((loss, None), step)`` at a NaN loss."""
    model.train()
    total, correct, loss_sum = 0, 0, 0.0
    for xb, yb in batches:
        if warmup_steps:
            for g in optimizer.param_groups:
                g["lr"] = g["base_lr"] * get_lr_scale(step, warmup_steps)
        xb, yb = xb.to(device), yb.to(device)
        if augment is not None:
            xb = augment(xb)
        out = forward(xb)
        loss = loss_fn(out, yb)
        if regularizer is not None:
            loss = loss + regularizer(model)
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            return (loss_value, None), step
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        total += len(yb)
        loss_sum += loss_value * len(yb)
        correct += (out.argmax(1) == yb).sum().item()
    return (loss_sum / total, correct / total), step


def _record_epoch(hist, epoch, result, optimizer, forward, xv, yv, device):
    """Append one completed epoch's numbers (and its validation scores) to ``hist``."""
    hist.epoch.append(epoch)
    hist.train_loss.append(result[0])
    hist.train_acc.append(result[1])
    hist.lr.append(optimizer.param_groups[-1]["lr"])
    if xv is not None:
        vl, va = _loss_acc(forward, xv, yv, device)
        hist.val_loss.append(vl)
        hist.val_acc.append(va)


class _EarlyStopping:
    """Stop when validation loss has not improved by 1e-4 for ``patience`` epochs; keep the best weights."""

    def __init__(self, patience):
        self.patience, self.best_loss, self.best_state, self.bad_epochs = patience, float("inf"), None, 0

    def should_stop(self, hist, weights):
        if self.patience is None:
            return False
        if hist.val_loss[-1] < self.best_loss - 1e-4:
            self.best_loss, self.best_state, self.bad_epochs = hist.val_loss[-1], weights, 0
            hist.best_epoch = hist.epoch[-1]
            return False
        self.bad_epochs += 1
        hist.stopped_early = self.bad_epochs >= self.patience
        return hist.stopped_early


def _roll_back(model, hist, committed):
    """After Ctrl-C: the model and the history of the last completed epoch (not the best one), and a message."""
    hist.interrupted = True
    model.load_state_dict(committed[0])
    _truncate(hist, committed[1])
    hist.best_epoch = None            # the model holds the last completed epoch, not the best one
    print(_interrupt_message(len(hist)))


def _show_progress(bar, hist):
    if bar is not None:
        bar.update(1)
        bar.set_postfix({k: round(v[-1], 3) for k, v in (("train_acc", hist.train_acc), ("val_acc", hist.val_acc))
                         if v})


def _lengths(hist):
    """The length of every series of ``hist`` (``extra`` included): what an interrupt rolls back to."""
    series = {k: len(getattr(hist, k)) for k in ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr")}
    return series, {k: len(v) for k, v in hist.extra.items()}


def _truncate(hist, lengths):
    """Cut every series of ``hist`` back to ``lengths`` (from :func:`_lengths`): an epoch not completed is dropped."""
    series, extra = lengths
    for k, n in series.items():
        del getattr(hist, k)[n:]
    for k in list(hist.extra):
        if k in extra:
            del hist.extra[k][extra[k]:]
        else:
            del hist.extra[k]


def _diverged_message(hist, epoch, loss_value, lr, param_groups, x):
    rate = "per-block rates (param_groups)" if param_groups is not None else f"lr={lr:g}"
    return (f"Training stopped in epoch {epoch}: the training loss became {loss_value} (not a finite number), so "
            f"every later step would be meaningless. The model and the history are those of the last completed "
            f"epoch ({len(hist)}). The usual cause is a learning rate too high for this model ({rate}; the course "
            "fine-tunes at 3e-4 and trains from scratch at 3e-3); also check that the images lie in 0..1 "
            f"(here {x.min().item():.3g}..{x.max().item():.3g}) and that a regularizer or class_weights cannot be "
            "infinite.")


def _check_task(model, n_classes, train, val):
    """Raise when the model's outputs do not match train's classes, or val's classes are not train's."""
    if is_imageset(train) and len(train.class_names) != n_classes:
        raise ValueError(f"train labels must lie in 0..{n_classes - 1} for a model with {n_classes} outputs, but "
                         f"train has {len(train.class_names)} classes ({list(train.class_names)}). Build the model "
                         f"for this task: models.build(..., "
                         f"n_classes={len(train.class_names)}) or models.load_base(name, "
                         f"n_classes={len(train.class_names)}).")
    if is_imageset(train) and is_imageset(val):
        names, other = [str(c) for c in train.class_names], [str(c) for c in val.class_names]
        if names != other:
            order = " (the same classes in another order)" if sorted(names) == sorted(other) else ""
            raise ValueError(f"val has other classes than train{order}: train has {names}, val has {other}. Both "
                             "must come from one task with one class order; load them with the same class list.")


def _check_val_labels(yv, n_classes):
    """Like check_labels for val, with a message that does not suggest changing the model."""
    arr = check_labels(yv, name="val labels")
    if arr.min() < 0 or arr.max() >= n_classes:
        bad = sorted({int(v) for v in arr if v < 0 or v >= n_classes})[:5]
        raise ValueError(f"val labels must lie in 0..{n_classes - 1}, the classes of the model and of train, but "
                         f"val holds {bad}: it seems to come from another task. Pass the validation split of the "
                         "same data set as train.")
    return arr


def _check_input_size(model, x):
    """Raise when a pretrained base gets images of another size than the one it was pretrained on."""
    name = getattr(model, "base_name", None)
    if name is None or x.ndim != 4:
        return
    from .models import BASES

    size = BASE_INPUT_SIZE
    if name in BASES and tuple(x.shape[2:]) != size:
        raise ValueError(f"The base {name!r} was pretrained on {size[0]}x{size[1]} images but these are "
                         f"{x.shape[2]}x{x.shape[3]}: it would train without error and transfer badly. Resize "
                         f"them when you read them: folders.load_image_folder(root, size={size}).")


BASE_INPUT_SIZE = (20, 20)      # the size of every image the course's bases were pretrained on


def _snapshot(model):
    """A copy of the model's weights (to restore after an interrupt or for early stopping)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _backbone_frozen(model):
    backbone = getattr(model, "backbone", None)
    return backbone is not None and not any(p.requires_grad for p in backbone.parameters())


@torch.no_grad()
@torch.no_grad()
def _batched(fn, model, x, device, batch_size=512):
    """``fn`` over ``x`` in batches, with ``model`` in eval mode, outputs on the CPU: the one evaluation loop.

    The model's train/eval mode is left as it was.
    """
    was_training = model.training
    model.eval()
    try:
        return torch.cat([fn(x[i:i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)])
    finally:
        model.train(was_training)


def backbone_features(model, x, device="cpu", batch_size=512):
    """The backbone's features of ``x`` (a float tensor (N, 1, H, W)), in eval mode, in batches.

    Used by ``fit`` (its frozen-backbone shortcut, which makes notebook 05's
    frozen baseline cheap) and by the diagnostics of ``leaks``, ``forgetting``
    and ``domains``.  The model's train/eval mode is left as it was.

    >>> from course_lib import models
    >>> backbone_features(models.build("small", n_classes=5), torch.rand(3, 1, 20, 20)).shape
    torch.Size([3, 64])
    """
    return _batched(model.features, model, x, get_device(device), batch_size)


def _progress(epochs, label, show):
    if not show:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=epochs, desc=label, unit="epoch", leave=False)


def _n_outputs(model):
    head = getattr(model, "head", None)
    if isinstance(head, torch.nn.Linear):
        return head.out_features
    if head is not None and hasattr(head, "out_features"):
        return head.out_features
    raise TypeError("model must have a linear `head` layer (build one with course_lib.models.build).")


def predict_logits(model, images, batch_size=512, device="cpu"):
    """Return the model's logits for ``images`` (an ImageSet, array or tensor)."""
    if hasattr(images, "tensors") and callable(images.tensors):
        x = images.tensors()[0]
    else:
        check_images(images)
        x, _ = as_tensors((images, np.zeros(len(images), dtype=np.int64)), name="images")
        _check_finite_scaled(x, "images")
    return _batched(model, model, x, get_device(device), batch_size)


def _loss_acc(model, x, y, device, batch_size=512):
    """Mean cross-entropy and accuracy of ``model`` on ``(x, y)`` (fit's validation scores)."""
    logits = _batched(model, model, x, device, batch_size)
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()


# --------------------------------------------------------------------------- evaluate
@dataclass
class Evaluation:
    """Scores of a model on a labelled set, overall and per class."""

    accuracy: float
    balanced_accuracy: float
    loss: float
    per_class: list          # one dict per class: name, precision, recall, f1, support
    confusion: np.ndarray    # rows: true class, columns: predicted class
    y_true: np.ndarray
    y_pred: np.ndarray
    probs: np.ndarray

    @property
    def recall(self):
        """Per-class recall as an array (the fraction of each class found)."""
        return np.array([row["recall"] for row in self.per_class])

    def table(self):
        """The per-class report as plain text."""
        lines = [f"{'class':<14}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}"]
        for r in self.per_class:
            lines.append(f"{r['name']:<14}{r['precision']:>10.3f}{r['recall']:>8.3f}{r['f1']:>8.3f}{r['support']:>9d}")
        lines.append(f"accuracy {self.accuracy:.3f}   balanced accuracy {self.balanced_accuracy:.3f}")
        return "\n".join(lines)

    def __repr__(self):
        return self.table()


def evaluate(model, data, class_names=None, device="cpu"):
    """Score ``model`` on ``data`` and return an :class:`Evaluation`.

    >>> from course_lib import data, models, train
    >>> test = data.load("clinic_test")
    >>> ev = train.evaluate(models.build("small", n_classes=test.n_classes), test)
    >>> 0.0 <= ev.accuracy <= 1.0
    True
    """
    from sklearn.metrics import balanced_accuracy_score, confusion_matrix, precision_recall_fscore_support

    x, y = as_tensors(data, name="data")
    n_classes = _n_outputs(model)
    check_labels(y, n_classes, name="data labels")
    if class_names is None:
        class_names = getattr(data, "class_names", None) or [str(i) for i in range(n_classes)]
    if len(class_names) != n_classes:
        raise ValueError(f"class_names has {len(class_names)} names but the model has {n_classes} classes.")
    logits = predict_logits(model, x, device=device)
    probs = torch.softmax(logits, 1).numpy()
    y_true, y_pred = y.numpy(), logits.argmax(1).numpy()
    labels = np.arange(n_classes)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    per_class = [dict(name=str(class_names[i]), precision=float(p[i]), recall=float(r[i]),
                      f1=float(f[i]), support=int(s[i])) for i in labels]
    return Evaluation(
        accuracy=float((y_true == y_pred).mean()),
        balanced_accuracy=float(balanced_accuracy_score(y_true, y_pred)) if len(set(y_true)) > 1 else float("nan"),
        loss=float(F.cross_entropy(logits, y).item()),
        per_class=per_class,
        confusion=confusion_matrix(y_true, y_pred, labels=labels),
        y_true=y_true, y_pred=y_pred, probs=probs,
    )


_FIT_KEYWORDS = [p for p in inspect.signature(fit).parameters if p not in ("model", "train", "unknown")]
