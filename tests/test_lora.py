"""course_lib.lora: low-rank adapters for the course's models, trained with fit and merged back."""

import pytest
import torch
from torch import nn

from course_lib import data, forgetting, lora, models, recipes, repro, train


@pytest.fixture(scope="module")
def few():
    return data.load("clinic").take_per_class(3, seed=0)


@pytest.fixture(scope="module")
def x():
    return data.load("clinic_test").tensors()[0][:64]


def _lora_model(rank=4, **kwargs):
    repro.seed_everything(0)
    return lora.add_lora(models.load_base("scans-s", n_classes=5), rank=rank, **kwargs)


def _base_weights(model):
    return {name: layer.base.weight.detach().clone() for name, layer in lora.lora_layers(model).items()}


@pytest.fixture(scope="module")
def trained(few):
    """A LoRA model after a few epochs at a high rate, with the base weights it started from."""
    model = _lora_model()
    start = _base_weights(model)
    hist = train.fit(model, few, epochs=3, lr=1e-2, batch_size=5, seed=0, progress=False)
    return model, start, hist


# --------------------------------------------------------------------------- the adapter
def test_wrapped_model_starts_exactly_equal_to_the_base(x):
    base = models.load_base("scans-s", n_classes=5)
    model = lora.add_lora(models.load_base("scans-s", n_classes=5), rank=4)
    model.head.load_state_dict(base.head.state_dict())
    with torch.no_grad():
        assert torch.equal(model(x), base(x))


def test_adapter_shapes_follow_the_conv_weight():
    model = _lora_model(rank=3)
    layers = lora.lora_layers(model)
    assert list(layers) == [f"backbone.{b}.0" for b in models.BLOCKS]
    for layer in layers.values():
        out, c_in, k, _ = layer.base.weight.shape
        assert layer.A.shape == (3, c_in * k * k) and layer.B.shape == (out, 3)
        assert torch.count_nonzero(layer.B) == 0
        assert layer.delta().shape == layer.base.weight.shape


def test_lora_layer_wraps_a_linear_layer_too():
    linear = nn.Linear(10, 6)
    layer = lora.LoRALayer(linear, rank=2, alpha=4)
    assert layer.scale == 2.0
    with torch.no_grad():
        nn.init.normal_(layer.B)
        v = torch.rand(5, 10)
        assert torch.allclose(layer(v), nn.functional.linear(v, layer.merged_weight(), linear.bias), atol=1e-6)


def test_merged_weight_is_the_base_output_plus_the_low_rank_path():
    conv = nn.Conv2d(4, 8, 3, padding=1)
    layer = lora.LoRALayer(conv, rank=2, alpha=6)
    with torch.no_grad():
        nn.init.normal_(layer.B)
        v = torch.rand(2, 4, 7, 7)
        squeezed = nn.functional.conv2d(v, layer.A.view(2, 4, 3, 3), padding=1)       # A x: 2 channels
        low_rank = nn.functional.conv2d(squeezed, layer.B[:, :, None, None])        # B (A x)
        assert torch.allclose(layer(v), conv(v) + 3.0 * low_rank, atol=1e-5)
        assert torch.linalg.matrix_rank(layer.delta().flatten(1)) <= 2


# --------------------------------------------------------------------------- what trains
def test_only_adapters_and_head_are_trainable_and_the_count_matches_the_formula():
    rank = 4
    model = _lora_model(rank=rank)
    expected = sum(rank * (c_in * 9 + c_out) for c_in, c_out in ((1, 16), (16, 32), (32, 64))) + 64 * 5 + 5
    counts = models.count_parameters(model)
    assert counts["trainable"] == expected == 553 * rank + 325
    assert counts["total"] == models.count_parameters(models.load_base("scans-s", 5))["total"] + 553 * rank
    trainable = sorted(n for n, p in model.named_parameters() if p.requires_grad)
    assert all(n.startswith("head.") or n.endswith((".A", ".B")) for n in trainable)
    assert models.trainable_parts(model) == ["block1", "block2", "block3", "head"]


def test_blocks_choose_where_adapters_go():
    model = _lora_model(rank=2, blocks=("block3",))
    assert list(lora.lora_layers(model)) == ["backbone.block3.0"]
    assert models.count_parameters(model)["trainable"] == 2 * (32 * 9 + 64) + 325
    assert models.trainable_parts(model) == ["block3", "head"]
    assert lora.lora_layers(_lora_model(rank=2, blocks="block2")).keys() == {"backbone.block2.0"}


def test_fit_trains_through_the_backbone_not_the_frozen_features_shortcut(trained, few):
    model, start, hist = trained
    assert not train._backbone_frozen(model)              # the adapters live in the backbone
    assert hist.train_loss[-1] < hist.train_loss[0]
    assert any(torch.count_nonzero(layer.B) > 0 for layer in lora.lora_layers(model).values())


def test_training_changes_outputs_but_not_the_base_weights(trained, x):
    model, start, _ = trained
    for name, w in _base_weights(model).items():
        assert torch.equal(w, start[name]), name
    fresh = _lora_model()
    fresh.head.load_state_dict(model.head.state_dict())        # same head: any difference is the adapters
    with torch.no_grad():
        assert not torch.allclose(model(x), fresh(x), atol=1e-4)


def test_source_accuracy_works_on_a_lora_model_and_its_merge(trained):
    model, _, _ = trained
    acc = forgetting.source_accuracy(model, test_per_class=10)
    assert 0.0 <= acc <= 1.0
    assert forgetting.source_accuracy(lora.add_lora(models.load_base("scans-s", 5))) == \
        forgetting.source_accuracy(models.load_base("scans-s", 5))          # untouched: nothing forgotten


# --------------------------------------------------------------------------- merge
def test_merge_gives_a_plain_model_with_the_same_outputs(trained, x):
    import copy
    model = copy.deepcopy(trained[0])
    with torch.no_grad():
        before = model(x)
        merged = lora.merge_lora(model)
        assert torch.allclose(merged(x), before, atol=1e-5)
    assert merged is model and isinstance(merged, models.SmallCNN)
    assert lora.lora_layers(merged) == {}
    assert all(type(merged.backbone[i][0]) is nn.Conv2d for i in range(3))
    assert set(merged.state_dict()) == set(models.load_base("scans-s", 5).state_dict())
    assert forgetting.block_drift(merged)["block1"] > 0          # the update now lives in the weights
    plain = models.build("small", n_classes=5)
    plain.load_state_dict(merged.state_dict())                  # loads into a fresh SmallCNN
    with torch.no_grad():
        assert torch.allclose(plain(x), before, atol=1e-5)


def test_block_drift_of_an_unmerged_lora_model_equals_that_of_its_merge(trained):
    import copy
    model = trained[0]
    drift = forgetting.block_drift(model)
    assert lora.lora_layers(model)                                # measured without merging the model itself
    assert drift == forgetting.block_drift(lora.merge_lora(copy.deepcopy(model)))
    assert all(v > 0 for v in drift.values())
    assert forgetting.block_drift(_lora_model()) == {"block1": 0.0, "block2": 0.0, "block3": 0.0}


# --------------------------------------------------------------------------- the recipe
def test_lora_fine_tune_trains_the_head_first_then_adapters_only(few):
    repro.seed_everything(0)
    model = models.load_base("scans-s", n_classes=5)
    seen = []
    hist = recipes.lora_fine_tune(model, few, head_epochs=2, epochs=3, batch_size=5, seed=0, progress=False,
                                  callbacks=[lambda m, h: seen.append(len(lora.lora_layers(m)))])
    assert hist.extra["phase"] == [1.0, 1.0, 2.0, 2.0, 2.0] and len(hist) == 5
    assert seen == [0, 0, 3, 3, 3]                           # adapters arrive after the head-only epochs
    assert hist.label == "LoRA"
    assert models.count_parameters(model)["trainable"] == 2537
    untouched = models.load_base("scans-s", n_classes=5)
    for name, layer in lora.lora_layers(model).items():       # the pretrained weights never moved
        assert torch.equal(layer.base.weight, untouched.get_submodule(name).weight), name


def test_lora_fine_tune_checks_its_arguments_before_training(few):
    model = models.load_base("scans-s", n_classes=5)
    head = model.head.weight.detach().clone()
    with pytest.raises(ValueError, match="rank=12 is larger than"):
        recipes.lora_fine_tune(model, few, rank=12, progress=False)
    with pytest.raises(ValueError, match="Unknown block"):
        recipes.lora_fine_tune(model, few, blocks=("block9",), progress=False)
    with pytest.raises(ValueError, match="head_epochs must be greater than zero"):
        recipes.lora_fine_tune(model, few, head_epochs=0, progress=False)
    with pytest.raises(ValueError, match="lr must be greater than zero"):
        recipes.lora_fine_tune(model, few, lr=-1.0, progress=False)
    assert torch.equal(model.head.weight, head)                # nothing trained before the error
    with pytest.raises(ValueError, match="already has LoRA adapters"):
        recipes.lora_fine_tune(lora.add_lora(models.load_base("scans-s", n_classes=5)), few, progress=False)


# --------------------------------------------------------------------------- state size
def test_lora_state_dict_holds_adapters_and_head_only(trained):
    model = trained[0]
    state = lora.lora_state_dict(model)
    assert len(state) == 3 * 2 + 2
    size = lora.state_size(state)
    assert size == {"parameters": models.count_parameters(model)["trainable"],
                    "bytes": 4 * models.count_parameters(model)["trainable"]}
    full = lora.state_size(models.load_base("scans-s", 5))
    assert size["parameters"] < full["parameters"] / 5
    state["head.bias"] += 1                                      # a copy, not the model's own tensors
    assert not torch.equal(state["head.bias"], model.head.bias)


# --------------------------------------------------------------------------- bad input
def test_bad_input_is_explained():
    base = lambda: models.load_base("scans-s", n_classes=5)
    with pytest.raises(ValueError, match=r"rank=12 is larger than min\(in\*k\*k, out\) = 9 for the block1.*"
                                         r"Use rank <= 9, for example rank=4"):
        lora.add_lora(base(), rank=12)
    assert len(lora.lora_layers(lora.add_lora(base(), rank=12, blocks=("block2", "block3")))) == 2
    with pytest.raises(ValueError, match="rank must be greater than zero"):
        lora.add_lora(base(), rank=0)
    with pytest.raises(TypeError, match="rank must be an integer"):
        lora.add_lora(base(), rank=2.5)
    with pytest.raises(ValueError, match="alpha must be greater than zero"):
        lora.add_lora(base(), alpha=-1)
    with pytest.raises(ValueError, match="Unknown block 'block4'. Choose one of: 'block1', 'block2', 'block3'"):
        lora.add_lora(base(), blocks=("block1", "block4"))
    with pytest.raises(ValueError, match="head is not adapted"):
        lora.add_lora(base(), blocks=("head",))
    with pytest.raises(ValueError, match="blocks is empty"):
        lora.add_lora(base(), blocks=())
    with pytest.raises(ValueError, match="already has LoRA adapters"):
        lora.add_lora(lora.add_lora(base()))
    with pytest.raises(ValueError, match="no LoRA adapters to merge"):
        lora.merge_lora(base())
    with pytest.raises(ValueError, match="no LoRA adapters, so it has no LoRA weights"):
        lora.lora_state_dict(base())
    for call in (lora.add_lora, lora.merge_lora, lora.lora_state_dict):
        with pytest.raises(TypeError, match="must be a course model"):
            call(nn.Linear(3, 2))
    with pytest.raises(TypeError, match="wraps an nn.Conv2d or an nn.Linear"):
        lora.LoRALayer(nn.ReLU())
    with pytest.raises(ValueError, match="groups=1"):
        lora.LoRALayer(nn.Conv2d(4, 4, 3, groups=2))
    with pytest.raises(TypeError, match="state must be a state dict"):
        lora.state_size([1, 2])


def test_a_failed_add_lora_leaves_the_model_unchanged():
    model = models.load_base("scans-s", n_classes=5)
    with pytest.raises(ValueError):
        lora.add_lora(model, rank=12)
    assert lora.lora_layers(model) == {} and all(p.requires_grad for p in model.parameters())


# --------------------------------------------------------------------------- the forward pass: W x + s * B (A x)
def _ops_outputs(fn):
    """Run ``fn()`` and return the shapes of every tensor any aten op produced (forward and backward)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Record(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.shapes = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in (out if isinstance(out, (tuple, list)) else (out,)):
                if torch.is_tensor(t):
                    self.shapes.append((str(func), tuple(t.shape)))
            return out

    with Record() as rec:
        fn()
    return rec.shapes


@pytest.mark.parametrize("layer", [nn.Conv2d(6, 10, 3, padding=1), nn.Conv2d(6, 10, 3, stride=2, dilation=2),
                                   nn.Linear(12, 10)], ids=["conv", "conv-stride-dilation", "linear"])
def test_unmerged_forward_never_builds_the_merged_weight(layer, monkeypatch):
    adapter = lora.LoRALayer(layer, rank=2)
    with torch.no_grad():
        nn.init.normal_(adapter.B)
    v = torch.rand(3, 6, 9, 9) if isinstance(layer, nn.Conv2d) else torch.rand(3, 12)
    forbidden = {tuple(layer.weight.shape), (layer.weight.shape[0], layer.weight[0].numel())}

    def step():
        adapter.zero_grad()
        adapter(v).square().sum().backward()

    built = [(op, shape) for op, shape in _ops_outputs(step) if shape in forbidden]
    assert built == [], f"the forward or backward built a weight-sized tensor: {built}"
    assert adapter.A.grad is not None and adapter.B.grad is not None     # the adapters learn...
    assert layer.weight.grad is None                                     # ...the frozen W gets no weight gradient

    def must_not_be_called(self):
        raise AssertionError("LoRALayer.forward must not build W + delta")

    monkeypatch.setattr(lora.LoRALayer, "merged_weight", must_not_be_called)
    monkeypatch.setattr(lora.LoRALayer, "delta", must_not_be_called)
    step()                                                               # still runs without them


@pytest.mark.parametrize("layer", [nn.Conv2d(6, 10, 3, padding=1), nn.Conv2d(6, 10, 3, stride=2, dilation=2),
                                   nn.Linear(12, 10)], ids=["conv", "conv-stride-dilation", "linear"])
def test_unmerged_output_equals_the_merged_weights_output_to_rounding_error(layer):
    torch.manual_seed(0)
    adapter = lora.LoRALayer(layer, rank=3, alpha=6)
    v = torch.rand(4, 6, 9, 9) if isinstance(layer, nn.Conv2d) else torch.rand(4, 12)
    with torch.no_grad():
        nn.init.normal_(adapter.B)
        unmerged = adapter(v)
        w = adapter.merged_weight()
        if isinstance(layer, nn.Linear):
            merged = nn.functional.linear(v, w, layer.bias)
        else:
            merged = nn.functional.conv2d(v, w, layer.bias, layer.stride, layer.padding, layer.dilation)
        without = layer(v)
    scale = merged.abs().max()
    assert float((unmerged - merged).abs().max() / scale) < 1e-5
    assert float((unmerged - without).abs().max() / scale) > 1e-2        # the update does change the outputs


def test_merging_a_trained_model_is_an_equivalence_to_rounding_error(trained, x):
    import copy
    model = copy.deepcopy(trained[0])
    with torch.no_grad():
        before = model(x)
        changed = float((before - _plain_with_head(model)(x)).abs().max() / before.abs().max())
        after = lora.merge_lora(model)(x)
    assert changed > 1e-3                                                # the adapters changed the outputs
    assert float((after - before).abs().max() / before.abs().max()) < 1e-5


def _plain_with_head(model):
    plain = models.load_base("scans-s", n_classes=5)
    plain.head.load_state_dict(model.head.state_dict())
    return plain
