"""course_lib.layers: first-k-blocks transfer, what the blocks respond to, and what a base costs (notebook 00)."""

import inspect
import math

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from course_lib import build, data, layers, models  # noqa: E402
from course_lib.repro import seed_everything  # noqa: E402


@pytest.fixture(scope="module")
def base():
    return models.load_base("scans-s", n_classes=10, keep_head=True)


@pytest.fixture(scope="module")
def scans():
    return data.load("scans_test")


def _same(a, b):
    return bool(torch.equal(a.detach(), b.detach()))


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_the_first_k_blocks_are_the_bases_and_frozen_the_rest_is_fresh_and_trainable(k, base):
    seed_everything(0)
    fresh = models.build("small", n_classes=5)
    seed_everything(0)
    model = layers.transfer_blocks("scans-s", k, n_classes=5)
    for i, block in enumerate(models.BLOCKS):
        w = getattr(model.backbone, block)[0].weight
        if i < k:
            assert _same(w, getattr(base.backbone, block)[0].weight) and not w.requires_grad
        else:   # the random start a from-scratch model gets after the same seed
            assert _same(w, getattr(fresh.backbone, block)[0].weight) and w.requires_grad
    assert models.trainable_parts(model) == [*models.BLOCKS[k:], "head"]
    assert model.head.out_features == 5 and model.kept_blocks == k and model.kept_from == "scans-s"


def test_the_control_keeps_random_blocks_frozen(base):
    seed_everything(1)
    fresh = models.build("small", n_classes=5)
    seed_everything(1)
    control = layers.transfer_blocks("scans-s", 2, n_classes=5, pretrained=False)
    w = control.backbone.block1[0].weight
    assert _same(w, fresh.backbone.block1[0].weight) and not _same(w, base.backbone.block1[0].weight)
    assert models.trainable_parts(control) == ["block3", "head"] and control.kept_from == "random start"


def test_a_large_base_gives_a_large_model():
    model = layers.transfer_blocks("photos-l", 1, n_classes=3)
    assert model.width == 32 and models.trainable_parts(model) == ["block2", "block3", "head"]


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(base="scans-x", n_blocks=1, n_classes=5), ValueError, "Unknown base 'scans-x'"),
    (dict(base="scans-s", n_blocks=-1, n_classes=5), ValueError, "from 0 to 3"),
    (dict(base="scans-s", n_blocks=1.0, n_classes=5), ValueError, "whole number"),
    (dict(base="scans-s", n_blocks=1, n_classes=0), ValueError, "n_classes must be greater than zero"),
    (dict(base="scans-s", n_blocks=1, n_classes=5, pretrained="no"), TypeError, "pretrained must be True"),
])
def test_transfer_blocks_explains_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        layers.transfer_blocks(**kwargs)


def test_block_responses_shapes_and_mode(base, scans):
    base.train()
    peaks = layers.block_responses(base, scans.images[:7], "block2")
    maps = layers.block_responses(base, scans.images[:7], "block2", peak=False)
    assert base.training                          # the mode is left as it was
    base.eval()
    assert peaks.shape == (7, 32) and maps.shape == (7, 32, 5, 5)
    assert np.allclose(peaks, maps.max(axis=(2, 3)))
    with torch.no_grad():   # block3's maps are the backbone's features before the average pool
        feats = base.features(scans.tensors()[0][:7]).numpy()
    full = layers.block_responses(base, scans, "block3", peak=False)[:7]
    assert np.allclose(full.mean(axis=(2, 3)), feats, atol=1e-5)
    with pytest.raises(ValueError, match="Unknown block 'block4'"):
        layers.block_responses(base, scans.images[:2], "block4")
    with pytest.raises(TypeError, match="course model"):
        layers.block_responses("scans-s", scans.images[:2])


def test_class_purity_is_near_chance_for_general_detectors_and_one_for_a_one_class_detector(base, scans):
    p1, p3 = (layers.class_purity(base, scans, b) for b in ("block1", "block3"))
    assert p1.shape == (16,) and p3.shape == (64,)
    assert ((p1 >= 0.1) & (p1 <= 1)).all()
    assert p1.mean() < p3.mean()                  # the first block is the more general one
    # a set where one class is bright and the rest dark: every detector's top images are that class
    images = scans.images.copy()
    images[scans.labels != 0] //= 8
    assert (layers.class_purity(base, scans.replace(images=images), "block1", top=20) == 1).all()
    with pytest.raises(ValueError, match="top must be"):
        layers.class_purity(base, scans, "block1", top=0)
    with pytest.raises(TypeError, match="needs an ImageSet"):
        layers.class_purity(base, scans.images, "block1")


def test_plots_draw_one_grid(base, scans):
    fig = layers.plot_first_block(base, data.load("clinic").images[0])
    assert len(fig.axes) == 1 and "16 filters" in fig.axes[0].get_title()
    plt.close(fig)
    fig = layers.plot_top_images(base, scans, "block3", channels=4, top=3)
    assert "4 channels" in fig.axes[0].get_title()
    plt.close(fig)
    with pytest.raises(ValueError, match="one image shaped"):
        layers.plot_first_block(base, scans.images[:2])
    with pytest.raises(ValueError, match="block1 has 16 channels"):
        layers.plot_top_images(base, scans, "block1", channels=17)


@pytest.mark.parametrize("n, epochs, batch, steps", [(50, 50, 16, 200), (15, 300, 16, 300), (8000, 30, 64, 3750),
                                                     (20000, 30, 64, 9390)])
def test_training_cost_counts_the_last_partial_batch(n, epochs, batch, steps):
    assert layers.training_cost(n, epochs, batch) == {"steps": steps, "images": n * epochs}


def test_training_cost_explains_bad_arguments():
    with pytest.raises(ValueError, match="epochs must be greater than zero"):
        layers.training_cost(50, 0, 16)
    with pytest.raises(TypeError, match="batch_size must be an integer"):
        layers.training_cost(50, 10, 16.0)


def test_pretraining_cost_follows_the_build_recipe():
    assert "batch_size=64" in inspect.getsource(build.build_base)        # layers.PRETRAIN_BATCH_SIZE mirrors it
    for name, spec in build.PRETRAIN.items():
        cost = layers.pretraining_cost(name)
        n = spec.n_per_class * 10
        manifest = data.read_manifest()
        (entry,) = [manifest[section][name] for section in ("bases", "conflicting_bases", "lesson_bases")
                    if name in manifest.get(section, {})]
        assert cost["pretrain_images"] == n == entry["pretrain_images"]
        assert cost["steps"] == math.ceil(n / 64) * spec.epochs and cost["images"] == n * spec.epochs
    with pytest.raises(ValueError, match="Unknown base"):
        layers.pretraining_cost("imagenet")
