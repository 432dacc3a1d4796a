"""course_lib.audit: each planted problem is found on a split that has it, and a clean one stays quiet."""

import numpy as np
import pytest
import torch

from course_lib import audit as audit_module
from course_lib import data, folders, imbalance, leaks, models
from course_lib.audit import AuditReport, audit
from course_lib.train import History


def hist(train_acc, val_acc, label="run"):
    """A hand-made History of 2 epochs ending at ``train_acc`` / ``val_acc``."""
    return History(label=label, epoch=[1, 2], train_acc=[0.5, train_acc], val_acc=[0.4, val_acc],
                   train_loss=[1.0, 0.5], val_loss=[1.1, 0.8])


GOOD_RUNS = {"fine-tune": [hist(0.95, 0.84), hist(0.96, 0.82), hist(0.94, 0.85)],
             "frozen baseline": [0.80, 0.79, 0.81],
             "from scratch": [0.55, 0.50, 0.52]}


@pytest.fixture(scope="module")
def split():
    train, val = data.split(data.load("clinic"), how="group", seed=0)
    return train.take_per_class(10, seed=0), val.take_per_class(10, seed=0)


@pytest.fixture(scope="module")
def probe(split):
    """The near base with a nearest-class-mean head on its frozen features: a fair model, no training needed."""
    model = models.load_base("scans-s", n_classes=5).eval()
    x, y = split[0].tensors()
    with torch.no_grad():
        feats = model.features(x)
        means = torch.stack([feats[y == c].mean(0) for c in range(5)])
        model.head.weight.copy_(means)                     # logit = f.m - |m|^2 / 2: closest mean wins
        model.head.bias.copy_(-0.5 * (means ** 2).sum(1))
    return model


def risky(report):
    return [row.check for row in report.risks]


def row(report, check):
    return next(r for r in report.rows if r.check == check)


# --------------------------------------------------------------------------- quiet on a clean split
def test_clean_split_with_good_runs_is_quiet(split, probe):
    report = audit(*split, base="scans-s", runs=GOOD_RUNS, model=probe, test=data.load("clinic_test").subset(
        np.arange(100)))
    assert report.ok, report.text()
    assert {r.status for r in report.rows} == {"ok"}          # every check ran
    assert row(report, "distance from the base").finding.startswith("your images sit at 0.")
    assert "few labels" in row(report, "labels per class").finding


def test_without_extras_the_other_checks_are_skipped_not_risks(split):
    report = audit(*split)
    assert report.ok
    assert [r.check for r in report.rows if r.status == "skipped"] == [
        "distance from the base", "frozen baseline", "fine-tuning vs frozen", "non-transfer control",
        "transfer vs control", "train-validation gap", "per-class recall"]


# --------------------------------------------------------------------------- planted problems
def test_val_made_of_augmented_copies_of_train_is_a_leak(split):
    train, _ = split
    report = audit(train, leaks.augmented_copies(train, copies=1, seed=1))
    assert risky(report) == ["leaks (train -> val)"]
    assert row(report, "leaks (train -> val)").notebook == "01_leaky_splits"
    assert "50 of 50 val images (100%)" in report.risks[0].finding


def test_a_leaky_test_set_is_found_too(split):
    train, val = split
    report = audit(train, val, test=train.subset(np.arange(20)))
    assert risky(report) == ["leaks (train -> test)"]


def test_specimens_on_both_sides_of_a_random_split(split):
    clinic = data.load("clinic").subset(np.arange(150))         # 3 scans per specimen, on fresh film
    train, val = data.split(clinic, how="random", seed=0)
    report = audit(train, val)
    assert "leaks (train -> val)" in risky(report)
    assert "how='group'" in row(report, "leaks (train -> val)").finding


def test_imbalanced_train_set(split):
    train, val = split
    pool = data.split(data.load("clinic"), how="group", seed=0)[0].take_per_class(40, seed=0)
    skewed = imbalance.make_imbalanced(pool, "flag", fraction=0.05, seed=0)      # 160 + 8 images
    report = audit(skewed, val)
    assert risky(report) == ["class balance"]
    finding = report.risks[0].finding
    assert "smallest class 'flag'" in finding and report.risks[0].notebook == "03_class_imbalance"


def test_missing_frozen_baseline_and_control(split):
    runs = {"fine-tune": [0.82, 0.80, 0.84]}
    report = audit(*split, runs=runs)
    assert risky(report) == ["frozen baseline", "non-transfer control"]
    assert [r.notebook for r in report.risks] == ["05_skipped_baseline", "07_negative_transfer"]
    assert row(report, "transfer vs control").status == "skipped"


def test_roles_are_named_not_guessed(split):
    """The frozen baseline and the control are the runs named so (by default run_strategies' names), not guessed."""
    runs = {"fine-tune": [0.82, 0.80, 0.84], "linear probe": [0.80, 0.79, 0.81], "no transfer": [0.55, 0.5, 0.52]}
    default = audit(*split, runs=runs)               # 'linear probe' is not read as the frozen baseline
    assert risky(default) == ["frozen baseline", "non-transfer control"]
    assert "frozen='its name'" in row(default, "frozen baseline").finding
    named = audit(*split, runs=runs, frozen="linear probe", control="no transfer")
    assert named.ok and "'linear probe' is the frozen baseline" in row(named, "frozen baseline").finding
    assert "'no transfer' is the non-transfer control" in row(named, "non-transfer control").finding
    scratch_in_name = {"fine-tune from scratch weights": [0.8, 0.8, 0.8], "frozen baseline": [0.7, 0.7, 0.7]}
    report = audit(*split, runs=scratch_in_name, control=None)   # a transfer run, whatever its name says
    assert "fine-tune from scratch weights" in row(report, "fine-tuning vs frozen").finding


@pytest.mark.parametrize("kw, error, match", [
    (dict(frozen=3), TypeError, "frozen must be the name of a run"),
    (dict(control=""), TypeError, "control must be the name of a run"),
    (dict(frozen="a", control="a"), ValueError, "cannot be the frozen baseline and the non-transfer control"),
])
def test_bad_roles(split, kw, error, match):
    with pytest.raises(error, match=match):
        audit(*split, runs={"a": [0.8, 0.7]}, **kw)


def test_negative_transfer(split):
    runs = dict(GOOD_RUNS, **{"fine-tune": [0.45, 0.48, 0.44], "frozen baseline": [0.47, 0.46, 0.45]})
    report = audit(*split, runs=runs)
    assert "transfer vs control" in risky(report)
    assert "transfer hurt" in row(report, "transfer vs control").finding


def test_fine_tuning_below_the_frozen_baseline_points_to_forgetting(split):
    runs = dict(GOOD_RUNS, **{"fine-tune": [0.70, 0.72, 0.69]})
    report = audit(*split, runs=runs)
    assert risky(report) == ["fine-tuning vs frozen"]
    assert report.risks[0].notebook == "02_too_high_learning_rate"


def test_overfitting_history_gap(split):
    runs = dict(GOOD_RUNS, **{"fine-tune": [hist(1.0, 0.84), hist(1.0, 0.82), hist(1.0, 0.85)]})
    quiet = audit(*split, runs=runs)
    assert quiet.ok                                              # a gap of 0.16: under MAX_GAP
    runs["fine-tune"] = [hist(1.0, 0.70), hist(1.0, 0.72), hist(0.98, 0.71)]
    runs["frozen baseline"] = [0.6, 0.6, 0.6]
    report = audit(*split, runs=runs)
    assert risky(report) == ["train-validation gap"]
    assert "'fine-tune'" in report.risks[0].finding and report.risks[0].notebook == "06_tiny_dataset_overfitting"


def test_the_gap_is_read_at_the_restored_epoch(split):
    h = History(epoch=[1, 2, 3], train_acc=[0.8, 0.9, 1.0], val_acc=[0.78, 0.8, 0.6], best_epoch=2)
    runs = dict(GOOD_RUNS, **{"fine-tune": [h, h, h]})
    assert row(audit(*split, runs=runs), "train-validation gap").status == "ok"   # 0.10 at epoch 2


def test_scores_may_be_arrays_or_tensors(split):
    runs = {"fine-tune": np.array([0.82, 0.80, 0.84]), "frozen baseline": torch.tensor([0.8, 0.79, 0.81]),
            "from scratch": (0.55, 0.50, 0.52)}
    assert audit(*split, runs=runs).ok


def test_the_control_is_not_checked_for_a_gap(split):
    runs = dict(GOOD_RUNS, **{"from scratch": [hist(1.0, 0.5)] * 3})
    assert audit(*split, runs=runs).ok


def test_a_far_base_names_a_closer_one(split):
    report = audit(*split, base="photos-l")
    assert risky(report) == ["distance from the base"]
    assert "try 'scans-s' first" in report.risks[0].finding
    assert report.risks[0].notebook == "04_wrong_domain_base"


def test_a_model_that_neglects_a_class(split, probe):
    biased = models.build("small", n_classes=5)
    with torch.no_grad():
        biased.head.weight.zero_()
        biased.head.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 0.0, 5.0]))   # always "flag"
    report = audit(*split, model=biased)
    assert risky(report) == ["per-class recall"]
    assert "finds 0% of class" in report.risks[0].finding


# --------------------------------------------------------------------------- folders as input
def test_folders_are_audited_like_imagesets(split, tmp_path):
    train, val = split
    report = audit(folders.write_image_folder(train, tmp_path / "train"),
                   str(folders.write_image_folder(val, tmp_path / "val")))
    assert report.ok
    assert "no group ids" in row(report, "leaks (train -> val)").finding


def test_a_folder_with_classes_in_another_order_is_relabelled(split, tmp_path):
    train, _ = split
    report = audit(train, folders.write_image_folder(train, tmp_path / "copy"))   # val: the same images
    assert risky(report) == ["leaks (train -> val)"]
    assert "(100%)" in report.risks[0].finding


def test_a_bad_folder_is_reported_before_any_check(split, tmp_path):
    with pytest.raises(FileNotFoundError, match="There is no folder"):
        audit(split[0], tmp_path / "missing")


# --------------------------------------------------------------------------- the report
def test_report_text_and_table(split):
    report = audit(*split, runs={"fine-tune": [0.82, 0.80, 0.84]})
    text = report.text()
    assert text == str(report) and text.splitlines()[0].startswith("Audit of")
    assert "2 risks in 10 checks" in text and "[risk]    frozen baseline" in text
    page = report._repr_html_()
    assert page.count("<tr") == len(report.rows) + 1 and "05_skipped_baseline" in page
    assert isinstance(report, AuditReport) and all(r.status in audit_module.STATUSES for r in report.rows)


# --------------------------------------------------------------------------- bad arguments
def test_train_must_be_an_imageset_or_a_folder(split):
    with pytest.raises(TypeError, match="ImageSet .* or the path of an image folder"):
        audit(split[0].images, split[1])


def test_val_with_other_classes(split):
    train, val = split
    other = data.ImageSet(val.images, val.labels, ["tick", "cup", "vane", "knee", "bell"])
    with pytest.raises(ValueError, match=r"val has other classes than train.*not in train: \['bell'\]"):
        audit(train, other)


def test_images_of_another_size(split):
    train, val = split
    small = data.ImageSet(val.images[:, :16, :16], val.labels, list(val.class_names))
    with pytest.raises(ValueError, match="train images are 20x20 but val images are 16x16"):
        audit(train, small)


def test_unknown_or_wrong_base(split):
    with pytest.raises(ValueError, match="Unknown base 'imagenet'.*scans-s"):
        audit(*split, base="imagenet")
    with pytest.raises(TypeError, match="base must be a base name"):
        audit(*split, base=models.build("small", n_classes=5))


def test_model_with_the_wrong_number_of_outputs(split):
    with pytest.raises(ValueError, match="model has 3 outputs but train has 5 classes"):
        audit(*split, model=models.build("small", n_classes=3))
    with pytest.raises(TypeError, match="model must be a course model"):
        audit(*split, model="my model")


@pytest.mark.parametrize("runs, error, match", [
    ([0.8, 0.7], TypeError, "runs must be a non-empty dict"),
    ({}, TypeError, "runs must be a non-empty dict"),
    ({"fine-tune": 0.8}, TypeError, "one score or History per seed"),
    ({"fine-tune": hist(0.9, 0.8)}, TypeError, "one score or History per seed"),
    ({"fine-tune": [0.8]}, ValueError, "needs at least 2"),
    ({"fine-tune": [0.8, 0.7], "from scratch": [0.5, 0.5, 0.5]}, ValueError, "same seeds"),
    ({"fine-tune": [0.8, hist(0.9, 0.8)]}, TypeError, "mixes Histories and plain scores"),
    ({"fine-tune": [0.8, float("nan")]}, ValueError, "not a finite number"),
    ({"fine-tune": [History(epoch=[1], train_acc=[0.9])] * 2}, ValueError, "no validation accuracy"),
    ({3: [0.8, 0.7]}, TypeError, "short strings"),
])
def test_runs_in_a_bad_shape(split, runs, error, match):
    with pytest.raises(error, match=match):
        audit(*split, runs=runs)


# --------------------------------------------------------------------------- issue 14: real images nobody here made
@pytest.fixture(scope="module")
def digits_split():
    """scikit-learn's handwritten digits (real, duplicate-free), 20x20, split before anything else: a clean split."""
    digits = imbalance.load_digits_imageset().take_per_class(30, seed=0)
    plain = data.ImageSet(digits.images, digits.labels, digits.class_names, "digits")    # no group ids, as a folder
    return data.split(plain, how="stratified", test_size=0.5, seed=0)


def leak_row(report, what="val"):
    return next(r for r in report.rows if r.check == f"leaks (train -> {what})")


def test_digits_folder_with_a_clean_split_raises_no_leak(digits_split, tmp_path):
    tr, va = digits_split
    folders.write_image_folder(tr, tmp_path / "train")
    folders.write_image_folder(va, tmp_path / "val")
    report = audit(tmp_path / "train", tmp_path / "val")
    row = leak_row(report)
    assert row.status == "ok", row.finding
    assert "calibrated on train, below the course's 0.45" in row.finding
    assert report.ok, report.text()
    # with the course's threshold the same clean split is a false alarm: the calibration is what fixes it
    wolf = audit(tr, va, leak_threshold=leaks.DEFAULT_THRESHOLD)
    assert leak_row(wolf).status == "risk" and "set by you (leak_threshold)" in leak_row(wolf).finding


def test_digits_planted_copies_are_found(digits_split):
    tr, va = digits_split
    copies = leaks.augmented_copies(tr.take_per_class(5, seed=1), copies=1, seed=2)      # val made from train
    assert leak_row(audit(tr, copies)).status == "risk"
    exact = data.ImageSet(np.concatenate([va.images[:60], tr.images[:15]]),
                          np.concatenate([va.labels[:60], tr.labels[:15]]), va.class_names, "val + 15 of train")
    row = leak_row(audit(tr, exact))
    assert row.status == "risk" and int(row.finding.split(" of 75")[0]) >= 15      # every planted copy, at least


def test_digits_augmented_before_the_split_is_found_without_group_ids(digits_split):
    """Copies inside train must not lower the calibrated threshold below what finds them."""
    tr, _ = digits_split
    pool = leaks.augmented_copies(tr, copies=4, seed=0)
    pool = data.ImageSet(pool.images, pool.labels, pool.class_names, "augmented first")        # ids dropped
    a, b = data.split(pool, how="random", seed=0)
    row = leak_row(audit(a, b))
    assert row.status == "risk", row.finding


def test_the_course_data_keeps_the_course_threshold():
    field = data.load("field")
    tr, va = data.split(field, how="stratified", test_size=0.5, seed=0)
    threshold, how = audit_module._leak_threshold(tr)
    assert threshold == leaks.DEFAULT_THRESHOLD and "the course's threshold" in how
    assert audit_module._leak_threshold(tr, 0.3) == (0.3, "set by you (leak_threshold)")


def test_small_images_are_audited_with_a_smaller_shift():
    digits = imbalance.load_digits_imageset(size=8).take_per_class(10, seed=0)
    tr, va = data.split(digits, how="stratified", test_size=0.5, seed=0)
    assert audit_module._max_shift(tr) == 1
    assert leak_row(audit(tr, va)).status in ("ok", "risk")        # runs: 4 px would not fit in 8x8


def test_rows_with_rules_of_thumb_say_so(split):
    report = audit(*split, base="scans-s")
    for check in ("class balance", "labels per class", "distance from the base"):
        row = next(r for r in report.rows if r.check == check)
        assert "rule of thumb" in row.finding and row.notebook in audit_module.NOTEBOOKS.values()


def test_leak_threshold_is_checked(split):
    with pytest.raises(ValueError, match="leak_threshold must be greater than zero"):
        audit(*split, leak_threshold=0)
    with pytest.raises(TypeError, match="leak_threshold must be a number"):
        audit(*split, leak_threshold="0.3")


def test_audit_and_a_base_refuse_other_sizes_with_the_call_that_fixes_it(split):
    tr, va = split
    big = data.ImageSet(np.kron(tr.images, np.ones((1, 2, 2), np.uint8)), tr.labels, tr.class_names, "40x40")
    big_val = data.ImageSet(np.kron(va.images, np.ones((1, 2, 2), np.uint8)), va.labels, va.class_names, "40x40")
    with pytest.raises(ValueError, match=r"load_image_folder\(root, size=\(20, 20\)\)"):
        audit(big, big_val, base="scans-s")


# --------------------------------------------------------------------------- issue 13: notebook 11's two rows
def _bn_model(freeze_stats, train_head=True):
    from course_lib import recipes, regularize
    model = models.freeze(models.load_base("scans-bn", n_classes=5), "backbone")
    if freeze_stats:
        models.freeze_batchnorm(model)
    if train_head:
        few = data.load("clinic").take_per_class(2, seed=0)
        recipes.feature_extract(model, few, epochs=1, batch_size=1, augment=regularize.augmenter(seed=0), seed=0,
                                progress=False)
    return model


def test_frozen_batchnorm_in_training_mode_is_a_risk(split):
    report = audit(*split, base="scans-bn", model=_bn_model(freeze_stats=False))
    r = row(report, "frozen BatchNorm")
    assert r.status == "risk" and "training mode" in r.finding and "models.freeze_batchnorm" in r.finding
    assert "moved from the base's" in r.finding and r.notebook == "11_batchnorm_and_preprocessing"


def test_frozen_batchnorm_momentum_zero_is_a_risk_without_claiming_updates(split):
    model = _bn_model(freeze_stats=False, train_head=False)
    for layer in models.batchnorm_layers(model):
        layer.momentum = 0.0
    r = row(audit(*split, base="scans-bn", model=model.train()), "frozen BatchNorm")
    assert r.status == "risk" and "momentum 0 keeps the running statistics" in r.finding
    assert "updates their running statistics" not in r.finding and "normalises by the batch" in r.finding
    r = row(audit(*split, base="scans-bn", model=_bn_model(freeze_stats=False)), "frozen BatchNorm")
    assert "updates their running statistics" in r.finding and "running means have moved" in r.finding


def test_frozen_batchnorm_moved_then_put_in_eval_mode_is_still_a_risk(split):
    report = audit(*split, model=_bn_model(freeze_stats=False).eval())
    r = row(report, "frozen BatchNorm")
    assert r.status == "risk" and "eval mode now" in r.finding


def test_frozen_batchnorm_no_false_alarm(split):
    model = _bn_model(freeze_stats=True)
    x, y = split[0].tensors()
    with torch.no_grad():                                  # a fair head: the nearest class mean (as `probe` above)
        feats = model.eval().features(x)
        means = torch.stack([feats[y == c].mean(0) for c in range(5)])
        model.head.weight.copy_(means)
        model.head.bias.copy_(-0.5 * (means ** 2).sum(1))
    fixed = audit(*split, base="scans-bn", model=model.train(), runs=GOOD_RUNS)
    assert fixed.ok, fixed.text()
    assert {r.status for r in fixed.rows} == {"ok"} and len(fixed.rows) == 12
    assert row(fixed, "frozen BatchNorm").status == "ok"
    tuned = models.load_base("scans-bn", n_classes=5).train()     # every layer trainable: training mode is intended
    assert row(audit(*split, model=tuned), "frozen BatchNorm").status == "ok"
    assert row(audit(*split, model=models.load_base("scans-bn", n_classes=5).eval()), "frozen BatchNorm").status == "ok"


def test_no_batchnorm_rows_for_the_earlier_bases(split, probe):
    """The earlier notebooks' audits keep their rows: no BatchNorm row without BatchNorm, no preprocessing row on
    well-prepared images for a base whose card states no preprocessing."""
    report = audit(*split, base="scans-s", model=probe)
    assert [r.check for r in report.rows if "BatchNorm" in r.check or "preprocessing" in r.check] == []
    assert len(report.rows) == 10


def test_preprocessing_other_polarity_is_a_risk_for_every_base(split):
    flipped = [ds.replace(images=255 - ds.images) for ds in split]
    for base in ("scans-bn", "scans-s"):
        r = row(audit(*flipped, base=base), "preprocessing vs the base")
        assert r.status == "risk" and "other polarity" in r.finding and "255 - images" in r.finding
    assert "The model card asks for" in row(audit(*flipped, base="scans-bn"), "preprocessing vs the base").finding


def test_preprocessing_scaled_twice_is_a_risk(split):
    dim = [ds.replace(images=ds.images.astype(np.float32) / 255 / 255) for ds in split]   # floats in 0..1/255
    r = row(audit(*dim, base="scans-bn"), "preprocessing vs the base")
    assert r.status == "risk" and "another range" in r.finding and "other polarity" not in r.finding


def test_preprocessing_matched_is_ok_and_photos_have_no_polarity(split):
    r = row(audit(*split, base="scans-bn"), "preprocessing vs the base")
    assert r.status == "ok" and "match the source" in r.finding
    # photos-l's source has no clear polarity (about half of the photos each way): never a polarity alarm
    flipped = [ds.replace(images=255 - ds.images) for ds in split]
    assert all(r.check != "preprocessing vs the base" or "polarity" not in r.finding
               for r in audit(*flipped, base="photos-l").rows)


def test_preprocessing_no_polarity_alarm_for_images_without_a_clear_polarity():
    # photos (about half each way) against a base with a clear polarity (scans-s): no clear polarity, no "invert"
    photos = data.split(data.load("photos"), how="stratified", seed=0)
    report = audit(*photos, base="scans-s")
    assert all("invert" not in r.finding for r in report.rows), report.text()
    r = row(report, "preprocessing vs the base")
    assert r.status == "ok" and "no clear polarity" in r.finding
    # and still an alarm when the share lies clearly on the other side
    flipped = [ds.replace(images=255 - ds.images) for ds in data.split(data.load("clinic"), how="group", seed=0)]
    assert row(audit(*flipped, base="scans-s"), "preprocessing vs the base").status == "risk"


def test_preprocessing_no_false_alarm_on_real_digits(digits_split):
    for base in ("scans-bn", "scans-s"):
        report = audit(*digits_split, base=base)
        rows = [r for r in report.rows if r.check == "preprocessing vs the base"]
        assert all(r.status == "ok" for r in rows), [r.finding for r in rows]
    assert len([r for r in audit(*digits_split, base="scans-bn").rows if r.check == "preprocessing vs the base"]) == 1


def test_pixel_profile():
    scans = data.load("scans_test")
    assert audit_module.pixel_profile(scans)[0] > 0.9
    assert audit_module.pixel_profile(scans.replace(images=255 - scans.images))[0] < 0.1
