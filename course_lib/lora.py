"""LoRA, written out: train a small low-rank update next to each frozen layer, then fold it in.

Taught in ``08_strategies``.  Fine-tuning changes every weight of the
pretrained backbone; a frozen probe changes none.  LoRA (low-rank adaptation,
Hu et al. 2022) sits in between.  Each adapted layer keeps its pretrained
weight ``W`` frozen and learns a correction ``delta = (alpha / rank) * B @ A``,
where ``A`` has ``rank`` rows and ``B`` has ``rank`` columns: a weight change of
rank at most ``rank``, described by far fewer numbers than ``W`` itself.  ``B``
starts at zero, so the adapted model starts out computing exactly what the base
computed, and training can only move it as far as a low-rank change allows.
That limit is the point: the update cannot rewrite the features wholesale, so
the model tends to learn less of the new task than full fine-tuning and to
forget less of the old one (Biderman et al. 2024).

Each adapted layer computes its frozen output plus the low-rank path,
``W x + (alpha / rank) * B (A x)``, and never builds ``B @ A`` while training:
the frozen ``W`` needs no weight gradient and no optimizer state, but the
forward pass and the backward pass to the layer's input still run through the
whole of ``W``.  The saving is storage and optimizer memory, not forward
arithmetic.

Hu et al. applied LoRA to the linear (attention projection) layers of
transformers.  Adapting convolutions is a later variant (LoCon-style): a conv
weight shaped (out, in, k, k) is treated as a matrix with ``out`` rows and
``in * k * k`` columns, so ``A`` is (rank, in*k*k), run as a conv with the
base's kernel and ``rank`` output channels, and ``B`` is (out, rank), run as a
1x1 conv.  What each task must store is only its adapters and its head; and
because both paths are linear in the weights, :func:`merge_lora` can add
``delta = (alpha / rank) * B @ A`` into ``W`` once training is over, giving back
a plain model with the same outputs up to rounding and nothing extra to
compute at inference.

For real models the Hugging Face ``peft`` library does all of this:
``get_peft_model(model, LoraConfig(r=4, lora_alpha=4, target_modules=[...],
modules_to_save=["head"]))`` wraps the named layers, and
``merge_and_unload()`` folds the adapters back in.  The course writes it out
to show there is no magic in it (``peft`` is not a dependency of the course).

>>> import torch
>>> from course_lib import lora, models
>>> model = models.load_base("scans-s", n_classes=5)
>>> x = torch.rand(4, 1, 20, 20)
>>> before = model(x)
>>> _ = lora.add_lora(model, rank=4)
>>> models.count_parameters(model)            # 2212 adapter numbers + the 325 of the head
{'trainable': 2537, 'total': 25833}
>>> torch.equal(model(x), before)             # B starts at zero: same outputs as the base
True
>>> lora.state_size(lora.lora_state_dict(model))
{'parameters': 2537, 'bytes': 10148}
>>> plain = lora.merge_lora(model)
>>> type(plain.backbone.block1[0]).__name__
'Conv2d'
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from . import models
from ._checks import check_choice, check_positive

__all__ = ["LoRALayer", "add_lora", "check_adapters", "merge_lora", "lora_layers", "lora_state_dict", "state_size"]


# --------------------------------------------------------------------------- the adapter
class LoRALayer(nn.Module):
    """A frozen ``nn.Conv2d`` or ``nn.Linear`` plus a trainable low-rank update ``(alpha / rank) * B @ A``.

    Taught in ``08_strategies``.  ``A`` is (rank, fan_in), where fan_in is
    ``in * k * k`` for a conv and ``in`` for a linear layer; ``B`` is (out, rank)
    and starts at zero, so the wrapped layer starts equal to the original.
    ``alpha`` defaults to ``rank`` (a scale of 1).

    >>> import torch
    >>> from torch import nn
    >>> conv = nn.Conv2d(8, 16, 3, padding=1)
    >>> layer = LoRALayer(conv, rank=2)
    >>> tuple(layer.A.shape), tuple(layer.B.shape)
    ((2, 72), (16, 2))
    >>> x = torch.rand(1, 8, 5, 5)
    >>> torch.equal(layer(x), conv(x))
    True
    """

    def __init__(self, layer, rank=4, alpha=None):
        super().__init__()
        if not isinstance(layer, (nn.Conv2d, nn.Linear)):
            raise TypeError(f"LoRALayer wraps an nn.Conv2d or an nn.Linear, got {type(layer).__name__}.")
        if isinstance(layer, nn.Conv2d) and (layer.padding_mode != "zeros" or layer.groups != 1):
            raise ValueError(f"LoRALayer supports plain convolutions (zero padding, groups=1), got padding_mode="
                             f"{layer.padding_mode!r}, groups={layer.groups}.")
        out_size, fan_in = layer.weight.shape[0], layer.weight[0].numel()
        rank, alpha = _check_rank_alpha(rank, alpha, out_size, fan_in, what=_describe(layer))
        self.base = layer
        for p in self.base.parameters():             # the pretrained weights never change
            p.requires_grad = False
        self.rank, self.alpha, self.scale = rank, alpha, alpha / rank
        self.A = nn.Parameter(torch.empty(rank, fan_in))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))    # as nn.Linear (and peft) initialise it
        self.B = nn.Parameter(torch.zeros(out_size, rank))

    def delta(self):
        """The update ``(alpha / rank) * B @ A``, shaped like the base weight (built only to merge or inspect)."""
        return (self.scale * self.B @ self.A).view(self.base.weight.shape)

    def merged_weight(self):
        """``W + delta``: the weight :func:`merge_lora` stores.  The forward pass never builds it."""
        return self.base.weight.clone().add_(self.delta())   # clone(): keeps W's memory layout exactly

    def low_rank(self, x):
        """The low-rank path ``(alpha / rank) * B (A x)``, computed without building ``B @ A``.

        For a linear layer, ``A x`` squeezes the input to ``rank`` numbers and
        ``B`` expands them to the outputs.  For a conv, ``A`` is a conv with the
        base's kernel, stride, padding and dilation and ``rank`` output channels,
        and ``B`` a 1x1 conv from those ``rank`` channels to the outputs.
        """
        if isinstance(self.base, nn.Linear):
            return self.scale * F.linear(F.linear(x, self.A), self.B)
        conv = self.base
        a = self.A.view(self.rank, conv.in_channels, *conv.kernel_size)
        squeezed = F.conv2d(x, a, None, conv.stride, conv.padding, conv.dilation)       # A x: rank channels
        return self.scale * F.conv2d(squeezed, self.B[:, :, None, None])             # B (A x)

    def forward(self, x):
        """The frozen layer's own output ``W x`` (with its bias) plus the low-rank path ``(alpha / rank) * B (A x)``.

        Two extra, thin products per call; the frozen ``W`` is used as it is, so
        it needs no weight gradient and no optimizer state.  Because both
        paths are linear in the weights, this equals ``(W + delta) x`` up to
        rounding, which is what makes :func:`merge_lora` an equivalence.
        """
        return self.base(x) + self.low_rank(x)

    def extra_repr(self):
        return f"rank={self.rank}, alpha={self.alpha:g}"


def _describe(layer):
    if isinstance(layer, nn.Conv2d):
        k = "x".join(str(s) for s in layer.kernel_size)
        return f"conv {layer.in_channels} in x {k} -> {layer.out_channels} out"
    return f"linear {layer.in_features} in -> {layer.out_features} out"


def _check_rank_alpha(rank, alpha, out_size, fan_in, what):
    check_positive("rank", rank, integer=True)
    largest = min(out_size, fan_in)
    if rank > largest:
        raise ValueError(
            f"rank={rank} is larger than min(in*k*k, out) = {largest} for the {what}: a low-rank update of "
            f"that layer can have rank {largest} at most. Use rank <= {largest}, for example "
            f"rank={min(4, largest)} (4 to 16 is the usual choice)."
        )
    alpha = rank if alpha is None else check_positive("alpha", alpha)
    return int(rank), float(alpha)


# --------------------------------------------------------------------------- a course model with adapters
def lora_layers(model):
    """``{name: LoRALayer}`` for every adapter in ``model`` (empty for a plain model).

    Taught in ``08_strategies``.

    >>> from course_lib import models
    >>> model = add_lora(models.load_base("scans-s", n_classes=5), rank=2, blocks=("block3",))
    >>> list(lora_layers(model))
    ['backbone.block3.0']
    """
    return {name: m for name, m in model.named_modules() if isinstance(m, LoRALayer)}


def add_lora(model, rank=4, alpha=None, blocks=models.BLOCKS):
    """Wrap the convs of ``blocks`` in :class:`LoRALayer` adapters, in place; train only adapters and head.

    Taught in ``08_strategies``.  Every other weight is frozen.  The head stays
    a plain ``nn.Linear`` trained in full: a new task needs a new head anyway
    (``peft`` calls this ``modules_to_save``).  The result trains with
    ``train.fit`` as it is (its frozen-backbone shortcut does not apply, since
    the adapters inside the backbone are trainable) and is scored by
    ``forgetting.source_accuracy`` as it is.  Do not thaw parts with
    ``models.unfreeze`` afterwards: that would thaw the pretrained weights under
    the adapters too; and ``recipes.feature_extract`` freezes the whole backbone,
    adapters included, so to train the head first (as ``recipes.fine_tune``
    does) run it *before* ``add_lora``.  Returns the model.

    Parameters
    ----------
    model : SmallCNN
        Usually a pretrained base with a fresh head (``models.load_base``).
    rank : int
        Rank of every update; at most ``min(in*k*k, out)`` of each adapted conv
        (9 for ``block1``, whose conv reads one channel through a 3x3 kernel).
    alpha : float, optional
        The update is scaled by ``alpha / rank``; default ``alpha = rank`` (scale 1).
    blocks : sequence of str
        Which of "block1", "block2", "block3" get adapters.

    >>> from course_lib import models
    >>> model = add_lora(models.load_base("scans-s", n_classes=5), rank=4)
    >>> models.trainable_parts(model)
    ['block1', 'block2', 'block3', 'head']
    """
    convs = check_adapters(model, rank, alpha, blocks)
    models.freeze(model, "all")
    for b, conv in convs.items():
        model.backbone[models.BLOCKS.index(b)][0] = LoRALayer(conv, rank, alpha)
    models.unfreeze(model, "head")
    return model


def check_adapters(model, rank=4, alpha=None, blocks=models.BLOCKS):
    """Check :func:`add_lora`'s arguments and return ``{block: conv}``, the layers it would wrap; changes nothing.

    Used by :func:`add_lora`, ``recipes.lora_fine_tune`` and ``strategies.run_strategies``, so that a bad rank or
    block fails before any training.

    >>> from course_lib import models
    >>> sorted(check_adapters(models.build("small", n_classes=5), rank=4))
    ['block1', 'block2', 'block3']
    """
    models.check_model(model)
    if lora_layers(model):
        raise ValueError("This model already has LoRA adapters: add_lora was called on it before. "
                         "Start again from models.load_base(...), or fold the adapters in with merge_lora first.")
    if isinstance(blocks, str):
        blocks = (blocks,)
    blocks = tuple(blocks)
    if not blocks:
        raise ValueError(f"blocks is empty: name at least one of {', '.join(models.BLOCKS)}.")
    for b in blocks:
        if b == "head":
            raise ValueError("The head is not adapted: add_lora trains it in full (it is new for every task). "
                             f"Choose blocks among {', '.join(models.BLOCKS)}.")
        check_choice("block", b, models.BLOCKS)
    convs = {b: model.backbone[models.BLOCKS.index(b)][0] for b in blocks}
    for b, conv in convs.items():                    # check every rank before changing anything
        _check_rank_alpha(rank, alpha, conv.out_channels, conv.weight[0].numel(), what=f"{b} ({_describe(conv)})")
    return convs


@torch.no_grad()
def merge_lora(model):
    """Fold every adapter into its layer's weight, in place, and return the plain ``SmallCNN``.

    Taught in ``08_strategies``.  Each :class:`LoRALayer` is replaced by its
    original layer holding ``W + (alpha / rank) * B @ A``: the same outputs (up
    to rounding), with no adapter left to compute at inference.  The merged
    layers stay frozen, as they were under their adapters.

    >>> import torch
    >>> from course_lib import models
    >>> model = add_lora(models.load_base("scans-s", n_classes=5))
    >>> _ = torch.nn.init.normal_(model.backbone.block2[0].B)   # pretend it was trained
    >>> x = torch.rand(3, 1, 20, 20)
    >>> before = model(x)
    >>> torch.allclose(merge_lora(model)(x), before, atol=1e-5), lora_layers(model)
    (True, {})
    """
    models.check_model(model)
    adapters = lora_layers(model)
    if not adapters:
        raise ValueError("This model has no LoRA adapters to merge. Add them with lora.add_lora(model) and "
                         "train it first; a plain model can be used as it is.")
    for name, adapter in adapters.items():
        layer = adapter.base
        layer.weight.copy_(adapter.merged_weight())
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name), child, layer)
    return model


# --------------------------------------------------------------------------- what a task must store
def lora_state_dict(model):
    """The weights one task adds to the shared base: every adapter's ``A`` and ``B``, and the head.

    Taught in ``08_strategies``: this is the "checkpoint per task" of LoRA.
    Everything else equals the base, which is stored once for all tasks.

    >>> from course_lib import models
    >>> model = add_lora(models.load_base("scans-s", n_classes=5), rank=2, blocks=("block3",))
    >>> list(lora_state_dict(model))
    ['backbone.block3.0.A', 'backbone.block3.0.B', 'head.weight', 'head.bias']
    """
    models.check_model(model)
    if not lora_layers(model):
        raise ValueError("This model has no LoRA adapters, so it has no LoRA weights to store. For a plain "
                         "model the whole state_dict() (full fine-tuning) or the head's (a frozen probe) is "
                         "what a task stores; measure it with lora.state_size(...).")
    state = {}
    for name, adapter in lora_layers(model).items():
        state[f"{name}.A"], state[f"{name}.B"] = adapter.A.detach().clone(), adapter.B.detach().clone()
    for key, value in model.head.state_dict().items():
        state[f"head.{key}"] = value.detach().clone()
    return state


def state_size(state):
    """``{'parameters': ..., 'bytes': ...}`` of a state dict (or of a module's ``state_dict()``).

    Taught in ``08_strategies``, for the "checkpoint size per task" of each
    strategy: ``state_size(model.state_dict())`` for full fine-tuning,
    ``state_size(model.head.state_dict())`` for a frozen probe,
    ``state_size(lora_state_dict(model))`` for LoRA.

    >>> from course_lib import models
    >>> state_size(models.load_base("scans-s", n_classes=5).head)
    {'parameters': 325, 'bytes': 1300}
    """
    if isinstance(state, nn.Module):
        state = state.state_dict()
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise TypeError(f"state must be a state dict (names -> tensors) or a torch module, "
                        f"got {type(state).__name__}. Pass model.state_dict() or lora.lora_state_dict(model).")
    return {"parameters": sum(v.numel() for v in state.values()),
            "bytes": sum(v.numel() * v.element_size() for v in state.values())}
