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

import math
import os
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ._checks import check_positive, check_labels, check_images, check_same_length
from .repro import get_device


# --------------------------------------------------------------------------- history
@dataclass
class History:
    """What ``fit`` measured, one entry per completed epoch.

    ``extra`` holds the values that callbacks recorded (for example the source
    accuracy re-probed after each epoch).  ``interrupted`` is True when training
    was stopped with Ctrl-C / the stop button: the model then holds the weights
    of the last completed epoch.
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
        joined.seconds = self.seconds + other.seconds
        return joined

    def to_dict(self):
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def __repr__(self):
        if not self.epoch:
            return f"History({self.label!r}, no completed epochs)"
        last = f"train_acc={self.train_acc[-1]:.3f}"
        if self.val_acc:
            last += f", val_acc={self.val_acc[-1]:.3f}"
        flags = " interrupted" if self.interrupted else (" stopped early" if self.stopped_early else "")
        return f"History({self.label!r}, {len(self)} epochs, {last},{flags} {self.seconds:.1f}s)"


# --------------------------------------------------------------------------- inputs
def as_tensors(data, *, name="data"):
    """Turn the course's kinds of data into ``(X, y)`` float/long tensors.

    Accepts an ``ImageSet`` (see ``course_lib.data``), a tuple ``(images,
    labels)`` of NumPy arrays or tensors (uint8 images are scaled to 0..1), or a
    ``torch.utils.data.TensorDataset``.
    """
    if hasattr(data, "tensors") and callable(data.tensors):  # ImageSet
        return data.tensors()
    if isinstance(data, torch.utils.data.TensorDataset):
        x, y = data.tensors[:2]
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
    else:
        raise TypeError(
            f"{name} must be an ImageSet, a (images, labels) pair or a TensorDataset, "
            f"got {type(data).__name__}. Load data with course_lib.data.load(...)."
        )
    check_images(x, name=f"{name} images")
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


def _quiet_by_default():
    return bool(os.environ.get("COURSE_QUIET") or os.environ.get("CI"))


# --------------------------------------------------------------------------- fit
def fit(model, train, val=None, *, epochs=30, lr=1e-3, batch_size=32, weight_decay=0.0,
        param_groups=None, warmup_epochs=0, early_stopping=None, class_weights=None,
        regularizer=None, augment=None, callbacks=(), seed=None, progress=None,
        label="run", device="cpu"):
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
    model keeps the weights of the last completed epoch and the history is
    returned with ``interrupted=True``.
    """
    check_positive("epochs", epochs, integer=True)
    check_positive("lr", lr)
    check_positive("batch_size", batch_size, integer=True)
    check_positive("weight_decay", weight_decay, allow_zero=True)
    check_positive("warmup_epochs", warmup_epochs, allow_zero=True)
    if early_stopping is not None:
        check_positive("early_stopping", early_stopping, integer=True)
        if val is None:
            raise ValueError("early_stopping needs validation data: pass val=... to fit().")
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError(
            "Every parameter of the model is frozen, so there is nothing to train. "
            "Unfreeze the head (models.unfreeze(model, 'head')) or some blocks first."
        )
    x, y = as_tensors(train, name="train")
    n_classes = _n_outputs(model)
    check_labels(y, n_classes, name="train labels")
    if val is not None:
        xv, yv = as_tensors(val, name="val")
        check_labels(yv, n_classes, name="val labels")
    weight = None
    if class_weights is not None:
        weight = torch.as_tensor(class_weights, dtype=torch.float32)
        if weight.shape != (n_classes,) or (weight < 0).any():
            raise ValueError(f"class_weights must be {n_classes} non-negative numbers, one per class.")

    device = get_device(device)
    model.to(device)
    groups = param_groups if param_groups is not None else [{"params": trainable, "lr": lr}]
    for g in groups:
        g.setdefault("lr", lr)
        g["base_lr"] = g["lr"]
    optimizer = torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay, foreach=True)
    gen = torch.Generator().manual_seed(int(seed) if seed is not None else int(torch.initial_seed() % 2**31))
    steps_per_epoch = math.ceil(len(x) / batch_size)
    warmup_steps = int(round(warmup_epochs * steps_per_epoch))

    # Feature extraction shortcut: with the whole backbone frozen (and no augmentation) the
    # features of each image never change, so compute them once and train the head on them.
    # Same result as running the backbone every step, many times faster.
    forward = model
    if _backbone_frozen(model) and augment is None:
        forward = model.head
        x = _features(model, x, device)
        if val is not None:
            xv = _features(model, xv, device)

    hist = History(label=label)
    best_loss, best_state, bad_epochs = float("inf"), None, 0
    last_good = _snapshot(model)
    show = (not _quiet_by_default()) if progress is None else bool(progress)
    bar = _progress(epochs, label, show)
    start, step = time.perf_counter(), 0
    try:
        for epoch in range(1, epochs + 1):
            model.train()
            total, correct, loss_sum = 0, 0, 0.0
            for xb, yb in _batches(x, y, batch_size, True, gen):
                if warmup_steps:
                    scale = min(1.0, (step + 1) / warmup_steps)
                    for g in optimizer.param_groups:
                        g["lr"] = g["base_lr"] * scale
                xb, yb = xb.to(device), yb.to(device)
                if augment is not None:
                    xb = augment(xb)
                out = forward(xb)
                loss = F.cross_entropy(out, yb, weight=weight.to(device) if weight is not None else None)
                if regularizer is not None:
                    loss = loss + regularizer(model)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                step += 1
                total += len(yb)
                loss_sum += loss.item() * len(yb)
                correct += (out.argmax(1) == yb).sum().item()
            hist.epoch.append(epoch)
            hist.train_loss.append(loss_sum / total)
            hist.train_acc.append(correct / total)
            hist.lr.append(optimizer.param_groups[-1]["lr"])
            if val is not None:
                vl, va = _loss_acc(forward, xv, yv, device)
                hist.val_loss.append(vl)
                hist.val_acc.append(va)
            for cb in callbacks:
                cb(model, hist)
            last_good = _snapshot(model)
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: round(v[-1], 3) for k, v in
                                 (("train_acc", hist.train_acc), ("val_acc", hist.val_acc)) if v})
            if early_stopping is not None:
                if hist.val_loss[-1] < best_loss - 1e-4:
                    best_loss, best_state, bad_epochs = hist.val_loss[-1], last_good, 0
                    hist.best_epoch = epoch
                else:
                    bad_epochs += 1
                    if bad_epochs >= early_stopping:
                        hist.stopped_early = True
                        break
    except KeyboardInterrupt:
        hist.interrupted = True
        model.load_state_dict(last_good)
        print(f"Training interrupted: kept the model and history of {len(hist)} completed epoch(s).")
    finally:
        if bar is not None:
            bar.close()
    if best_state is not None and not hist.interrupted:
        model.load_state_dict(best_state)
    hist.seconds = time.perf_counter() - start
    return hist


def _snapshot(model):
    """A copy of the model's weights (to restore after an interrupt or for early stopping)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _backbone_frozen(model):
    backbone = getattr(model, "backbone", None)
    return backbone is not None and not any(p.requires_grad for p in backbone.parameters())


@torch.no_grad()
def _features(model, x, device="cpu", batch_size=512):
    """The backbone's features of ``x`` (a float tensor (N, 1, H, W)), in eval mode, in batches.

    Used by ``fit`` (frozen backbone: features computed once) and by the
    diagnostics of ``leaks``, ``forgetting`` and ``domains``.  The model's
    train/eval mode is left as it was.
    """
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model.features(x[i:i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)])
    finally:
        model.train(was_training)


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


@torch.no_grad()
def predict_logits(model, images, batch_size=512, device="cpu"):
    """Return the model's logits for ``images`` (an ImageSet, array or tensor)."""
    if hasattr(images, "tensors") and callable(images.tensors):
        x = images.tensors()[0]
    else:
        check_images(images)
        x, _ = as_tensors((images, np.zeros(len(images), dtype=np.int64)), name="images")
    device = get_device(device)
    was_training = model.training
    model.eval()
    outs = [model(x[i:i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)]
    model.train(was_training)
    return torch.cat(outs)


@torch.no_grad()
def _loss_acc(model, x, y, device, batch_size=512):
    was_training = model.training
    model.eval()
    logits = torch.cat([model(x[i:i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)])
    model.train(was_training)
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
