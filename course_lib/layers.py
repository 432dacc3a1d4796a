"""What the layers of a base know, and what a base costs.

Taught in ``00_welcome_first_transfer`` (sections 7 and 8 of the notebook).

Three tools for the question "what does *general* mean?":

* :func:`transfer_blocks` keeps the first ``n_blocks`` blocks of a pretrained base
  (frozen) and re-initialises the rest, in the spirit of Yosinski et al. (2014),
  *How transferable are features in deep neural networks?*.  Train what is left
  and compare ``n_blocks = 0, 1, 2, 3``: each step up says how much the next
  block's pretrained weights are worth on your task.  ``pretrained=False`` keeps
  the same blocks frozen at their *random* start: the control that separates
  "the pretrained weights helped" from "freezing helped".
* :func:`plot_first_block` shows the first block's filters and what each one
  lights up in an image; :func:`plot_top_images` shows the images that excite a
  block's channels most; :func:`class_purity` puts a number on how class-specific
  each channel of a block is.
* :func:`training_cost` and :func:`pretraining_cost` count optimizer steps and
  images seen, the machine-independent cost of building a base and of adapting it.

>>> from course_lib import layers, models
>>> model = layers.transfer_blocks("scans-s", 2, n_classes=5)
>>> models.trainable_parts(model)
['block3', 'head']
>>> layers.pretraining_cost("scans-s")["steps"]
3750
"""

import math

import numpy as np
import torch

from . import models, plots
from ._checks import check_choice, check_imageset, check_integer, check_positive

__all__ = ["transfer_blocks", "block_responses", "class_purity", "plot_first_block", "plot_top_images",
           "training_cost", "pretraining_cost", "PRETRAIN_BATCH_SIZE"]

PRETRAIN_BATCH_SIZE = 64          # the batch size course_lib.build.build_base pretrains every base with


# --------------------------------------------------------------------------- transfer the first k blocks
def transfer_blocks(base, n_blocks, n_classes, *, pretrained=True):
    """A fresh model whose first ``n_blocks`` blocks hold base ``base``'s weights, frozen; the rest is new.

    Taught in ``00_welcome_first_transfer``.  ``n_blocks=0`` is a model trained
    from scratch, ``3`` keeps the whole backbone (feature extraction: only the
    head trains).  The blocks above ``n_blocks`` and the head keep the random
    initialisation of ``models.build`` (so, after the same ``seed_everything``,
    they start where a from-scratch model starts) and are trainable.  With
    ``pretrained=False`` the first ``n_blocks`` blocks stay at that random start
    but are frozen all the same: the control for "freezing alone helped".

    >>> from course_lib import models
    >>> m = transfer_blocks("scans-s", 1, n_classes=5)
    >>> models.trainable_parts(m)
    ['block2', 'block3', 'head']
    >>> base = models.load_base("scans-s", n_classes=5)
    >>> bool(torch.equal(m.backbone.block1[0].weight, base.backbone.block1[0].weight))
    True
    >>> transfer_blocks("scans-s", 4, n_classes=5)
    Traceback (most recent call last):
    ...
    ValueError: n_blocks must be a whole number from 0 to 3 (how many blocks to keep, from the bottom), got 4.
    """
    name = models.base_name(base)
    n_blocks = check_integer("n_blocks", n_blocks, low=0, high=len(models.BLOCKS),
                             note=" (how many blocks to keep, from the bottom)")
    check_positive("n_classes", n_classes, integer=True)
    if not isinstance(pretrained, bool):
        raise TypeError(f"pretrained must be True (the base's weights) or False (the random-start control), "
                        f"got {pretrained!r}.")
    model = models.build(models.BASES[name].arch, n_classes=n_classes)     # every block at its random start
    kept = models.BLOCKS[:n_blocks]
    if pretrained and kept:
        source = models.load_base(name, n_classes=n_classes)
        for block in kept:
            getattr(model.backbone, block).load_state_dict(getattr(source.backbone, block).state_dict())
    models.unfreeze(model, "all")
    if kept:
        models.freeze(model, list(kept))
    model.kept_blocks, model.kept_from = n_blocks, (name if pretrained else "random start")
    return model


# --------------------------------------------------------------------------- what the blocks respond to
def _images(dataset_or_images, where):
    """Images as a float tensor (N, 1, H, W) in 0..1, from an ImageSet or an array of images."""
    if hasattr(dataset_or_images, "tensors"):
        return dataset_or_images.tensors()[0]
    from .train import as_tensors

    x = np.asarray(dataset_or_images)
    return as_tensors((x, np.zeros(len(x), dtype=np.int64)), name=where)[0]


@torch.no_grad()
def block_responses(model, images, block="block1", *, peak=True):
    """What each channel of ``block`` computes on ``images``.

    Taught in ``00_welcome_first_transfer``.  Returns the block's output maps,
    shape (N, channels, h, w), or with ``peak=True`` (default) each channel's
    strongest response in each image, shape (N, channels): how much the image
    contains what that channel detects, wherever it is.

    >>> from course_lib import data, models
    >>> scans = data.load("scans_test")
    >>> block_responses(models.load_base("scans-s", n_classes=10), scans.images[:4], "block3").shape
    (4, 64)
    """
    models.check_model(model)
    check_choice("block", block, models.BLOCKS)
    x = _images(images, "images")
    was_training = model.training
    model.eval()
    try:
        h = ((x - models.PIXEL_MEAN) / models.PIXEL_STD).contiguous(memory_format=torch.channels_last)
        for name in models.BLOCKS[:models.BLOCKS.index(block) + 1]:
            h = getattr(model.backbone, name)(h)
    finally:
        model.train(was_training)
    out = h.amax(dim=(2, 3)) if peak else h
    return out.float().contiguous().numpy()


def class_purity(model, dataset, block="block1", top=20):
    """For each channel of ``block``: the share of its ``top`` strongest images that belong to one class.

    Taught in ``00_welcome_first_transfer``.  A general detector (an edge, a
    stroke) fires on images of every class, so its top images mix the classes
    and its purity stays near chance (about 0.22 for 10 classes and ``top=20``, not ``1 / n_classes``: the
    most common class in 20 random scans is usually 4 or 5 of them); a class-specific detector's top
    images are mostly one class (purity near 1).  Returns one number per channel.

    >>> from course_lib import data, models
    >>> scans = data.load("scans_test")
    >>> p = class_purity(models.load_base("scans-s", n_classes=10), scans, "block1")
    >>> p.shape, bool((p >= 0.1).all() and (p <= 1).all())
    ((16,), True)
    """
    check_imageset(dataset, "class_purity")
    top = check_integer("top", top, low=1, high=len(dataset), note=" (images per channel)")
    peaks = block_responses(model, dataset, block)
    order = np.argsort(-peaks, axis=0, kind="stable")[:top]           # (top, channels)
    labels = np.asarray(dataset.labels)[order]
    return np.array([np.bincount(labels[:, c], minlength=dataset.n_classes).max() / top
                     for c in range(peaks.shape[1])])


def _to_unit(a):
    """Each map rescaled to 0..1 on its own (a constant map becomes 0.5)."""
    a = np.asarray(a, dtype=np.float64)
    lo = a.min(axis=(-2, -1), keepdims=True)
    span = a.max(axis=(-2, -1), keepdims=True) - lo
    return np.where(span > 0, (a - lo) / np.where(span > 0, span, 1), 0.5)


def plot_first_block(model, image, ax=None, title=None):
    """The first block's filters (top row) and what each one lights up in ``image`` (bottom row).

    Taught in ``00_welcome_first_transfer``.  Each filter is a 3x3 grid of
    weights, shown enlarged (bright: positive weight); each map is that filter's
    response (after the ReLU, before pooling) on the image, each rescaled to its
    own range.  Oriented edge and stroke detectors show as bright bands in the
    filters and as the matching strokes lit up in the maps.

    >>> import matplotlib.pyplot as plt
    >>> from course_lib import data, models
    >>> fig = plot_first_block(models.load_base("scans-s", n_classes=5), data.load("clinic").images[0])
    >>> plt.close(fig)
    """
    models.check_model(model)
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[0] == 1:
        img = img[0]
    if img.ndim != 2:
        raise ValueError(f"image must be one image shaped (H, W), got shape {img.shape}. Pick one: images[0].")
    weights = model.backbone.block1[0].weight.detach().cpu().numpy()[:, 0]          # (channels, 3, 3)
    size = img.shape[0]
    repeat = max(1, size // weights.shape[-1])
    filters = _to_unit(np.kron(weights, np.ones((repeat, repeat))))
    filters = np.pad(filters, [(0, 0), (0, size - filters.shape[1]), (0, size - filters.shape[2])],
                     constant_values=0.5)
    with torch.no_grad():                                  # conv and ReLU of block1, before its pooling
        x = _images(img[None], "image")
        maps = model.backbone.block1[1](model.backbone.block1[0]((x - models.PIXEL_MEAN) / models.PIXEL_STD))
    maps = _to_unit(maps[0].float().numpy())
    n = len(weights)
    return plots.image_grid(np.concatenate([filters, maps]).astype(np.float32), nrow=n, ax=ax, cmap="gray",
                            title=title or f"block1: its {n} filters (top) and what each lights up in one image (bottom)")


def plot_top_images(model, dataset, block="block3", channels=8, top=5, ax=None, title=None):
    """One row per channel of ``block``: the ``top`` images of ``dataset`` that excite it most, with their classes.

    Taught in ``00_welcome_first_transfer``.  The channels are spread evenly over
    the block (channel 0, then every ``n_channels // channels``-th), not chosen
    for how they look.  A row of one class is a class-specific detector; a row
    of mixed classes is a general one.

    >>> import matplotlib.pyplot as plt
    >>> from course_lib import data, models
    >>> fig = plot_top_images(models.load_base("scans-s", n_classes=10), data.load("scans_test"), channels=2, top=3)
    >>> plt.close(fig)
    """
    check_imageset(dataset, "plot_top_images")
    channels = check_integer("channels", channels, low=1)
    top = check_integer("top", top, low=1, high=len(dataset))
    peaks = block_responses(model, dataset, block)
    n_channels = peaks.shape[1]
    if channels > n_channels:
        raise ValueError(f"{block} has {n_channels} channels, got channels={channels}.")
    picked = np.arange(channels) * (n_channels // channels)
    order = np.argsort(-peaks[:, picked], axis=0, kind="stable")[:top].T.reshape(-1)    # row by row
    return plots.image_grid(dataset.images[order], labels=np.asarray(dataset.labels)[order],
                            class_names=dataset.class_names, nrow=top, ax=ax,
                            title=title or f"{block}: the {top} images that excite each of {channels} channels most")


# --------------------------------------------------------------------------- what it costs
def training_cost(n_images, epochs, batch_size):
    """``{'steps': ..., 'images': ...}``: optimizer steps and images seen when training ``epochs`` passes.

    Taught in ``00_welcome_first_transfer``.  Counts, unlike seconds, are the
    same on every machine.  ``images`` counts an image once per pass (a frozen
    backbone's features are computed once, so feature extraction sees its
    images through the backbone only once, whatever the epochs).

    >>> training_cost(50, epochs=50, batch_size=16)
    {'steps': 200, 'images': 2500}
    """
    for name, value in (("n_images", n_images), ("epochs", epochs), ("batch_size", batch_size)):
        check_positive(name, value, integer=True)
    return {"steps": math.ceil(n_images / batch_size) * epochs, "images": n_images * epochs}


def pretraining_cost(base):
    """What building base ``base`` took: its pretraining images, epochs, batch size, steps and images seen.

    Taught in ``00_welcome_first_transfer``.  Read from the recipe that builds it
    (``course_lib.build.PRETRAIN``, what ``make data`` runs), not from a clock.

    >>> pretraining_cost("photos-l")
    {'pretrain_images': 20000, 'epochs': 30, 'batch_size': 64, 'steps': 9390, 'images': 600000}
    """
    from .build import PRETRAIN

    name = models.base_name(base)
    spec = PRETRAIN[name]
    n = spec.n_per_class * models.BASES[name].n_source_classes
    return {"pretrain_images": n, "epochs": spec.epochs, "batch_size": PRETRAIN_BATCH_SIZE,
            **training_cost(n, spec.epochs, PRETRAIN_BATCH_SIZE)}
