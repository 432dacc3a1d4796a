import shutil

import numpy as np
import pytest
import torch

from course_lib import data, models


def test_small_cnn_shapes_and_size():
    m = models.build("small", n_classes=5)
    x = torch.zeros(3, 1, 20, 20)
    assert m(x).shape == (3, 5)
    assert m.features(x).shape == (3, m.n_features)
    assert models.count_parameters(models.build("large", 10))["total"] <= 150_000
    assert [name for name, _ in m.backbone.named_children()][:3] == list(models.BLOCKS)


def test_wrong_input_shape_is_explained():
    m = models.build("small", n_classes=5)
    with pytest.raises(ValueError, match=r"shaped \(N, 1, H, W\)"):
        m(torch.zeros(3, 24, 24))
    with pytest.raises(ValueError, match="at least 2"):
        models.build("small", n_classes=1)
    with pytest.raises(ValueError, match="Unknown architecture 'huge'"):
        models.build("huge", n_classes=5)


@pytest.mark.parametrize("name", sorted(models.BASES))
def test_load_base_keeps_backbone_and_replaces_head(name):
    with_head = models.load_base(name, n_classes=10, keep_head=True)
    fresh = models.load_base(name, n_classes=5)
    assert fresh.head.out_features == 5
    for (k, a), (_, b) in zip(with_head.backbone.state_dict().items(), fresh.backbone.state_dict().items()):
        assert torch.equal(a, b), k
    untrained = models.build(models.BASES[name].arch, n_classes=5)
    assert not torch.equal(untrained.backbone.block1[0].weight, fresh.backbone.block1[0].weight)


def test_base_scores_its_source_task():
    from course_lib import train
    model = models.load_base("scans-s", n_classes=10, keep_head=True)
    assert train.evaluate(model, data.load("scans_test")).accuracy > 0.8


def test_unknown_base_and_bad_head():
    with pytest.raises(ValueError, match="Unknown base 'imagenet'.*'scans-s'"):
        models.load_base("imagenet", n_classes=5)
    with pytest.raises(ValueError, match="keep_head=True needs n_classes=10"):
        models.load_base("scans-s", n_classes=5, keep_head=True)


def test_corrupted_base_is_reported(tmp_path, monkeypatch):
    shutil.copytree(data.data_dir(), tmp_path / "data")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    data._VERIFIED.clear()
    path = tmp_path / "data" / models.BASES["scans-s"].file
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(data.DataFileError, match=r"scans-s\.npz is corrupted.*make data"):
        models.load_base("scans-s", n_classes=5)
    data._VERIFIED.clear()


def test_save_weights_round_trip(tmp_path):
    m = models.build("small", n_classes=5)
    path = models.save_weights(m, tmp_path / "w.npz")
    arrays = np.load(path, allow_pickle=False)
    assert set(arrays.files) == set(m.state_dict())


def test_freeze_and_unfreeze_by_block():
    m = models.build("small", n_classes=5)
    models.freeze(m, "backbone")
    assert models.trainable_parts(m) == ["head"]
    counts = models.count_parameters(m)
    assert counts["trainable"] == m.head.weight.numel() + m.head.bias.numel() < counts["total"]
    models.unfreeze(m, "block3")
    assert models.trainable_parts(m) == ["block3", "head"]
    models.freeze_up_to(m, 2)
    assert models.trainable_parts(m) == ["block2", "block3", "head"]
    models.freeze_up_to(m, 0)
    assert models.trainable_parts(m) == ["head"]
    models.unfreeze(m)
    assert models.count_parameters(m)["trainable"] == models.count_parameters(m)["total"]
    with pytest.raises(ValueError, match="Unknown part 'block9'"):
        models.freeze(m, "block9")
    with pytest.raises(ValueError, match="from 0 to 3"):
        models.freeze_up_to(m, 4)
    with pytest.raises(TypeError, match="SmallCNN"):
        models.freeze(torch.nn.Linear(2, 2))


def test_param_groups_are_discriminative():
    m = models.build("small", n_classes=5)
    groups = models.param_groups(m, 1e-3, decay=2.0)
    assert [g["name"] for g in groups] == ["head", "block3", "block2", "block1"]
    assert [g["lr"] for g in groups] == pytest.approx([1e-3, 5e-4, 2.5e-4, 1.25e-4])
    models.freeze(m, "block1")
    assert [g["name"] for g in models.param_groups(m, 1e-3)] == ["head", "block3", "block2"]
    with pytest.raises(ValueError, match="lr must be greater than zero"):
        models.param_groups(m, -1e-3)
    with pytest.raises(ValueError, match="decay must be at least 1"):
        models.param_groups(m, 1e-3, decay=0.5)
    models.freeze(m, "all")
    with pytest.raises(ValueError, match="no trainable parameters"):
        models.param_groups(m, 1e-3)


# --------------------------------------------------------------------------- issue 13: BatchNorm (notebook 11)
def _bn_base():
    return models.freeze(models.load_base("scans-bn", n_classes=5), "backbone")


def test_the_batchnorm_architecture_and_the_old_ones_unchanged():
    bn = models.build("small-bn", n_classes=5)
    assert [len(models.batchnorm_layers(models.build(a, 5))) for a in ("small", "large", "small-bn")] == [0, 0, 3]
    assert [type(m).__name__ for m in bn.backbone.block1] == ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"]
    assert bn.backbone.block1[0].bias is None                     # BatchNorm's shift replaces the conv bias
    assert bn(torch.zeros(2, 1, 20, 20)).shape == (2, 5) and bn.n_features == 64
    # the existing architectures keep exactly their weights' names and shapes (the shipped bases load into them)
    small = models.build("small", n_classes=10).state_dict()
    assert {k: tuple(v.shape) for k, v in small.items()} == {
        k: tuple(v.shape) for k, v in np.load(data.data_path(models.BASES["scans-s"].file)).items()}
    assert not hasattr(models.build("small", 5).backbone.block1[0], "running_mean")


def test_the_batchnorm_base_is_a_lesson_base_not_offered():
    card = models.BASES["scans-bn"]
    assert card.arch == "small-bn" and card.source == models.BASES["scans-s"].source and not card.conflicting
    assert card.lesson == "11_batchnorm_and_preprocessing"
    assert models.OFFERED_BASES == ("scans-s", "photos-l")         # the earlier notebooks' listings stay the same
    assert card.preprocessing["range"] == (0.0, 1.0) and card.preprocessing["size"] == (20, 20)
    assert "bright marks on a dark background" in card.preprocessing["polarity"]
    model = models.load_base("scans-bn", n_classes=10, keep_head=True)
    from course_lib import train
    assert train.evaluate(model, data.load("scans_test")).accuracy > 0.9


def _train_head(model, seed=0):
    from course_lib import recipes, regularize
    few = data.load("clinic").take_per_class(2, seed=seed)
    recipes.feature_extract(model, few, epochs=1, batch_size=1, augment=regularize.augmenter(seed=seed), seed=seed,
                            progress=False)
    return model


def test_requires_grad_does_not_freeze_the_running_statistics():
    model = _bn_base()
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    _train_head(model)
    after = model.backbone.state_dict()
    moved = [k for k in before if "running" in k and not torch.equal(before[k], after[k])]
    assert len(moved) == 6                                          # every running mean and variance moved
    assert all(torch.equal(before[k], after[k]) for k in before if "running" not in k and "num_batches" not in k)


def test_freeze_batchnorm_keeps_the_statistics_and_eval_mode_inside_fit():
    model = models.freeze_batchnorm(_bn_base())
    before = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("head")}
    _train_head(model)
    assert model.training and not any(layer.training for layer in models.batchnorm_layers(model))
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    model.train()                                                   # fit calls this every epoch
    assert not any(layer.training for layer in models.batchnorm_layers(model))
    models.freeze_batchnorm(model, frozen=False)                    # undone
    assert all(layer.training for layer in models.batchnorm_layers(model))
    model.eval()
    assert not any(layer.training for layer in models.batchnorm_layers(model))


def test_freeze_batchnorm_survives_a_copy_and_is_harmless_without_batchnorm():
    import copy
    model = copy.deepcopy(models.freeze_batchnorm(_bn_base()))
    assert not any(layer.training for layer in models.batchnorm_layers(model.train()))
    plain = models.freeze_batchnorm(models.build("small", 5))
    assert plain.train().training and models.batchnorm_layers(plain) == []


def test_freeze_batchnorm_bad_calls():
    with pytest.raises(TypeError, match="must be a course model"):
        models.freeze_batchnorm(torch.nn.BatchNorm2d(3))
    with pytest.raises(TypeError, match="frozen must be True or False"):
        models.freeze_batchnorm(models.build("small-bn", 5), frozen="yes")
    with pytest.raises(TypeError, match="torch.nn.Module"):
        models.batchnorm_layers("scans-bn")
