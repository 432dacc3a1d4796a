"""course_lib.regularize: the gap, the loss rise, the plateau, over-confidence, wrong labels, L2-SP and augmentation (notebook 06)."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from course_lib import data, models, regularize, train
from course_lib.repro import seed_everything
from course_lib.train import History


@pytest.fixture(scope="module")
def tiny():
    return data.load("clinic").take_per_class(3, seed=0)


def _hist(train_acc, val_acc, val_loss=None):
    n = len(train_acc)
    return History(epoch=list(range(1, n + 1)), train_acc=list(train_acc), val_acc=list(val_acc),
                   val_loss=list(val_loss if val_loss is not None else [1.0] * n))


# --------------------------------------------------------------------------- gap and plateau
def test_gap_per_epoch_and_final():
    h = _hist([0.5, 1.0], [0.5, 0.7])
    assert regularize.generalization_gap(h).tolist() == pytest.approx([0.0, 0.3])
    assert regularize.generalization_gap(h, final=True) == pytest.approx(0.3)


def test_gap_needs_a_validation_curve():
    h = History(epoch=[1], train_acc=[1.0])
    with pytest.raises(ValueError, match="no validation curve"):
        regularize.generalization_gap(h)
    with pytest.raises(TypeError, match="needs a History"):
        regularize.generalization_gap([0.1, 0.2])
    with pytest.raises(ValueError, match="no completed epochs"):
        regularize.generalization_gap(History())


def test_plateau_follows_the_early_stopping_rule():
    h = _hist([0.5] * 8, [0.1, 0.2, 0.5, 0.5, 0.4, 0.4, 0.4, 0.6], [1.0, 0.9, 0.5, 0.6, 0.7, 0.8, 0.9, 0.4])
    assert regularize.plateau_epoch(h, patience=3) == 3
    assert regularize.plateau_epoch(h, patience=10) == 8        # never waits 10 epochs: the best of the run
    assert regularize.plateau_epoch(h, patience=2, metric="val_acc") == 3


def test_plateau_matches_fit_early_stopping(tiny):
    seed_everything(0)
    model = models.load_base("scans-s", n_classes=5)
    long = train.fit(model, tiny, tiny, epochs=12, lr=1e-2, seed=0, progress=False)
    seed_everything(0)
    model = models.load_base("scans-s", n_classes=5)
    stopped = train.fit(model, tiny, tiny, epochs=12, lr=1e-2, seed=0, early_stopping=2, progress=False)
    assert regularize.plateau_epoch(long, patience=2) == stopped.best_epoch


def test_plateau_rejects_bad_arguments():
    h = _hist([0.5, 0.6], [0.5, 0.6])
    with pytest.raises(ValueError, match="metric must be 'val_loss' or 'val_acc'"):
        regularize.plateau_epoch(h, metric="train_acc")
    with pytest.raises(ValueError, match="patience must be greater than zero"):
        regularize.plateau_epoch(h, patience=0)


# --------------------------------------------------------------------------- L2-SP
def test_l2sp_is_zero_at_the_start_and_grows_with_distance():
    model = models.load_base("scans-s", n_classes=5)
    penalty = regularize.l2sp(model, alpha=0.1, beta=0.0)
    assert penalty(model).item() == 0.0
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(0.01)
    n = sum(p.numel() for p in model.backbone.parameters())
    assert penalty(model).item() == pytest.approx(0.1 / 2 * n * 0.01 ** 2, rel=1e-3)


def test_l2sp_head_term_is_plain_decay():
    model = models.load_base("scans-s", n_classes=5)
    penalty = regularize.l2sp(model, alpha=0.0, beta=0.02)
    assert penalty(model).item() == pytest.approx(0.01 * (model.head.weight ** 2).sum().item(), rel=1e-5)


def test_l2sp_keeps_the_backbone_closer(tiny):
    moved = {}
    for name, reg in (("plain", None), ("l2sp", lambda m: regularize.l2sp(m, alpha=1.0))):
        seed_everything(0)
        model = models.load_base("scans-s", n_classes=5)
        start = [p.detach().clone() for p in model.backbone.parameters()]
        train.fit(model, tiny, epochs=15, lr=3e-3, seed=0, regularizer=reg(model) if reg else None, progress=False)
        moved[name] = sum(((p - s) ** 2).sum().item() for p, s in zip(model.backbone.parameters(), start))
    assert moved["l2sp"] < moved["plain"]


def test_l2sp_rejects_bad_arguments():
    model = models.load_base("scans-s", n_classes=5)
    with pytest.raises(ValueError, match="alpha must be zero or more"):
        regularize.l2sp(model, alpha=-1)
    with pytest.raises(ValueError, match="both 0"):
        regularize.l2sp(model, alpha=0, beta=0)
    with pytest.raises(TypeError, match="backbone and a head"):
        regularize.l2sp(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="made for another model"):
        regularize.l2sp(model)(models.load_base("photos-l", n_classes=5))


# --------------------------------------------------------------------------- augmentation
def test_augmenter_is_reproducible_and_leaves_global_rng_alone():
    batch = torch.rand(6, 1, 20, 20)
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a = regularize.augmenter(seed=1)(batch)
    assert torch.equal(torch.rand(1), expected_next)        # the global stream was not touched
    b = regularize.augmenter(seed=1)(batch)
    c = regularize.augmenter(seed=2)(batch)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == batch.shape and a.min() >= 0 and a.max() <= 1


def test_augmenter_moves_each_image_differently():
    img = torch.zeros(1, 1, 20, 20)
    img[..., 4:16, 9:11] = 1.0
    out = regularize.augmenter(noise=0.0, seed=0)(img.repeat(4, 1, 1, 1))
    assert len({tuple(o.flatten().tolist()) for o in out}) == 4


def test_two_augmented_runs_are_identical(tiny):
    results = []
    for _ in range(2):
        seed_everything(0)
        model = models.load_base("scans-s", n_classes=5)
        results.append(train.fit(model, tiny, epochs=2, seed=0, augment=regularize.augmenter(seed=0),
                                 progress=False).train_loss)
    assert results[0] == results[1]


def test_augmenter_rejects_bad_arguments():
    with pytest.raises(ValueError, match="shift must be below 0.5"):
        regularize.augmenter(shift=0.6)
    with pytest.raises(ValueError, match="scale must be a"):
        regularize.augmenter(scale=(1.2, 0.8))
    with pytest.raises(ValueError, match="rotation must be zero or more"):
        regularize.augmenter(rotation=-5)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        regularize.augmenter(seed=-1)
    with pytest.raises(ValueError, match=r"shaped \(N, C, H, W\)"):
        regularize.augmenter()(torch.zeros(20, 20))


# --------------------------------------------------------------------------- loss rise
def test_loss_rise_is_last_minus_minimum():
    h = _hist([0.5] * 5, [0.5] * 5, [1.0, 0.5, 0.4, 0.6, 0.9])
    assert regularize.loss_rise(h) == pytest.approx(0.5)
    falling = _hist([0.5] * 3, [0.5] * 3, [1.0, 0.8, 0.7])
    assert regularize.loss_rise(falling) == 0.0


def test_loss_rise_needs_a_validation_loss():
    h = History(epoch=[1, 2], train_acc=[0.5, 0.6], val_acc=[0.5, 0.6])
    with pytest.raises(ValueError, match="no validation loss curve"):
        regularize.loss_rise(h)
    with pytest.raises(TypeError, match="needs a History"):
        regularize.loss_rise({"val_loss": [1.0]})


# --------------------------------------------------------------------------- over-confidence
def test_overconfidence_is_confidence_minus_accuracy(tiny):
    model = models.load_base("scans-s", n_classes=5)
    ev = train.evaluate(model, tiny)
    expected = ev.probs.max(1).mean() - ev.accuracy
    assert regularize.overconfidence(ev) == pytest.approx(expected)
    sure_and_wrong = SimpleNamespace(probs=np.array([[1.0, 0.0], [1.0, 0.0]]), accuracy=0.0)
    calibrated = SimpleNamespace(probs=np.array([[0.5, 0.5], [0.5, 0.5]]), accuracy=0.5)
    assert regularize.overconfidence(sure_and_wrong) == pytest.approx(1.0)
    assert regularize.overconfidence(calibrated) == pytest.approx(0.0)


def test_overconfidence_rejects_what_is_not_an_evaluation():
    with pytest.raises(TypeError, match="needs an Evaluation"):
        regularize.overconfidence([0.9, 0.1])
    with pytest.raises(ValueError, match=r"\(images, classes\) array"):
        regularize.overconfidence(SimpleNamespace(probs=np.array([0.9, 0.1]), accuracy=1.0))


# --------------------------------------------------------------------------- wrong labels
def test_flip_labels_changes_exactly_n_labels_to_other_classes():
    few = data.load("clinic").take_per_class(5, seed=0)
    before = few.labels.copy()
    noisy = regularize.flip_labels(few, 4, seed=1)
    changed = np.flatnonzero(noisy.labels != few.labels)
    assert changed.tolist() == noisy.meta["flipped"].tolist() and len(changed) == 4
    assert noisy.meta["true_labels"].tolist() == few.labels[changed].tolist()
    assert np.array_equal(noisy.images, few.images) and np.array_equal(few.labels, before)   # original untouched
    assert noisy.labels.min() >= 0 and noisy.labels.max() < few.n_classes


def test_flip_labels_is_seeded():
    few = data.load("clinic").take_per_class(5, seed=0)
    a, b = regularize.flip_labels(few, 3, seed=2), regularize.flip_labels(few, 3, seed=2)
    c = regularize.flip_labels(few, 3, seed=3)
    assert np.array_equal(a.labels, b.labels) and not np.array_equal(a.labels, c.labels)
    assert np.array_equal(regularize.flip_labels(few, 0).labels, few.labels)


def test_flip_labels_rejects_bad_arguments():
    few = data.load("clinic").take_per_class(2, seed=0)
    with pytest.raises(ValueError, match="n must be a whole number from 0 to 10"):
        regularize.flip_labels(few, 11)
    with pytest.raises(ValueError, match="n must be a whole number"):
        regularize.flip_labels(few, 1.5)
    with pytest.raises(TypeError, match="needs an ImageSet"):
        regularize.flip_labels(few.labels, 1)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        regularize.flip_labels(few, 1, seed=-1)
