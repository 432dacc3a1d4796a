"""Catastrophic forgetting: how much of its source task a fine-tuned model still knows.

Taught in ``02_too_high_learning_rate``.  Fine-tuning changes the pretrained
backbone, and at too high a learning rate it overwrites what the base learned
on its source task.  Two ways to measure what is left:

* :func:`source_accuracy` puts the base's *original* head back on the model's
  current backbone and scores the source task's test set: can the model still
  do its old job?  One forward pass, cheap enough to run after every epoch.
* :func:`source_probe_accuracy` *re-probes* the source task: it copies the
  backbone, freezes it, fits a fresh linear head on the source training set and
  scores the source test set: is the knowledge still in the features, even
  where the old head no longer fits them?

:func:`track_source` turns either measure into a callback for ``train.fit``
that records one value per epoch in ``history.extra``, so the source curve can
be drawn next to the target curves with
``plots.learning_curves(hist, extra="source_acc")``.  :func:`block_change` says
where the backbone changed, block by block, in measures that do not depend on
each block's weight scale: how much each weight moved (in absolute terms) and how
much each block's output changed on fixed images.  :func:`block_drift` is the
older, relative measure ``||w - w0|| / ||w0||`` (kept for notebook 08): under
Adam it mostly reflects how large each block's weights were to begin with.

None of these functions changes the model or draws from the global random
number generators, so measuring a run does not change the run.

>>> from course_lib import data, forgetting, models, train
>>> model = models.load_base("scans-s", n_classes=5)
>>> acc = forgetting.source_accuracy(model)  # untouched backbone: the base's own test score
>>> 0.94 < acc < 0.97
True
>>> few = data.load("clinic").take_per_class(2, seed=0)
>>> hist = train.fit(model, few, epochs=2, lr=3e-3, seed=0, progress=False,
...                  callbacks=[forgetting.track_source()])
>>> len(hist.extra["source_acc"])            # one value per epoch
2
>>> sorted(forgetting.block_change(model))
['block1', 'block2', 'block3']
"""

import copy
import inspect

import numpy as np
import torch
from torch import nn

from . import models
from ._checks import check_choice, check_positive, check_seed, is_imageset

__all__ = ["source_accuracy", "source_probe_accuracy", "track_source", "block_change", "block_drift"]

SOURCES = ("scans", "photos")      # the source domains that have a training and a test set
_CACHE = {}


# --------------------------------------------------------------------------- inputs
def _base_of(model, base):
    """The name of the pretrained base ``model`` started from, checked against its shape."""
    if base is None and getattr(model, "base_name", None) is None:
        raise ValueError(
            "This model was not loaded from a pretrained base, so it has no source task to forget. "
            "Load it with models.load_base('scans-s', ...) or name the base: base='scans-s'."
        )
    base = models.base_name(model if base is None else base)
    width = models.ARCHITECTURES[models.BASES[base].arch]
    if model.width != width:
        raise ValueError(
            f"The model's backbone (width {model.width}) does not have the shape of base {base!r} "
            f"(width {width}): name the base the model was loaded from."
        )
    return base


def _tensors(name):
    """``(X, y)`` tensors of a data set, loaded once per session."""
    if name not in _CACHE:
        from . import data
        _CACHE[name] = data.load(name).tensors()
    return _CACHE[name]


def _first_per_class(x, y, per_class, name):
    """The first ``per_class`` items of each class, in their stored order (a fixed, balanced subset)."""
    if per_class is None:
        return x, y
    check_positive(name, per_class, integer=True)
    keep = np.concatenate([np.flatnonzero(y.numpy() == c)[:per_class] for c in range(int(y.max()) + 1)])
    keep.sort()
    return x[keep], y[keep]


def _source_model(base):
    """The base as it was pretrained, source head included (loaded once per session)."""
    key = ("base", base)
    if key not in _CACHE:
        with torch.random.fork_rng(devices=[]):      # building the model draws random weights: keep the caller's stream
            _CACHE[key] = models.load_base(base, models.BASES[base].n_source_classes, keep_head=True)
    return _CACHE[key]


@torch.no_grad()
def _accuracy(model, head, x, y):
    """Accuracy of ``head(model.features(x))``, in eval mode, leaving the model's mode as it was."""
    from .train import backbone_features
    return round(int((head(backbone_features(model, x)).argmax(1) == y).sum()) / len(y), 6)


# --------------------------------------------------------------------------- the two measures
def source_accuracy(model, base=None, *, test_per_class=None):
    """Source-task test accuracy of the model's current backbone with the base's *original* head.

    Taught in ``02_too_high_learning_rate``.  Before fine-tuning this is the
    base's own score on its source task; as fine-tuning rewrites the backbone,
    the old head no longer fits the features and the score falls: that fall is
    catastrophic forgetting, measured the way continual-learning papers do.

    Parameters
    ----------
    model : SmallCNN
        A model whose backbone started from a pretrained base (its head, trained
        for the target task, is not used).
    base : str, optional
        ``"scans-s"`` or ``"photos-l"``; by default the base the model was
        loaded from (``models.load_base`` remembers it).
    test_per_class : int, optional
        Score only the first ``test_per_class`` test images of each class (a
        fixed subset, faster when measured after every epoch); default: all.

    >>> from course_lib import models
    >>> acc = source_accuracy(models.load_base("scans-s", n_classes=5), test_per_class=20)
    >>> 0.9 < acc <= 1.0           # 200 of the 1000 test scans
    True
    """
    base = _base_of(models.check_model(model), base)
    x, y = _first_per_class(*_tensors(f"{models.BASES[base].source}_test"), test_per_class, "test_per_class")
    return _accuracy(model, _source_model(base).head, x, y)


def source_probe_accuracy(model, source=None, *, labels_per_class=None, epochs=20, batch_size=100,
                          lr=None, seed=0):
    """Re-probe the source task: fit a fresh linear head on the frozen current backbone, score its test set.

    Taught in ``02_too_high_learning_rate``.  A copy of the model's backbone is
    frozen, a new head for the source classes is trained on ``source`` (with
    ``train.fit``, which computes the frozen features once) and scored on
    ``source + "_test"``.  The model itself is not changed.  Where
    :func:`source_accuracy` asks "does the old head still fit?", this asks "can
    the source classes still be read from the features at all?".

    Parameters
    ----------
    model : SmallCNN
        The model whose backbone is probed.
    source : {"scans", "photos"}, optional
        The source task; by default the source of the base the model was
        loaded from.
    labels_per_class : int, optional
        Train the probe on this many source images per class (a few-label
        probe, more sensitive to damaged features); default: all of them.
    epochs, batch_size, lr, seed
        The probe's training (``lr`` defaults to ``recipes.LR_HEAD``).

    >>> from course_lib import models
    >>> model = models.load_base("scans-s", n_classes=5)
    >>> 0.9 < source_probe_accuracy(model) <= 1.0
    True
    """
    from .recipes import LR_HEAD
    from .train import fit

    models.check_model(model)
    if source is None:
        source = models.BASES[_base_of(model, None)].source
    check_choice("source task", source, SOURCES)
    lr = LR_HEAD if lr is None else lr
    check_positive("lr", lr)
    check_positive("epochs", epochs, integer=True)
    check_positive("batch_size", batch_size, integer=True)
    seed = check_seed(seed)
    x, y = _first_per_class(*_tensors(source), labels_per_class, "labels_per_class")
    xt, yt = _tensors(f"{source}_test")
    n_classes = int(y.max()) + 1

    probe = copy.deepcopy(model)
    with torch.random.fork_rng(devices=[]):        # leave the notebook's random stream untouched
        torch.manual_seed(seed)
        probe.head = nn.Linear(probe.n_features, n_classes)
    models.freeze(probe, "backbone")
    models.unfreeze(probe, "head")
    fit(probe, (x, y), epochs=epochs, lr=lr, batch_size=batch_size, seed=seed, progress=False,
        label=f"re-probe of {source}")
    return _accuracy(probe, probe.head, xt, yt)


# --------------------------------------------------------------------------- callback
_MEASURES = {"head": source_accuracy, "probe": source_probe_accuracy}


def track_source(how="head", name="source_acc", **options):
    """A ``train.fit`` callback that records the source-task accuracy after every epoch.

    Taught in ``02_too_high_learning_rate``.  ``how="head"`` records
    :func:`source_accuracy` (one forward pass per epoch), ``how="probe"``
    :func:`source_probe_accuracy` (a re-probe per epoch: slower).  Other
    keyword arguments are passed on to that function, for example
    ``test_per_class=30`` or ``labels_per_class=10``.  The values land in
    ``history.extra[name]``, one per epoch::

        hist = train.fit(model, data, epochs=..., lr=..., callbacks=[forgetting.track_source()])
        plots.learning_curves(hist, extra="source_acc")

    >>> callback = track_source(test_per_class=30)
    >>> callable(callback)
    True
    """
    check_choice("way of measuring the source task", how, tuple(_MEASURES))
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name must be a non-empty string such as 'source_acc', got {name!r}.")
    measure = _MEASURES[how]
    allowed = [p for p in inspect.signature(measure).parameters if p != "model"]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(f"track_source(how={how!r}) got unknown option(s) {', '.join(unknown)}; "
                        f"it accepts: {', '.join(allowed)}.")

    def record_source(model, history):
        history.record(name, measure(model, **options))

    record_source.__doc__ = f"Record {measure.__name__}(model) in history.extra[{name!r}] after each epoch."
    return record_source


# --------------------------------------------------------------------------- which block moved
def _weights_to_compare(model):
    """The weights a model computes with: for LoRA adapters (notebook 08), a merged copy (W + delta)."""
    from . import lora
    if lora.lora_layers(model):
        return lora.merge_lora(copy.deepcopy(model))
    return model


def _images(images, base):
    """Fixed images to run through the blocks: by default the first 20 source test images of each class."""
    if images is None:
        x, _ = _first_per_class(*_tensors(f"{models.BASES[base].source}_test"), 20, "per_class")
        return x
    from .train import as_tensors
    n = len(images) if hasattr(images, "__len__") else 0
    x, _ = as_tensors(images if is_imageset(images) else (images, np.zeros(n, dtype=np.int64)), name="images")
    if len(x) < 2:
        raise ValueError(f"images must hold at least 2 images to compare a block's outputs on, got {len(x)}.")
    return x


@torch.no_grad()
def block_change(model, base=None, images=None):
    """Where fine-tuning changed the backbone, block by block, without the weight-scale artefact.

    Taught in ``02_too_high_learning_rate``.  For each block, compared with the
    pretrained base, returns a dict of three numbers:

    * ``"weight_size"``: the root mean square (RMS) of the base's weights in
      that block, their typical size before fine-tuning;
    * ``"weight_change"``: the RMS of ``w - w0``, how far a typical weight of the
      block moved, in absolute terms (Adam moves every weight by steps of about
      the learning rate, whatever its size);
    * ``"output_change"``: how much the block's *output* changed on fixed images,
      ``||block'(h) - block(h)|| / ||block(h)||``, where ``h`` is what the base
      feeds that block.  Each block gets the same input in both models, so the
      number belongs to that block alone and does not add up the changes of
      the blocks below it.

    ``images`` are the fixed inputs (an ImageSet or an array of images); by
    default the first 20 test images of each class of the base's source task.
    The head is left out: a new head has no pretrained weights to compare with.
    Dividing ``weight_change`` by ``weight_size`` gives (about) the relative
    drift of :func:`block_drift`: a block with large weights looks still in that
    ratio even when its weights moved as far as the others.

    >>> from course_lib import models
    >>> block_change(models.load_base("scans-s", n_classes=5))["block1"]
    {'weight_size': 0.547..., 'weight_change': 0.0, 'output_change': 0.0}

    A model with LoRA adapters (notebook 08) is measured on its merged weights,
    ``W + delta``, without changing the model itself.
    """
    base = _base_of(models.check_model(model), base)
    start = _source_model(base)
    x = _images(images, base)
    now_model = _weights_to_compare(model)
    was_training = now_model.training
    now_model.eval()
    try:
        h = ((x - models.PIXEL_MEAN) / models.PIXEL_STD).contiguous(memory_format=torch.channels_last)
        change = {}
        for i, block in enumerate(models.BLOCKS):
            now = torch.cat([p.detach().flatten() for p in now_model.backbone[i].parameters()])
            then = torch.cat([p.detach().flatten() for p in start.backbone[i].parameters()])
            out_then, out_now = start.backbone[i](h), now_model.backbone[i](h)
            change[block] = {
                "weight_size": round(float(then.pow(2).mean().sqrt()), 6),
                "weight_change": round(float((now - then).pow(2).mean().sqrt()), 6),
                "output_change": round(float((out_now - out_then).norm() / out_then.norm()), 6),
            }
            h = out_then
    finally:
        now_model.train(was_training)
    return change


@torch.no_grad()
def block_drift(model, base=None):
    """How far each backbone block moved from the base's weights: ``||w - w0|| / ||w0||``.

    Taught in ``02_too_high_learning_rate``, as the measure *not* to rank blocks
    by.  Returns ``{"block1": ..., "block2": ...,
    "block3": ...}``: 0 for a block that never changed, 0.5 for one whose weights
    moved by half their own size.  The head is left out, because a new head has
    no pretrained weights to compare with.  Under Adam every weight moves by
    steps of about the learning rate, so this ratio is largest for the blocks
    with the smallest weights; :func:`block_change` compares blocks without that
    artefact.

    >>> from course_lib import models
    >>> block_drift(models.load_base("scans-s", n_classes=5))
    {'block1': 0.0, 'block2': 0.0, 'block3': 0.0}

    A model with LoRA adapters (notebook 08) is measured on its merged weights,
    ``W + delta``, without changing the model itself.
    """
    base = _base_of(models.check_model(model), base)
    start = _source_model(base)
    model = _weights_to_compare(model)  # LoRA adapters: measure the weights they compute with (W + delta)
    drift = {}
    for i, block in enumerate(models.BLOCKS):
        now = torch.cat([p.detach().flatten() for p in model.backbone[i].parameters()])
        then = torch.cat([p.detach().flatten() for p in start.backbone[i].parameters()])
        drift[block] = round(float((now - then).norm() / then.norm()), 4)
    return drift
