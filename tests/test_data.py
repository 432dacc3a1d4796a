import json
import shutil

import numpy as np
import pytest
import torch

from course_lib import data


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A private copy of data/ that a test may damage."""
    shutil.copytree(data.data_dir(), tmp_path / "data")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    data._VERIFIED.clear()
    yield tmp_path / "data"
    data._VERIFIED.clear()


def test_every_file_matches_the_manifest():
    results = data.verify_all()
    assert results, "the manifest lists no files"
    assert all(ok for _, ok, _ in results), [r for r in results if not r[1]]


def test_load_clinic_has_groups_and_times():
    clinic = data.load("clinic")
    assert clinic.images.dtype == np.uint8 and clinic.images.shape[1:] == (20, 20)
    assert clinic.n_classes == 5 and len(clinic.class_names) == 5
    assert clinic.groups is not None and clinic.times is not None
    assert np.array_equal(np.sort(clinic.times), np.arange(len(clinic)))
    # each specimen is scanned several times, in a row
    _, counts = np.unique(clinic.groups, return_counts=True)
    assert counts.min() >= 2


def test_unknown_domain_names_the_choices():
    with pytest.raises(ValueError, match="Choose one of: 'scans'"):
        data.load("xrays")


def test_corrupted_file_names_file_and_rebuild_command(data_copy):
    path = data_copy / "clinic.npz"
    raw = bytearray(path.read_bytes())
    raw[-100] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(data.DataFileError) as err:
        data.load("clinic")
    assert "clinic.npz" in str(err.value) and "corrupted" in str(err.value)
    assert "make data" in str(err.value)
    bad = [name for name, ok, _ in data.verify_all() if not ok]
    assert bad == ["clinic.npz"]


def test_missing_file_names_file_and_rebuild_command(data_copy):
    (data_copy / "scans.npz").unlink()
    with pytest.raises(data.DataFileError, match=r"scans\.npz is missing.*make data"):
        data.load("scans")


def test_damaged_manifest_is_reported(data_copy):
    (data_copy / data.MANIFEST).write_text("{ not json")
    with pytest.raises(data.DataFileError, match="manifest .* is damaged"):
        data.load("scans")
    assert data.verify_all()[0][1] is False


def test_take_per_class_gives_exact_counts_from_distinct_specimens():
    clinic = data.load("clinic")
    few = clinic.take_per_class(7, seed=3)
    assert few.class_counts() == [7] * 5
    assert len(np.unique(few.groups)) == len(few)
    assert np.array_equal(few.images, clinic.take_per_class(7, seed=3).images)
    assert not np.array_equal(few.images, clinic.take_per_class(7, seed=4).images)


def test_take_per_class_too_many_is_explained():
    with pytest.raises(ValueError, match="only 80 specimens"):
        data.load("clinic").take_per_class(81)
    with pytest.raises(ValueError, match="greater than zero"):
        data.load("clinic").take_per_class(0)


@pytest.mark.parametrize("how", data.SPLITS)
def test_splits_partition_the_data(how):
    clinic = data.load("clinic")
    train, val = data.split(clinic, how=how, test_size=0.25, seed=0)
    assert len(train) + len(val) == len(clinic)
    assert abs(len(val) / len(clinic) - 0.25) < 0.05
    keys = lambda s: {(int(g), int(t)) for g, t in zip(s.groups, s.times)}
    assert not keys(train) & keys(val)


def test_group_split_keeps_groups_whole_and_random_split_does_not():
    clinic = data.load("clinic")
    train, val = data.split(clinic, how="group", seed=1)
    assert not set(train.groups) & set(val.groups)
    train, val = data.split(clinic, how="random", seed=1)
    assert set(train.groups) & set(val.groups)


def test_time_split_validates_on_the_future():
    train, val = data.split(data.load("clinic"), how="time", test_size=0.2)
    assert train.times.max() < val.times.min()


def test_split_bad_inputs():
    scans = data.load("scans")
    with pytest.raises(ValueError, match="no group ids"):
        data.split(scans, how="group")
    with pytest.raises(ValueError, match="no acquisition times"):
        data.split(scans, how="time")
    with pytest.raises(ValueError, match="Unknown split 'kfold'"):
        data.split(scans, how="kfold")
    with pytest.raises(ValueError, match="test_size must lie between 0.0 and 1.0"):
        data.split(scans, test_size=1.5)
    with pytest.raises(TypeError, match="needs an ImageSet"):
        data.split((scans.images, scans.labels))


def test_imageset_validates_inputs():
    imgs = np.zeros((4, 24, 24), np.uint8)
    with pytest.raises(ValueError, match="same length"):
        data.ImageSet(imgs, np.zeros(3, int), ["a", "b"])
    with pytest.raises(ValueError, match="labels must lie in 0..1"):
        data.ImageSet(imgs, np.array([0, 1, 2, 0]), ["a", "b"])
    with pytest.raises(ValueError, match=r"shaped \(N, H, W\)"):
        data.ImageSet(np.zeros((24, 24), np.uint8), np.zeros(24, int), ["a"])
    with pytest.raises(ValueError, match="empty"):
        data.ImageSet(imgs[:0], np.zeros(0, int), ["a"])
    ds = data.ImageSet(imgs, np.array([0, 1, 1, 0]), ["a", "b"])
    with pytest.raises(ValueError, match="empty"):
        ds.subset(np.array([], dtype=int))


def test_tensors():
    few = data.load("clinic").take_per_class(4)
    x, y = few.tensors()
    assert x.shape == (20, 1, 20, 20) and x.dtype == torch.float32
    assert 0.0 <= x.min() and x.max() <= 1.0 and y.dtype == torch.int64


def test_replace_keeps_every_other_field_and_checks_the_result():
    clinic = data.load("clinic")
    flipped = clinic.replace(images=255 - clinic.images, name="clinic B")
    assert flipped.name == "clinic B" and flipped.summary == clinic.summary
    assert (flipped.labels == clinic.labels).all() and (flipped.times == clinic.times).all()
    assert flipped.class_names == clinic.class_names and flipped.class_names is not clinic.class_names
    with pytest.raises(TypeError, match="Did you mean labels="):
        clinic.replace(label=clinic.labels)
    with pytest.raises(ValueError, match="same length"):
        clinic.replace(labels=clinic.labels[:10])
    with pytest.raises(ValueError, match="labels must lie in 0..1"):
        clinic.replace(class_names=["a", "b"])


# --------------------------------------------------------------------------- issue 14: data faults, ImageSet inputs


def _edit_manifest(folder, change):
    path = folder / data.MANIFEST
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps(change(manifest)))


def test_a_manifest_that_lost_an_entry_fails_the_check_not_the_notebook(data_copy):
    _edit_manifest(data_copy, lambda m: {**m, "files": {k: v for k, v in m["files"].items() if k != "clinic.npz"}})
    bad = {name: msg for name, ok, msg in data.verify_all() if not ok}
    assert list(bad) == ["clinic.npz"] and "not listed" in bad["clinic.npz"]
    assert "git checkout data/" in bad["clinic.npz"]
    from course_lib import envcheck
    report = envcheck.check_environment(verbose=False)
    assert not report["ok"] and report["data_bad"] == ["clinic.npz"]


@pytest.mark.parametrize("change, said", [
    (lambda m: {k: v for k, v in m.items() if k != "files"}, "it has no 'files' entry"),
    (lambda m: {**m, "files": sorted(m["files"])}, "its 'files' entry is a list"),
    (lambda m: {**m, "files": {k: "abc" for k in m["files"]}}, "one {'sha256': ...} per data file"),
    (lambda m: [m], "it holds a list"),
])
def test_a_manifest_of_the_wrong_shape_is_named_damaged(data_copy, change, said):
    _edit_manifest(data_copy, change)
    with pytest.raises(data.DataFileError, match="is damaged") as info:
        data.read_manifest()
    assert said in str(info.value) and "git checkout data/" in str(info.value)
    [(name, ok, msg)] = data.verify_all()
    assert name == data.MANIFEST and not ok
    with pytest.raises(data.DataFileError):
        data.load("clinic")


def test_a_missing_file_offers_git_checkout(data_copy):
    (data_copy / "clinic.npz").unlink()
    with pytest.raises(data.DataFileError, match=r"is missing\. Restore it with `git checkout data/` or rebuild"):
        data.load("clinic")


def test_float_images_already_in_0_1_are_not_divided_again():
    images = np.random.default_rng(0).random((4, 6, 6))
    x, _ = data.ImageSet(images, [0, 1, 0, 1], ["a", "b"]).tensors()
    assert x.shape == (4, 1, 6, 6) and torch.allclose(x[:, 0], torch.from_numpy(images).float())
    u8 = (images * 255).round().astype(np.uint8)
    x255, _ = data.ImageSet(u8.astype(np.float32), [0, 1, 0, 1], ["a", "b"]).tensors()     # 0..255 floats: as before
    xu8, _ = data.ImageSet(u8, [0, 1, 0, 1], ["a", "b"]).tensors()
    assert torch.equal(x255, xu8) and float(xu8.max()) <= 1.0


@pytest.mark.parametrize("images, labels, error, match", [
    (np.full((2, 4, 4), np.nan), [0, 1], ValueError, "NaN or infinite"),
    (np.zeros((2, 4, 4, 3), np.uint8), [0, 1], ValueError, r"colour or channel axis.*mean\(axis=-1\)"),
    (np.zeros((2, 1, 4, 4), np.uint8), [0, 1], ValueError, r"images\[:, 0\]"),
    (np.full((2, 4, 4), 300.0), [0, 1], ValueError, "must lie in 0..1"),
    (np.zeros((2, 4, 4), np.uint8), ["cat", "dog"], TypeError, "LabelEncoder"),
    (np.zeros((2, 4, 4), np.uint8), [0.5, 1.0], TypeError, "integer class ids"),
])
def test_imageset_refuses_what_it_would_turn_into_garbage(images, labels, error, match):
    with pytest.raises(error, match=match):
        data.ImageSet(images, labels, ["cat", "dog"])


def test_imageset_keeps_accepting_whole_float_labels():
    s = data.ImageSet(np.zeros((2, 4, 4), np.uint8), np.array([0.0, 1.0]), ["a", "b"])
    assert s.labels.dtype == np.int64 and s.labels.tolist() == [0, 1]


def test_float_seeds_are_refused_not_truncated():
    clinic = data.load("clinic")
    for call in (lambda: clinic.take_per_class(2, seed=1.5), lambda: data.split(clinic, seed=1.5),
                 lambda: data.split(clinic, seed=-1)):
        with pytest.raises(ValueError, match="seed must be a non-negative integer"):
            call()


def test_the_batchnorm_base_is_checksummed():
    """Notebook 11's base is listed in the manifest and verified before it loads, like every shipped file."""
    manifest = data.read_manifest()
    assert "bases/scans-bn.npz" in manifest["files"] and "bases/scans-bn.npz" in data.expected_files()
    assert data.sha256(data.data_path("bases/scans-bn.npz")) == manifest["files"]["bases/scans-bn.npz"]["sha256"]
    assert set(manifest["lesson_bases"]) == {"scans-bn"} and "scans-bn" not in manifest["bases"]


def test_a_damaged_batchnorm_base_is_refused(data_copy):
    from course_lib import models
    path = data_copy / "bases" / "scans-bn.npz"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(data.DataFileError, match=r"scans-bn\.npz is corrupted"):
        models.load_base("scans-bn", n_classes=5)
