"""course_lib.imbalance: skewed data sets, class weights, logit adjustment, the do-nothing baseline."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib import data, imbalance, models, train  # noqa: E402
from course_lib.imbalance import (class_counts, class_prior, class_weights, load_digits_imageset,  # noqa: E402
                                  logit_adjust, logit_adjusted, majority_baseline, make_imbalanced,
                                  one_vs_rest, oversample, precision_recall_plot)
from course_lib.train import Evaluation  # noqa: E402


@pytest.fixture(scope="module")
def toy():
    """A 3-class set with 40 images per class and a group id per image."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 40)
    images = rng.integers(0, 256, size=(120, 20, 20), dtype=np.uint8)
    return data.ImageSet(images, labels, ["a", "b", "c"], "toy", groups=np.arange(120))


@pytest.fixture(scope="module")
def clinic_test():
    return data.load("clinic_test")


def test_module_names_its_notebook():      # its doctests run in test_docstrings.py
    assert "Taught in ``03_class_imbalance``" in imbalance.__doc__


# --------------------------------------------------------------------------- one_vs_rest
def test_one_vs_rest_by_name_and_by_id(clinic_test):
    by_name = one_vs_rest(clinic_test, "flag")
    by_id = one_vs_rest(clinic_test, 4)
    assert by_name.class_names == ["other", "flag"] == by_id.class_names
    assert np.array_equal(by_name.labels, by_id.labels)
    assert np.array_equal(by_name.labels, (clinic_test.labels == 4).astype(int))
    assert by_name.images is clinic_test.images and np.array_equal(by_name.groups, clinic_test.groups)


def test_one_vs_rest_rejects_unknown_classes_and_single_class_sets(toy):
    with pytest.raises(ValueError, match=r"Unknown class 'z'.*0 \('a'\), 1 \('b'\), 2 \('c'\)"):
        one_vs_rest(toy, "z")
    with pytest.raises(ValueError, match="Unknown class id 3"):
        one_vs_rest(toy, 3)
    with pytest.raises(TypeError, match="id .an int. or its name"):
        one_vs_rest(toy, 1.5)
    only_a = toy.subset(np.flatnonzero(toy.labels == 0))
    with pytest.raises(ValueError, match="only images of class 'a'"):
        one_vs_rest(only_a, "a")
    with pytest.raises(TypeError, match="needs an ImageSet"):
        one_vs_rest(np.zeros((3, 20, 20)), 0)


# --------------------------------------------------------------------------- make_imbalanced
def test_make_imbalanced_keeps_the_majority_and_cuts_the_minority_to_the_fraction(toy):
    skewed = make_imbalanced(toy, "c", fraction=0.1, seed=0)
    counts = skewed.class_counts()
    assert counts[:2] == [40, 40]
    assert counts[2] == round(0.1 * 80 / 0.9)            # 9 of 89 images
    assert abs(counts[2] / len(skewed) - 0.1) < 0.01
    assert skewed.groups is not None and len(skewed.groups) == len(skewed)


def test_make_imbalanced_is_seeded(toy):
    a = make_imbalanced(toy, 2, 0.1, seed=1)
    b = make_imbalanced(toy, 2, 0.1, seed=1)
    c = make_imbalanced(toy, 2, 0.1, seed=2)
    assert np.array_equal(a.groups, b.groups)
    assert not np.array_equal(a.groups, c.groups)


def test_make_imbalanced_with_several_minority_classes(toy):
    skewed = make_imbalanced(toy, ["b", "c"], fraction=0.1, seed=0)
    n = round(0.1 * 40 / 0.8)
    assert skewed.class_counts() == [40, n, n]


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_make_imbalanced_rejects_a_fraction_outside_0_1(toy, fraction):
    with pytest.raises(ValueError, match=r"fraction must lie between 0.0 and 1.0 .exclusive.*0\.05 gives a 95/5"):
        make_imbalanced(toy, "c", fraction)


def test_make_imbalanced_bad_inputs_say_what_to_do(toy):
    with pytest.raises(TypeError, match="fraction must be a number"):
        make_imbalanced(toy, "c", "5%")
    with pytest.raises(ValueError, match="Unknown class 'flag'"):
        make_imbalanced(toy, "flag", 0.05)
    with pytest.raises(ValueError, match=r"needs 120 images of class 'c' but 'toy' has only 40\. "
                                         r"Ask for fraction <= 0\.333"):
        make_imbalanced(toy, "c", 0.6)
    with pytest.raises(ValueError, match=r"keeps 0 images of each minority class: an empty class\. "
                                         r"Use fraction >= 0\.0123"):
        make_imbalanced(toy, "c", 0.005)
    assert make_imbalanced(toy, "c", 1 / 81).class_counts() == [40, 40, 1]      # the fraction it suggests works
    with pytest.raises(ValueError, match="would fill 120% of the data set"):
        make_imbalanced(toy, ["b", "c"], 0.6)
    with pytest.raises(ValueError, match="nothing is left to be the majority"):
        make_imbalanced(toy.subset(np.flatnonzero(toy.labels > 0)), ["b", "c"], 0.3)
    with pytest.raises(ValueError, match="listed twice"):
        make_imbalanced(toy, ["c", 2], 0.1)
    with pytest.raises(ValueError, match="at least one minority class"):
        make_imbalanced(toy, [], 0.1)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        make_imbalanced(toy, "c", 0.1, seed=-1)
    with pytest.raises(TypeError, match="needs an ImageSet"):
        make_imbalanced([1, 2, 3], 0, 0.1)


# --------------------------------------------------------------------------- oversample
def test_oversample_balances_and_keeps_every_original(toy):
    skewed = make_imbalanced(toy, "c", 0.1, seed=0)
    balanced = oversample(skewed, seed=0)
    assert balanced.class_counts() == [40, 40, 40]
    assert set(skewed.groups) == set(balanced.groups)                 # every original image is still there
    rare = balanced.groups[balanced.labels == 2]
    assert len(set(rare)) == skewed.class_counts()[2]                 # the rare ones are only repeated


def test_oversample_cannot_invent_a_class(toy):
    missing = data.ImageSet(toy.images[:80], toy.labels[:80], ["a", "b", "c"], "toy")
    with pytest.raises(ValueError, match=r"no images of \['c'\]"):
        oversample(missing)


# --------------------------------------------------------------------------- counts, prior, weights
def test_counts_and_prior():
    assert class_counts([0, 0, 1, 2, 2, 2]) == [2, 1, 3]
    assert class_counts(np.array([0, 0]), n_classes=3) == [2, 0, 0]
    assert np.allclose(class_prior([0, 0, 0, 1]), [0.75, 0.25])


def test_prior_and_weights_reject_an_empty_class():
    with pytest.raises(ValueError, match=r"Class\(es\) \[1\] have no examples"):
        class_prior([0, 0, 2], n_classes=3)
    with pytest.raises(ValueError, match="weight would be infinite"):
        class_weights([0, 0, 2], n_classes=3)


def test_inverse_weights_give_each_class_the_same_total_and_keep_the_loss_scale():
    labels = np.array([0] * 95 + [1] * 5)
    w = np.array(class_weights(labels))
    counts = np.bincount(labels)
    assert np.isclose(w[0] * counts[0], w[1] * counts[1])
    assert np.isclose((w * counts).sum() / counts.sum(), 1.0)
    assert w[1] / w[0] == pytest.approx(19.0)


def test_sqrt_and_effective_weights_are_gentler_than_inverse():
    labels = np.array([0] * 95 + [1] * 5)
    ratio = lambda w: w[1] / w[0]
    inverse, sqrt = class_weights(labels), class_weights(labels, kind="sqrt")
    assert 1 < ratio(sqrt) < ratio(inverse)
    assert ratio(sqrt) == pytest.approx(np.sqrt(19))
    assert class_weights(labels, kind="effective", beta=1e-9) == pytest.approx([1.0, 1.0])
    assert ratio(class_weights(labels, kind="effective", beta=0.9999)) == pytest.approx(ratio(inverse), rel=0.01)


def test_weights_bad_inputs():
    with pytest.raises(ValueError, match="Unknown kind of class weights 'balanced'"):
        class_weights([0, 1], kind="balanced")
    with pytest.raises(ValueError, match="beta must lie between 0.0 and 1.0"):
        class_weights([0, 1], kind="effective", beta=1.0)
    with pytest.raises(TypeError, match="integer class ids"):
        class_weights([0.0, 1.0])
    with pytest.raises(ValueError, match="1-D array"):
        class_weights([[0, 1]])
    with pytest.raises(ValueError, match="labels is empty"):
        class_weights([])
    with pytest.raises(ValueError, match=r"must lie in 0\.\.1"):
        class_weights([0, 1, 2], n_classes=2)


def test_weights_accept_an_imageset_and_feed_fit(toy):
    skewed = make_imbalanced(toy, "c", 0.1, seed=0)
    w = class_weights(skewed)
    assert len(w) == 3 and w[2] > w[0]
    model = models.build("small", n_classes=3)
    hist = train.fit(model, skewed, epochs=1, lr=1e-3, class_weights=w, progress=False)
    assert len(hist) == 1


# --------------------------------------------------------------------------- logit adjustment
def test_logit_adjust_subtracts_tau_log_prior_and_keeps_the_type():
    logits = np.array([[1.0, 0.0], [0.0, 1.0]])
    prior = [0.9, 0.1]
    out = logit_adjust(logits, prior, tau=0.5)
    assert isinstance(out, np.ndarray)
    assert np.allclose(out, logits - 0.5 * np.log(prior))
    t = logit_adjust(torch.tensor(logits, dtype=torch.float32), prior)
    assert torch.is_tensor(t) and t.dtype == torch.float32
    assert np.allclose(t.numpy(), logits - np.log(prior), atol=1e-6)
    assert np.allclose(logit_adjust(logits, prior, tau=0), logits)


def test_binary_logit_adjustment_is_a_threshold_at_the_prior():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(500, 2)) * 3
    prior = np.array([0.95, 0.05])
    p1 = np.exp(logits[:, 1]) / np.exp(logits).sum(1)
    assert np.array_equal(logit_adjust(logits, prior).argmax(1) == 1, p1 > prior[1])


def test_logit_adjust_bad_inputs():
    with pytest.raises(ValueError, match="shaped \\(N, n_classes\\)"):
        logit_adjust(np.zeros(3), [0.5, 0.5])
    with pytest.raises(ValueError, match="one share per class \\(3 numbers"):
        logit_adjust(np.zeros((2, 3)), [0.5, 0.5])
    with pytest.raises(ValueError, match="must be positive shares"):
        logit_adjust(np.zeros((2, 2)), [1.0, 0.0])
    with pytest.raises(ValueError, match="must sum to 1.*If these are counts"):
        logit_adjust(np.zeros((2, 2)), [95, 5])
    with pytest.raises(ValueError, match="tau must be zero or more"):
        logit_adjust(np.zeros((2, 2)), [0.5, 0.5], tau=-1)


def test_logit_adjusted_model_matches_logit_adjust_and_leaves_the_original():
    torch.manual_seed(0)
    model = models.build("small", n_classes=3)
    before = model.head.bias.detach().clone()
    prior = [0.8, 0.15, 0.05]
    fixed = logit_adjusted(model, prior, tau=1.5)
    x = torch.rand(4, 1, 20, 20)
    with torch.no_grad():
        assert torch.allclose(fixed(x), logit_adjust(model(x), prior, tau=1.5), atol=1e-5)
    assert torch.equal(model.head.bias, before)
    with pytest.raises(TypeError, match="linear `head`"):
        logit_adjusted(torch.nn.Linear(3, 2), [0.5, 0.5])
    with pytest.raises(ValueError, match="one share per class"):
        logit_adjusted(model, [0.5, 0.5])


# --------------------------------------------------------------------------- baseline and plots
def test_majority_baseline_scores_the_majority_share(toy):
    skewed = make_imbalanced(toy, "c", 0.1, seed=0)
    ev = majority_baseline(skewed, skewed)
    assert isinstance(ev, Evaluation)
    assert ev.accuracy == pytest.approx(40 / len(skewed))           # classes a and b tie: a wins
    assert ev.recall.tolist() == [1.0, 0.0, 0.0]
    assert ev.balanced_accuracy == pytest.approx(1 / 3)
    assert "accuracy" in ev.table()
    other = data.ImageSet(toy.images, toy.labels, ["x", "y", "z"], "other")
    with pytest.raises(ValueError, match="compare sets of the same task"):
        majority_baseline(skewed, other)


def test_precision_recall_plot_marks_the_right_points():
    y = np.array([0, 0, 0, 0, 1, 1])
    p1 = np.array([0.1, 0.2, 0.6, 0.3, 0.7, 0.4])
    ev = Evaluation(accuracy=0, balanced_accuracy=0, loss=0, per_class=[], confusion=None,
                    y_true=y, y_pred=(p1 > 0.5).astype(int), probs=np.stack([1 - p1, p1], 1))
    fig = precision_recall_plot(ev, thresholds={"half": 0.5, "low": 0.35})
    assert fig.operating_points["half"] == (0.5, 0.5, 0.5)            # flags 0.6 (wrong) and 0.7 (right)
    assert fig.operating_points["low"] == (0.35, 2 / 3, 1.0)          # adds 0.4 (right)
    plt.close(fig)


def test_precision_recall_plot_bad_inputs():
    ev = Evaluation(accuracy=0, balanced_accuracy=0, loss=0, per_class=[], confusion=None,
                    y_true=np.zeros(3, int), y_pred=np.zeros(3, int), probs=np.tile([0.9, 0.1], (3, 1)))
    with pytest.raises(ValueError, match="has no examples of class 1"):
        precision_recall_plot(ev)
    with pytest.raises(ValueError, match="positive must be a class id from 0 to 1"):
        precision_recall_plot(ev, positive=2)
    ev.y_true = np.array([0, 1, 0])
    with pytest.raises(ValueError, match="threshold 'x' must lie between 0.0 and 1.0"):
        precision_recall_plot(ev, thresholds={"x": 1.5})
    with pytest.raises(TypeError, match="needs an Evaluation"):
        precision_recall_plot([0.1, 0.2])
    plt.close("all")


# --------------------------------------------------------------------------- real digits
def test_load_digits_imageset():
    digits = load_digits_imageset()
    assert digits.images.shape == (1797, 20, 20) and digits.images.dtype == np.uint8
    assert digits.n_classes == 10 and digits.class_counts()[0] == 178
    assert digits.images.max() == 255 and digits.images[:, 0, 0].max() == 0   # bright ink on a dark ground
    small = load_digits_imageset(size=8)
    from sklearn.datasets import load_digits
    assert np.array_equal(small.images, np.round(load_digits().images / 16 * 255).astype(np.uint8))
    with pytest.raises(ValueError, match="at least 8"):
        load_digits_imageset(size=4)
    with pytest.raises(TypeError, match="size must be an integer"):
        load_digits_imageset(size=20.0)


def test_threshold_for_recall_finds_the_highest_threshold_that_reaches_the_recall():
    from course_lib.train import Evaluation
    probs = np.array([[.9, .1], [.8, .2], [.6, .4], [.7, .3], [.2, .8], [.5, .5], [.95, .05]])
    y = np.array([0, 0, 0, 1, 1, 1, 1])
    ev = Evaluation(accuracy=0.5, balanced_accuracy=0.5, loss=1.0, per_class=[], confusion=None,
                    y_true=y, y_pred=probs.argmax(1), probs=probs)
    # the positives score .8, .5, .3, .05: one, two, three and four of the four are found at those thresholds
    assert [imbalance.threshold_for_recall(ev, r) for r in (0.25, 0.5, 0.6, 0.75, 1.0)] == [.8, .5, .3, .3, .05]
    with pytest.raises(ValueError, match="no example of class 1"):
        imbalance.threshold_for_recall(Evaluation(0, 0, 0, [], None, y_true=np.zeros(3, int), y_pred=np.zeros(3),
                                                  probs=np.full((3, 2), .5)), 0.5)
    with pytest.raises(TypeError, match="needs an Evaluation"):
        imbalance.threshold_for_recall(probs, 0.5)
    with pytest.raises(ValueError):
        imbalance.threshold_for_recall(ev, 1.5)
