"""Models: one small CNN family, pretrained bases, freezing and parameter groups.

Taught in ``00_welcome_first_transfer`` (backbone and head, pretrained bases,
freezing) and used by every notebook after it.

Every model is a :class:`SmallCNN`: a *backbone* of named blocks that turns an
image into a feature vector, and a *head* (one linear layer) that turns the
features into class scores.  Transfer learning keeps the backbone of a model
trained on a source task and puts a fresh head on it for the target task.

>>> from course_lib import models
>>> model = models.load_base("scans-s", n_classes=5)   # pretrained backbone, new head
>>> _ = models.freeze(model, "backbone")              # feature extraction
>>> models.count_parameters(model)
{'trainable': 325, 'total': 23621}
"""

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ._checks import check_choice, check_integer, check_positive

BLOCKS = ("block1", "block2", "block3")
PIXEL_MEAN, PIXEL_STD = 0.3, 0.2    # images arrive in 0..1; the model centres them first


def conv_block(c_in, c_out, pool=True, batchnorm=False):
    """Conv 3x3 -> ReLU (-> max-pool 2x2): the unit the backbone is made of.

    With ``batchnorm=True``: Conv 3x3 (no bias) -> BatchNorm -> ReLU (-> max-pool),
    the block of the ``"small-bn"`` architecture (notebook 11).
    """
    if batchnorm:
        layers = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
    else:
        layers = [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU()]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class SmallCNN(nn.Module):
    """A small CNN split into ``backbone`` (blocks ``block1``..``block3``) and ``head``.

    ``width`` sets the channels of the first block (doubled in each next block),
    so ``width=16`` has about 24k parameters and ``width=32`` about 94k.
    ``batchnorm=True`` puts a BatchNorm layer after each convolution (the
    ``"small-bn"`` architecture).  Input: images shaped (N, 1, 20, 20) with
    values in 0..1.
    """

    def __init__(self, n_classes, width=16, batchnorm=False):
        super().__init__()
        check_positive("n_classes", n_classes, integer=True)
        check_positive("width", width, integer=True)
        if n_classes < 2:
            raise ValueError(f"n_classes must be at least 2 for a classifier, got {n_classes}.")
        self.n_classes, self.width, self.batchnorm = n_classes, width, bool(batchnorm)
        self.batchnorm_frozen = False         # set by freeze_batchnorm: BatchNorm stays in eval mode
        bn = self.batchnorm
        self.backbone = nn.Sequential(OrderedDict(
            block1=conv_block(1, width, batchnorm=bn),
            block2=conv_block(width, 2 * width, batchnorm=bn),
            block3=conv_block(2 * width, 4 * width, pool=False, batchnorm=bn),
            pool=nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()),
        ))
        self.head = nn.Linear(4 * width, n_classes)
        # "channels last" memory layout: same numbers, but pooling runs several times faster on a CPU
        self.to(memory_format=torch.channels_last)

    @property
    def n_features(self):
        return self.head.in_features

    def features(self, x):
        """The backbone's feature vector for each image: shape (N, n_features)."""
        x = (_check_input(x) - PIXEL_MEAN) / PIXEL_STD
        return self.backbone(x.contiguous(memory_format=torch.channels_last))

    def forward(self, x):
        return self.head(self.features(x))

    def train(self, mode=True):
        """Set train or eval mode; BatchNorm layers frozen by :func:`freeze_batchnorm` stay in eval mode."""
        super().train(mode)
        if self.batchnorm_frozen:
            for layer in batchnorm_layers(self):
                layer.eval()
        return self


def _check_input(x):
    if not torch.is_tensor(x) or x.ndim != 4 or x.shape[1] != 1:
        shape = tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
        raise ValueError(
            f"The model expects a float tensor of images shaped (N, 1, H, W), got {shape}. "
            "Use course_lib.train.as_tensors(...) or ImageSet.tensors() to convert a dataset."
        )
    return x


# --------------------------------------------------------------------------- registry
ARCHITECTURES = {"small": 16, "large": 32, "small-bn": 16}     # name -> width of the first block
BATCHNORM_ARCHITECTURES = ("small-bn",)                        # a BatchNorm layer after each convolution

@dataclass(frozen=True)
class BaseCard:
    """What the course knows about one pretrained base: its file, architecture and source task.

    Taught in ``04_wrong_domain_base``.  ``conflicting`` marks a base made to fail on
    purpose (notebook 07): never one to recommend.

    >>> BASES["scans-s"].source, BASES["scans-s"].arch
    ('scans', 'small')
    """

    file: str
    arch: str
    source: str
    n_source_classes: int
    summary: str
    conflicting: bool = False
    lesson: str = None               # a base made for one lesson: loaded by name, not offered for a new task
    preprocessing: dict = None       # what its input must look like, as its model card states it (notebook 11)


# Pretrained bases shipped in data/bases/.  Read the model cards in data/MODEL_CARD.md.
BASES = {
    "scans-s": BaseCard(file="bases/scans-s.npz", arch="small", source="scans", n_source_classes=10,
                        summary="small base pretrained on lab scans (near the clinic's target task)"),
    "photos-l": BaseCard(file="bases/photos-l.npz", arch="large", source="photos", n_source_classes=10,
                         summary="larger, 'famous' base pretrained on everyday photos (a far domain)"),
    "scans-shuffled": BaseCard(file="bases/scans-shuffled.npz", arch="small", source="scans", n_source_classes=10,
                               summary="small base pretrained on lab scans whose labels were shuffled "
                                       "(garbage labels: a conflicting base)",
                               conflicting=True),    # made to fail on purpose (notebook 07)
    # notebook 11's base: like scans-s, but each convolution is followed by BatchNorm, as in most real bases
    "scans-bn": BaseCard(file="bases/scans-bn.npz", arch="small-bn", source="scans", n_source_classes=10,
                         summary="small base with BatchNorm layers, pretrained on lab scans (notebook 11)",
                         lesson="11_batchnorm_and_preprocessing",
                         preprocessing=dict(size=(20, 20), range=(0.0, 1.0), polarity="bright marks on a dark "
                                            "background", how="grayscale, 20x20, uint8 pixels divided by 255 "
                                            "(ImageSet.tensors does it); not inverted, not standardised")),
}
# The bases the course offers for a new task: every base except those made to fail on purpose and those made
# for one lesson (notebook 11's BatchNorm base), so the listings of the earlier notebooks stay as they were.
OFFERED_BASES = tuple(name for name, card in BASES.items() if not card.conflicting and card.lesson is None)


def build(arch="small", n_classes=10):
    """A freshly initialised model (for training from scratch).

    ``arch``: ``"small"`` (width 16), ``"large"`` (width 32) or ``"small-bn"``
    (width 16 with a BatchNorm layer after each convolution, notebook 11).
    """
    check_choice("architecture", arch, tuple(ARCHITECTURES))
    return SmallCNN(n_classes, width=ARCHITECTURES[arch], batchnorm=arch in BATCHNORM_ARCHITECTURES)


def check_model(model, *, n_classes=None, task="the data", class_names=None):
    """Raise unless ``model`` is a course model (``build`` or ``load_base``); with ``n_classes``, its head's size.

    The one model check of ``forgetting``, ``lora`` and ``audit``.  ``task`` and
    ``class_names`` name the data the model must fit, for the message.

    >>> check_model(build("small", n_classes=5), n_classes=5).width
    16
    >>> check_model("scans-s")
    Traceback (most recent call last):
    ...
    TypeError: model must be a course model (models.load_base(...) or models.build(...)), got str.
    """
    if not isinstance(model, SmallCNN):
        raise TypeError(f"model must be a course model (models.load_base(...) or models.build(...)), "
                        f"got {type(model).__name__}.")
    if n_classes is not None and model.head.out_features != n_classes:
        names = f" ({list(class_names)})" if class_names is not None else ""
        raise ValueError(f"model has {model.head.out_features} outputs but {task} has {n_classes} classes{names}: "
                         "pass the model trained on this task.")
    return model


def base_name(base):
    """The name of a pretrained base given by its name (``"scans-s"``) or as a model loaded with :func:`load_base`.

    The one base resolver of ``forgetting``, ``domains`` and ``audit``.

    >>> base_name("scans-s"), base_name(load_base("photos-l", n_classes=3))
    ('scans-s', 'photos-l')
    """
    if isinstance(base, str):
        return check_choice("base", base, tuple(BASES))
    name = getattr(base, "base_name", None)
    if not isinstance(base, SmallCNN) or name not in BASES:
        raise TypeError("base must be a base name such as 'scans-s', or a model loaded with "
                        f"models.load_base(...); got {type(base).__name__}.")
    return name


def load_base(name, n_classes, keep_head=False):
    """A model whose backbone holds the pretrained weights of base ``name``.

    The head is new and randomly initialised for ``n_classes`` target classes,
    unless ``keep_head=True`` (then ``n_classes`` must equal the base's number of
    source classes and the source head is kept, to score the source task).
    Weights are read as plain arrays after their checksum is verified: no
    pickled code is ever loaded.
    """
    check_choice("base", name, tuple(BASES))
    card = BASES[name]
    if keep_head and n_classes != card.n_source_classes:
        raise ValueError(f"keep_head=True needs n_classes={card.n_source_classes} "
                         f"(the classes of {card.source!r}), got {n_classes}.")
    from .data import data_path  # checks the file and its checksum
    arrays = np.load(data_path(card.file), allow_pickle=False)
    model = build(card.arch, n_classes=n_classes if keep_head else card.n_source_classes)
    state = {k: torch.from_numpy(arrays[k].copy()) for k in arrays.files}
    model.load_state_dict(state)
    if not keep_head:
        model.head = nn.Linear(model.n_features, n_classes)
    model.base_name = name
    return model


def save_weights(model, path):
    """Save a model's weights as plain arrays (``.npz``), the format of the shipped bases."""
    arrays = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return Path(path)


# --------------------------------------------------------------------------- freezing
def _parts(model):
    return {**{b: model.backbone[BLOCKS.index(b)] for b in BLOCKS},
            "head": model.head, "backbone": model.backbone, "all": model}


def _set_trainable(model, parts, flag):
    if not isinstance(model, SmallCNN):
        raise TypeError(f"model must be a course SmallCNN, got {type(model).__name__}.")
    if isinstance(parts, str):
        parts = [parts]
    table = _parts(model)
    for p in parts:
        check_choice("part", p, tuple(table))
        for param in table[p].parameters():
            param.requires_grad = flag
    return model


def freeze(model, parts="backbone"):
    """Stop training ``parts``: any of "block1", "block2", "block3", "backbone", "head", "all"."""
    return _set_trainable(model, parts, False)


def unfreeze(model, parts="all"):
    """Train ``parts`` again (same names as :func:`freeze`)."""
    return _set_trainable(model, parts, True)


def freeze_up_to(model, n_trainable_blocks):
    """Freeze the backbone except its last ``n_trainable_blocks`` blocks (the head stays trainable).

    ``0`` is feature extraction; ``3`` is full fine-tuning.  Taught with gradual
    unfreezing: thaw one block at a time, from the top.
    """
    check_integer("n_trainable_blocks", n_trainable_blocks, low=0, high=len(BLOCKS))
    freeze(model, "backbone")
    unfreeze(model, "head")
    for b in BLOCKS[len(BLOCKS) - n_trainable_blocks:]:
        unfreeze(model, b)
    return model


def batchnorm_layers(model):
    """The BatchNorm layers of a model, in order (none in the ``"small"`` and ``"large"`` architectures).

    Taught in ``11_batchnorm_and_preprocessing``.

    >>> len(batchnorm_layers(build("small-bn", n_classes=5))), len(batchnorm_layers(build("small", n_classes=5)))
    (3, 0)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def freeze_batchnorm(model, frozen=True):
    """Keep the model's BatchNorm layers in eval mode, whatever ``model.train()`` says; returns the model.

    Taught in ``11_batchnorm_and_preprocessing``.  ``freeze`` (``requires_grad=False``)
    stops the gradient, but a BatchNorm layer in training mode still normalises
    each batch by that batch's own statistics and keeps updating its running
    statistics towards the new data: a "frozen" backbone then changes.  After
    ``freeze_batchnorm(model)`` the layers normalise with the statistics the
    base was pretrained with and never update them, also inside ``train.fit``
    (which calls ``model.train()`` every epoch).  ``frozen=False`` undoes it.
    On a model without BatchNorm it changes nothing.

    >>> model = freeze(load_base("scans-bn", n_classes=5), "backbone")
    >>> _ = freeze_batchnorm(model).train()
    >>> model.training, [layer.training for layer in batchnorm_layers(model)]
    (True, [False, False, False])
    """
    if not isinstance(model, SmallCNN):
        raise TypeError(f"model must be a course model (models.load_base(...) or models.build(...)), "
                        f"got {type(model).__name__}.")
    if not isinstance(frozen, bool):
        raise TypeError(f"frozen must be True or False, got {frozen!r}.")
    model.batchnorm_frozen = frozen
    return model.train(model.training)


def trainable_parts(model):
    """Names of the blocks (and head) that currently have trainable parameters."""
    table = _parts(model)
    return [p for p in (*BLOCKS, "head") if any(q.requires_grad for q in table[p].parameters())]


def count_parameters(model):
    """``{'trainable': ..., 'total': ...}`` parameter counts."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"trainable": trainable, "total": total}


def param_groups(model, lr, decay=2.6):
    """Discriminative learning rates: the head gets ``lr``, each block below it ``decay`` times less.

    Pass the result to ``train.fit(..., param_groups=...)``.  Only trainable
    parameters are included.  The factor 2.6 per layer comes from ULMFiT
    (Howard & Ruder, 2018).
    """
    check_positive("lr", lr)
    check_positive("decay", decay)
    if decay < 1:
        raise ValueError(f"decay must be at least 1 (lower blocks learn more slowly), got {decay}.")
    table = _parts(model)
    groups = []
    for depth, part in enumerate(("head",) + BLOCKS[::-1]):
        params = [p for p in table[part].parameters() if p.requires_grad]
        if params:
            groups.append({"params": params, "lr": lr / decay ** depth, "name": part})
    if not groups:
        raise ValueError("The model has no trainable parameters; unfreeze something first.")
    return groups
