"""course_lib.domains: distances between a target and a base's source, and the base ranking (notebook 04)."""

import doctest

import numpy as np
import pytest

from course_lib import data, domains, models


def test_doctests():
    result = doctest.testmod(domains)
    assert result.attempted > 0 and result.failed == 0


def test_frechet_distance_is_zero_for_one_cloud_and_grows_with_a_shift():
    x = np.random.default_rng(1).normal(size=(500, 4))
    assert domains.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)
    near, far = domains.frechet_distance(x, x + 0.5), domains.frechet_distance(x, x + 2.0)
    assert near == pytest.approx(4 * 0.25) and far == pytest.approx(4 * 4.0) and near < far
    # twice as wide: trace(C + 4C - 2 * 2C) = trace(C), plus the (tiny) shift of the sample mean
    expected = np.trace(np.cov(x, rowvar=False)) + (x.mean(0) ** 2).sum()
    assert domains.frechet_distance(x, 2 * x) == pytest.approx(expected, rel=1e-6)


def test_near_base_ranks_first_for_the_clinic_by_both_measures():
    clinic = data.load("clinic")
    ranking = dict(domains.rank_bases(clinic))
    assert ranking["scans-s"] < 1.0 < ranking["photos-l"]
    assert domains.pixel_distance(data.load("scans_test"), clinic) < domains.pixel_distance(
        data.load("photos_test"), clinic)


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
    (lambda c: domains.frechet_distance(np.zeros((5, 2)), np.zeros((5, 3))), ValueError, "same D"),
])
def test_bad_input_is_explained(call, error, message):
    with pytest.raises(error, match=message):
        call(data.load("clinic"))
