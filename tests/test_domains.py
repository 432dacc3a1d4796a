"""course_lib.domains: distances between a target and a base's source, and the base ranking (notebook 04)."""

import numpy as np
import pytest

from course_lib import data, domains, models


def test_frechet_distance_is_zero_for_one_cloud_and_grows_with_a_shift():
    x = np.random.default_rng(1).normal(size=(500, 4))
    assert domains.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)
    near, far = domains.frechet_distance(x, x + 0.5), domains.frechet_distance(x, x + 2.0)
    assert near == pytest.approx(4 * 0.25) and far == pytest.approx(4 * 4.0) and near < far
    # twice as wide: trace(C + 4C - 2 * 2C) = trace(C), plus the (tiny) shift of the sample mean
    expected = np.trace(np.cov(x, rowvar=False)) + (x.mean(0) ** 2).sum()
    assert domains.frechet_distance(x, 2 * x) == pytest.approx(expected, rel=1e-6)


TWO = ["scans-s", "photos-l"]     # named explicitly: models.BASES may hold more bases than these two


def test_near_base_ranks_first_for_the_clinic_by_both_measures():
    clinic = data.load("clinic")
    ranking = dict(domains.rank_bases(clinic, bases=TWO))
    assert ranking["scans-s"] < 1.0 < ranking["photos-l"]
    assert domains.pixel_distance(data.load("scans_test"), clinic) < domains.pixel_distance(
        data.load("photos_test"), clinic)
    by_pixel = domains.rank_bases(clinic, bases=TWO[::-1], by="pixel", n=200)
    assert [name for name, _ in by_pixel] == TWO
    assert by_pixel[0][1] == pytest.approx(round(domains.pixel_distance(clinic, data.load("scans_test"), n=200), 4))


def test_rank_bases_defaults_to_every_base_closest_first():
    ranking = domains.rank_bases(data.load("clinic"), n=100)
    assert sorted(name for name, _ in ranking) == sorted(models.BASES)
    assert [d for _, d in ranking] == sorted(d for _, d in ranking)


def test_pixel_stats_measure_brightness_contrast_and_edges():
    flat = np.full((4, 20, 20), 0.5)
    stats = domains.pixel_stats(flat)
    assert list(stats) == list(domains.STATS)
    assert stats["brightness"] == pytest.approx([0.5] * 4)
    assert stats["contrast"] == pytest.approx([0.0] * 4) and stats["edge strength"] == pytest.approx([0.0] * 4)
    lines = np.zeros((3, 20, 20), np.uint8)
    lines[:, np.arange(20) // 2 % 2 == 0] = 255          # stripes two rows wide: half bright, edges everywhere
    stats = domains.pixel_stats(lines)
    assert stats["brightness"] == pytest.approx([0.5] * 3) and stats["contrast"] == pytest.approx([0.5] * 3)
    assert (stats["edge strength"] > 0.4).all()
    assert len(domains.pixel_stats(data.load("clinic"), n=50)["contrast"]) == 50


def test_photos_have_softer_edges_than_scans():
    edges = {name: domains.pixel_stats(data.load(name), n=200)["edge strength"].mean()
             for name in ("scans_test", "photos_test", "clinic")}
    assert edges["photos_test"] < edges["scans_test"] and edges["photos_test"] < edges["clinic"]


def test_plot_pixel_stats_draws_one_panel_per_statistic_and_one_histogram_per_set():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = domains.plot_pixel_stats({"clinic": data.load("clinic"), "scans": data.load("scans_test")}, n=50,
                                   title="two domains")
    assert [ax.get_title() for ax in fig.axes] == list(domains.STATS)
    assert [t.get_text() for t in fig.axes[-1].get_legend().get_texts()] == ["clinic", "scans"]
    assert fig._suptitle.get_text() == "two domains"
    plt.close(fig)
    fig, axes = plt.subplots(2, 2)
    with pytest.raises(ValueError, match="axes must be 3 Axes"):
        domains.plot_pixel_stats({"clinic": data.load("clinic")}, n=50, axes=axes)
    plt.close(fig)


def test_rank_agreement_counts_pairs_in_the_same_order():
    ranking = [("a", 0.1), ("b", 0.5), ("c", 0.9)]
    assert domains.rank_agreement(ranking, {"a": 0.9, "b": 0.8, "c": 0.7}) == 1.0
    assert domains.rank_agreement(ranking, {"a": 0.7, "b": 0.8, "c": 0.9}) == 0.0
    assert domains.rank_agreement(ranking, {"a": 0.8, "b": 0.8, "c": 0.7}) == pytest.approx(0.8333)
    # lower is better (an error rate): the closest base should have the smallest one
    assert domains.rank_agreement(ranking, {"a": 0.1, "b": 0.2, "c": 0.3}, higher_is_better=False) == 1.0
    assert domains.rank_agreement([("x", 1), ("y", 2)], {"y": 0.3, "x": 0.2}) == 0.0


@pytest.mark.parametrize("ranking, scores, error, message", [
    ("scans-s", {"scans-s": 1}, TypeError, "list of \\(name, distance\\) pairs"),
    ([("a", 0.1), ("b", 0.2)], [0.8, 0.7], TypeError, "scores must be a dict"),
    ([("a", 0.1)], {"a": 0.8}, ValueError, "at least 2"),
    ([("a", 0.1), ("b", 0.2)], {"a": 0.8, "c": 0.7}, ValueError, "same bases.*'a', 'b'.*'a', 'c'"),
])
def test_rank_agreement_explains_bad_input(ranking, scores, error, message):
    with pytest.raises(error, match=message):
        domains.rank_agreement(ranking, scores)


def test_a_loaded_model_and_its_name_give_the_same_distance():
    clinic = data.load("clinic")
    by_name = domains.feature_distance("scans-s", clinic, n=200)
    by_model = domains.feature_distance(models.load_base("scans-s", n_classes=5), clinic, n=200)
    assert by_name == pytest.approx(by_model)


def test_sampling_is_deterministic():
    clinic = data.load("clinic")
    assert domains.pixel_distance(clinic, data.load("scans"), n=100, seed=3) == \
        domains.pixel_distance(clinic, data.load("scans"), n=100, seed=3)


@pytest.mark.parametrize("call, error, message", [
    (lambda c: domains.feature_distance("imagenet", c), ValueError, "Unknown base 'imagenet'.*scans-s"),
    (lambda c: domains.feature_distance(object(), c), TypeError, "base name such as 'scans-s'"),
    (lambda c: domains.feature_distance("scans-s", c.images[:2]), ValueError, "target has 2 images"),
    (lambda c: domains.feature_distance("scans-s", c.images.reshape(len(c), -1)), ValueError, r"shaped \(N, H, W\)"),
    (lambda c: domains.feature_distance("scans-s", np.zeros((10, 12, 12), np.uint8)), ValueError,
     "source images are 20x20 but target images are 12x12"),
    (lambda c: domains.feature_distance("scans-s", c, n=1), ValueError, "n must be a whole number"),
    (lambda c: domains.pixel_distance([1, 2, 3], c), TypeError, "must be an ImageSet .*or an array of images"),
    (lambda c: domains.rank_bases(c, bases=[]), ValueError, "bases is empty"),
    (lambda c: domains.rank_bases(c, bases="scans-s"), TypeError, r"list of base names.*\['scans-s'\]"),
    (lambda c: domains.rank_bases(c, bases=["scans-s", "scans-s"]), ValueError, "more than once"),
    (lambda c: domains.rank_bases(c, bases=["scans-s", "imagenet"]), ValueError, "Unknown base 'imagenet' in bases"),
    (lambda c: domains.rank_bases(c, by="pixels"), ValueError, "Unknown by 'pixels'.*'feature', 'pixel'"),
    (lambda c: domains.pixel_stats(c, n=2), ValueError, "n must be a whole number"),
    (lambda c: domains.pixel_distance(c, c, n=True), ValueError, "n must be a whole number"),
    (lambda c: domains.plot_pixel_stats([c]), TypeError, "non-empty dict"),
    (lambda c: domains.plot_pixel_stats({}), TypeError, r"non-empty dict.*\(empty\)"),
    (lambda c: domains.frechet_distance(np.zeros((5, 2)), np.zeros((5, 3))), ValueError, "same D"),
])
def test_bad_input_is_explained(call, error, message):
    with pytest.raises(error, match=message):
        call(data.load("clinic"))


def test_plot_feature_clouds_draws_source_and_target_with_the_distance_in_the_title():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clinic = data.load("clinic")
    fig = domains.plot_feature_clouds("photos-l", clinic, n=60, target_name="clinic")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["photos (source of photos-l)", "clinic"]
    assert [len(c.get_offsets()) for c in ax.collections] == [60, 60]
    distance = domains.feature_distance("photos-l", clinic, n=60)
    assert ax.get_title() == f"through the eyes of photos-l: feature distance {distance:.2f}"
    plt.close(fig)
    with pytest.raises(ValueError, match="source images are 20x20 but target images are 12x12"):
        domains.plot_feature_clouds("scans-s", np.zeros((10, 12, 12), np.uint8))
    with pytest.raises(TypeError, match="base name such as 'scans-s'"):
        domains.plot_feature_clouds(42, clinic)
