"""course_lib.leaks: the leak detector of notebook 01 and the augmentation that makes the leak."""

import numpy as np
import pytest

from course_lib import data, leaks


@pytest.fixture(scope="module")
def scans():
    return data.load("clinic_test").subset(np.arange(120))


def test_module_names_the_notebook_that_teaches_it():
    assert "01_leaky_splits" in leaks.__doc__
    for fn in (leaks.find_leaks, leaks.calibrate_threshold, leaks.augmented_copies, leaks.LeakReport):
        assert "01_leaky_splits" in fn.__doc__


# --------------------------------------------------------------------------- the detector on real splits
def test_augmenting_before_splitting_is_flagged(scans):
    pool = leaks.augmented_copies(scans, copies=4, seed=0)
    train, val = data.split(pool, how="random", seed=0)
    report = leaks.find_leaks(train, val)
    # exactly the validation images with a sibling copy in training are flagged (a few have all
    # their siblings in validation too, so nothing in training to find)
    has_copy_in_train = np.isin(val.groups, train.groups)
    assert has_copy_in_train.mean() > 0.9
    assert report.leaked_val.tolist() == np.flatnonzero(has_copy_in_train).tolist()
    # every flagged pair really is a copy of the same original
    assert all(train.groups[t] == val.groups[v] for t, v, _ in report.near)
    assert report.shared_groups and report.val_in_shared_groups == pytest.approx(has_copy_in_train.mean())


def test_splitting_before_augmenting_is_clean(scans):
    train, val = data.split(scans, how="stratified", seed=0)
    report = leaks.find_leaks(leaks.augmented_copies(train, copies=4, seed=1),
                              leaks.augmented_copies(val, copies=4, seed=2))
    assert report.fraction_of_val_leaked == 0.0
    assert report.exact == [] and report.near == []


def test_honest_split_of_distinct_scans_finds_almost_nothing():
    clinic_test = data.load("clinic_test")
    train, val = data.split(clinic_test, how="stratified", seed=0)
    report = leaks.find_leaks(train, val)
    assert report.fraction_of_val_leaked <= 0.01
    assert report.nearest.min() > 0.45


def test_exact_duplicates_are_found_by_hash(scans):
    imgs = scans.images
    val = np.concatenate([imgs[100:110], imgs[[3, 7, 7]]])
    report = leaks.find_leaks(imgs[:100], val)
    assert report.exact == [(3, 10), (7, 11), (7, 12)]
    assert report.near == []                     # exact copies are not listed twice
    assert list(report.leaked_val) == [10, 11, 12]
    assert report.fraction_of_val_leaked == pytest.approx(3 / 13)


def test_shifted_copy_is_a_near_duplicate(scans):
    imgs = scans.images
    moved = np.roll(imgs[5:6], shift=(2, -1), axis=(1, 2))
    report = leaks.find_leaks(imgs[:50], moved)
    assert report.exact == []
    assert [(t, v) for t, v, _ in report.near] == [(5, 0)]
    assert report.near[0][2] < 0.3


def test_group_and_time_metadata_are_checked():
    clinic = data.load("clinic")
    random_train, random_val = data.split(clinic, how="random", seed=0)
    group_train, group_val = data.split(clinic, how="group", seed=0)
    time_train, time_val = data.split(clinic, how="time", seed=0)
    assert leaks.find_leaks(random_train, random_val).val_in_shared_groups > 0.5
    assert leaks.find_leaks(group_train, group_val).shared_groups == []
    assert leaks.find_leaks(random_train, random_val).val_before_train_end > 0.5
    assert leaks.find_leaks(time_train, time_val).val_before_train_end == 0.0


def test_plain_arrays_have_no_metadata(scans):
    report = leaks.find_leaks(scans.images[:30], scans.images[30:40])
    assert report.shared_groups is None and report.val_before_train_end is None
    assert report.clean


def test_accepts_model_shaped_tensors(scans):
    torch = pytest.importorskip("torch")
    x = torch.from_numpy(scans.images[:20]).float().div(255).unsqueeze(1)       # (N, 1, H, W) in 0..1
    report = leaks.find_leaks(x[:15], x[[2, 16]])
    assert report.exact == [(2, 0)]


def test_report_reads_well(scans):
    pool = leaks.augmented_copies(scans.subset(np.arange(20)), copies=3, seed=0)
    train, val = data.split(pool, how="random", seed=0)
    report = leaks.find_leaks(train, val)
    text = repr(report)
    assert text.startswith("LeakReport: ")
    assert "near-duplicates" in text and "shared groups" in text and "distance" in text
    assert len(report.table(max_rows=3).splitlines()) == 5          # header, 3 rows, "... and N more"
    assert "0x" not in text                                          # no memory addresses (nbval)
    assert leaks.find_leaks(scans.images[:10], scans.images[10:12]).table() == "no copies found across the split"


# --------------------------------------------------------------------------- features and thresholds
def test_feature_space_with_a_model_and_with_precomputed_vectors(scans):
    from course_lib import models
    model = models.load_base("scans-s", n_classes=5)
    imgs = scans.images
    val = np.concatenate([imgs[60:70], imgs[[4]]])
    by_model = leaks.find_leaks(imgs[:60], val, threshold=0.05, features=model)
    assert [v for _, v, _ in by_model.near] == [] and by_model.exact == [(4, 10)]
    f_train, f_val = np.random.default_rng(0).normal(size=(60, 8)), np.random.default_rng(1).normal(size=(11, 8))
    f_val[3] = f_train[9] + 1e-3
    report = leaks.find_leaks(imgs[:60], imgs[60:71], threshold=0.1, features=(f_train, f_val))
    assert [(t, v) for t, v, _ in report.near] == [(9, 3)]


def test_calibrated_threshold_matches_default():
    t = leaks.calibrate_threshold(data.load("clinic_test").images)
    assert abs(t - leaks.DEFAULT_THRESHOLD) < 0.05
    looser = leaks.calibrate_threshold(data.load("clinic_test").images, quantile=0.05)
    assert looser > t


def test_threshold_changes_what_is_flagged(scans):
    pool = leaks.augmented_copies(scans.subset(np.arange(30)), copies=2, seed=0)
    train, val = data.split(pool, how="random", seed=0)
    assert leaks.find_leaks(train, val, threshold=1e-6).fraction_of_val_leaked == 0.0
    assert leaks.find_leaks(train, val, threshold=5.0).fraction_of_val_leaked == 1.0


# --------------------------------------------------------------------------- augmented_copies
def test_augmented_copies_are_deterministic_and_keep_labels(scans):
    a = leaks.augmented_copies(scans, copies=2, seed=3)
    b = leaks.augmented_copies(scans, copies=2, seed=3)
    assert np.array_equal(a.images, b.images)
    assert a.images.dtype == np.uint8 and a.images.shape == (2 * len(scans), 20, 20)
    assert np.array_equal(a.labels, np.repeat(scans.labels, 2))
    assert np.array_equal(a.groups, np.repeat(np.arange(len(scans)), 2))
    assert not np.array_equal(a.images[0], a.images[1])                    # copies differ ...
    assert not np.array_equal(leaks.augmented_copies(scans, 2, seed=4).images, a.images)   # ... and seeds differ


def test_augmented_copies_bad_input(scans):
    with pytest.raises(TypeError, match="needs an ImageSet"):
        leaks.augmented_copies(scans.images, copies=2)
    with pytest.raises(ValueError, match="copies must be greater than zero"):
        leaks.augmented_copies(scans, copies=0)
    with pytest.raises(TypeError, match="shift must be an integer"):
        leaks.augmented_copies(scans, copies=2, shift=1.5)


# --------------------------------------------------------------------------- bad input: clear errors
@pytest.mark.parametrize("train, val, kwargs, error, message", [
    ("empty", "ok", {}, ValueError, "train_images is empty"),
    ("ok", "empty", {}, ValueError, "val_images is empty"),
    ("ok", "small", {}, ValueError, "train images are 20x20 but val images are 12x12"),
    ("flat", "ok", {}, ValueError, r"shaped \(N, H, W\)"),
    ("single", "ok", {}, ValueError, r"images\[None\]"),
    ("list", "ok", {}, TypeError, "ImageSet .* or an array"),
    ("ok", "ok", {"threshold": -1.0}, ValueError, "threshold must be greater than zero"),
    ("ok", "ok", {"threshold": "auto"}, TypeError, "threshold must be a number"),
    ("ok", "ok", {"features": "pixels", "threshold": 0.1}, TypeError, "features must be None"),
    ("ok", "ok", {"features": (np.zeros((10, 4)), np.zeros((5, 4))), "threshold": 0.1}, ValueError,
     "train features have 10 rows but there are 20 train images"),
    ("ok", "ok", {"features": (np.zeros((20, 4)), np.zeros((5, 3))), "threshold": 0.1}, ValueError,
     "4 dimensions but val features 3"),
    ("ok", "ok", {"features": (np.zeros((20, 4)), np.zeros((5, 4)))}, ValueError, "give a threshold"),
    ("ok", "ok", {"max_shift": 10}, ValueError, "max_shift=10 is too large"),
    ("ok", "ok", {"max_shift": -1}, ValueError, "max_shift must be a whole number"),
])
def test_bad_input_gives_clear_errors(scans, train, val, kwargs, error, message):
    imgs = scans.images
    pick = {"ok": None, "empty": imgs[:0], "small": np.zeros((5, 12, 12), np.uint8),
            "flat": imgs[:20].reshape(20, -1), "single": imgs[0], "list": [imgs[0], imgs[1]]}
    a = imgs[:20] if train == "ok" else pick[train]
    b = imgs[20:25] if val == "ok" else pick[val]
    with pytest.raises(error, match=message):
        leaks.find_leaks(a, b, **kwargs)


def test_calibrate_threshold_bad_input(scans):
    with pytest.raises(ValueError, match="at least 2 distinct images"):
        leaks.calibrate_threshold(scans.images[:1])
    with pytest.raises(ValueError, match="contains exact duplicates"):
        leaks.calibrate_threshold(np.concatenate([scans.images[:10], scans.images[:2]]))
    with pytest.raises(ValueError, match="quantile must lie in"):
        leaks.calibrate_threshold(scans.images[:10], quantile=0.9)
    with pytest.raises(ValueError, match="safety must lie in"):
        leaks.calibrate_threshold(scans.images[:10], safety=2)


def test_augmented_copies_keep_the_specimen_ids_so_split_then_augment_shares_no_group():
    clinic = data.load("clinic")
    originals = clinic.take_per_class(6, seed=0)
    train, val = data.split(originals, how="stratified", seed=0)
    copies = leaks.augmented_copies(train, copies=4, seed=0)
    assert set(copies.groups.tolist()) == set(train.groups.tolist())
    assert not set(copies.groups.tolist()) & set(val.groups.tolist())
    report = leaks.find_leaks(copies, val)
    assert len(report.shared_groups) == 0 and report.val_in_shared_groups == 0
