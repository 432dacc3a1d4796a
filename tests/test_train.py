import re

import numpy as np
import pytest
import torch

from course_lib import data, models, recipes, repro, train


@pytest.fixture(scope="module")
def few():
    clinic = data.load("clinic")
    return clinic.take_per_class(6, seed=0), clinic.take_per_class(6, seed=1)


def test_fit_returns_a_history_and_learns(few):
    tr, va = few
    repro.seed_everything(0)
    model = models.load_base("scans-s", n_classes=5)
    hist = recipes.feature_extract(model, tr, va, epochs=15, progress=False)
    assert len(hist) == 15 and len(hist.val_acc) == 15
    assert hist.train_acc[-1] > hist.train_acc[0]
    assert hist.train_loss[-1] < hist.train_loss[0]
    assert "epochs" in repr(hist)


def test_same_seed_same_result(few):
    tr, _ = few
    runs = []
    for _ in range(2):
        repro.seed_everything(3)
        m = models.build("small", n_classes=5)
        runs.append(train.fit(m, tr, epochs=3, lr=3e-3, seed=3, progress=False).train_loss)
    assert runs[0] == runs[1]


def test_frozen_backbone_does_not_change(few):
    tr, _ = few
    m = models.load_base("scans-s", n_classes=5)
    before = {k: v.clone() for k, v in m.backbone.state_dict().items()}
    recipes.feature_extract(m, tr, epochs=2, progress=False)
    assert all(torch.equal(before[k], v) for k, v in m.backbone.state_dict().items())


def test_bad_arguments_are_explained(few):
    tr, va = few
    m = models.build("small", n_classes=5)
    with pytest.raises(ValueError, match="lr must be greater than zero.*recipes.LR_FINETUNE"):
        train.fit(m, tr, lr=0)
    with pytest.raises(ValueError, match="epochs must be greater than zero"):
        train.fit(m, tr, epochs=0)
    with pytest.raises(TypeError, match="epochs must be an integer|epochs must be an? integer"):
        train.fit(m, tr, epochs=2.5)
    with pytest.raises(ValueError, match="early_stopping needs validation data"):
        train.fit(m, tr, early_stopping=3)
    with pytest.raises(TypeError, match="ImageSet or an \\(images, labels\\) pair"):
        train.fit(m, "clinic")
    models.freeze(m, "all")
    with pytest.raises(ValueError, match="nothing to train"):
        train.fit(m, tr)


def test_labels_outside_the_class_range(few):
    tr, _ = few
    m = models.build("small", n_classes=3)
    with pytest.raises(ValueError, match=r"must lie in 0..2 .* n_classes=5"):
        train.fit(m, tr, epochs=1)


def test_mismatched_and_empty_inputs():
    m = models.build("small", n_classes=2)
    x = np.zeros((4, 24, 24), np.uint8)
    with pytest.raises(ValueError, match="same length"):
        train.fit(m, (x, np.array([0, 1, 0])), epochs=1)
    with pytest.raises(ValueError, match="empty"):
        train.fit(m, (x[:0], np.array([], dtype=np.int64)), epochs=1)
    with pytest.raises(ValueError, match=r"shaped \(N, H, W\)"):
        train.fit(m, (np.zeros((4, 24)), np.array([0, 1, 0, 1])), epochs=1)
    with pytest.raises(TypeError, match="integer class ids"):
        train.fit(m, (x, np.array([0.0, 1.0, 0.0, 1.0])), epochs=1)
    with pytest.raises(ValueError, match="class_weights must be 2"):
        train.fit(m, (x, np.array([0, 1, 0, 1])), epochs=1, class_weights=[1.0, 2.0, 3.0])


def test_interrupt_keeps_completed_epochs(few, capsys):
    tr, va = few
    calls = {"n": 0}
    batches_per_epoch = int(np.ceil(len(tr) / 8))

    def augment(xb):  # stands in for Ctrl-C in the middle of the third epoch
        calls["n"] += 1
        if calls["n"] == 2 * batches_per_epoch + 2:
            raise KeyboardInterrupt
        return xb

    snapshots = []
    m = models.build("small", n_classes=5)
    hist = train.fit(m, tr, va, epochs=10, lr=3e-3, batch_size=8, augment=augment, progress=False,
                     callbacks=[lambda model, h: snapshots.append(
                         {k: v.clone() for k, v in model.state_dict().items()})])
    assert hist.interrupted and len(hist) == 2 and len(hist.val_acc) == 2
    assert all(torch.equal(snapshots[-1][k], v) for k, v in m.state_dict().items())
    assert "interrupted" in capsys.readouterr().out


def test_early_stopping_restores_best(few):
    tr, va = few
    repro.seed_everything(0)
    m = models.build("small", n_classes=5)
    hist = train.fit(m, tr, va, epochs=60, lr=3e-3, early_stopping=3, progress=False, seed=0)
    assert hist.best_epoch is not None
    if hist.stopped_early:
        assert len(hist) < 60
    val_loss, _ = train._loss_acc(m, *va.tensors(), torch.device("cpu"))
    assert val_loss == pytest.approx(min(hist.val_loss), rel=1e-5)


def test_callbacks_and_warmup(few):
    tr, _ = few
    m = models.build("small", n_classes=5)
    hist = train.fit(m, tr, epochs=4, lr=1e-3, warmup_epochs=2, batch_size=10, progress=False,
                     callbacks=[lambda model, h: h.record("twice", 2 * h.epoch[-1])])
    assert hist.extra["twice"] == [2.0, 4.0, 6.0, 8.0]
    assert hist.lr[0] < hist.lr[1] == pytest.approx(1e-3)


def test_evaluate_per_class(few):
    _, va = few
    m = models.load_base("scans-s", n_classes=5)
    ev = train.evaluate(m, va)
    assert ev.confusion.shape == (5, 5) and ev.confusion.sum() == len(va)
    assert len(ev.per_class) == 5 and ev.recall.shape == (5,)
    assert ev.per_class[0]["name"] == va.class_names[0]
    assert "balanced accuracy" in ev.table()
    with pytest.raises(ValueError, match="class_names has 2 names"):
        train.evaluate(m, va, class_names=["a", "b"])


def test_fine_tune_recipe_runs_two_phases(few):
    tr, va = few
    m = models.load_base("scans-s", n_classes=5)
    hist = recipes.fine_tune(m, tr, va, head_epochs=2, epochs=3, progress=False)
    assert len(hist) == 5 and hist.epoch == [1, 2, 3, 4, 5] and len(hist.val_acc) == 5
    assert hist.extra["phase"] == [1, 1, 2, 2, 2]
    assert models.trainable_parts(m) == ["block1", "block2", "block3", "head"]


def test_seed_and_device_helpers():
    assert repro.seed_everything(5) == 5 and torch.get_num_threads() <= 2
    with pytest.raises(ValueError, match="non-negative integer"):
        repro.seed_everything(-1)
    assert repro.get_device("cpu").type == "cpu"
    assert repro.get_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(ValueError, match="Unknown device preference 'tpu'"):
        repro.get_device("tpu")


def test_frozen_backbone_shortcut_matches_the_full_forward_pass(few):
    """fit() caches features when the backbone is frozen; an identity augment forces the slow path."""
    tr, va = few
    results = []
    for augment in (None, lambda xb: xb):
        repro.seed_everything(0)
        m = models.load_base("scans-s", n_classes=5)
        models.freeze(m, "backbone")
        h = train.fit(m, tr, va, epochs=5, lr=1e-2, seed=0, augment=augment, progress=False)
        results.append((h.train_loss, h.val_acc, m.head.weight.detach().clone()))
    (loss_a, acc_a, w_a), (loss_b, acc_b, w_b) = results
    assert loss_a == pytest.approx(loss_b, rel=1e-4)
    assert acc_a == pytest.approx(acc_b, abs=1e-6)
    assert torch.allclose(w_a, w_b, atol=1e-5)


def test_epochs_to_reach_a_fraction_of_the_best():
    h = train.History(epoch=[1, 2, 3, 4], val_acc=[0.2, 0.5, 0.9, 1.0])
    assert h.epochs_to(0.9) == 3 and h.epochs_to(0.5) == 2 and h.epochs_to(1.0) == 4
    with pytest.raises(ValueError, match="fraction must lie"):
        h.epochs_to(1.5)
    with pytest.raises(ValueError, match="train with val="):
        train.History().epochs_to()


def test_thread_count_from_the_environment(monkeypatch):
    monkeypatch.setenv("COURSE_THREADS", "2")
    repro.seed_everything(0)
    assert torch.get_num_threads() == min(2, __import__("os").cpu_count())
    monkeypatch.setenv("COURSE_THREADS", "two")
    with pytest.raises(ValueError, match="COURSE_THREADS must be a whole number"):
        repro.seed_everything(0)
    monkeypatch.delenv("COURSE_THREADS")
    repro.seed_everything(0)
    assert repro.DEFAULT_THREADS == 1 and torch.get_num_threads() == 1    # one thread: fast on busy cores too


@pytest.mark.parametrize("kwargs, error, message", [
    ({"head_epochs": 0}, ValueError, "head_epochs must be greater than zero"),
    ({"epochs": 2.5}, TypeError, "epochs must be an integer"),
    ({"lr": -3e-4}, ValueError, r"lr must be greater than zero, got -0.0003\. The course .* fine-tunes at 3e-4"),
    ({"head_lr": 0}, ValueError, "head_lr must be greater than zero"),
    ({"decay": "fast"}, TypeError, "decay must be a number"),
])
def test_fine_tune_recipe_checks_its_arguments_before_training(few, kwargs, error, message):
    tr, _ = few
    m = models.load_base("scans-s", n_classes=5)
    before = [p.detach().clone() for p in m.parameters()]
    with pytest.raises(error, match=message):
        recipes.fine_tune(m, tr, **kwargs)
    assert all(torch.equal(a, b) for a, b in zip(before, m.parameters()))   # nothing was trained


def test_fine_tune_recipe_rejects_empty_or_mismatched_data(few):
    m = models.load_base("scans-s", n_classes=5)
    x, y = few[0].tensors()
    with pytest.raises(ValueError, match="(?i)empty|0 images|no images"):
        recipes.fine_tune(m, (x[:0], y[:0]), head_epochs=1, epochs=1, progress=False)
    with pytest.raises(ValueError, match="same length.*train images=30, train labels=29"):
        recipes.fine_tune(m, (x, y[:-1]), head_epochs=1, epochs=1, progress=False)


def test_feature_helper_leaves_the_model_mode_as_it_was(few):
    """train.backbone_features (shared by fit, leaks, forgetting and domains) restores train/eval mode."""
    m = models.load_base("scans-s", n_classes=5)
    x, _ = few[0].tensors()
    for mode in (True, False):
        m.train(mode)
        feats = train.backbone_features(m, x)
        assert m.training is mode and feats.shape == (len(x), m.n_features)


# ---------------------------------------------------------------- notebook parameters (repro.check_parameters)
@pytest.mark.parametrize("seed, fast, error, words", [
    (0, "false", TypeError, "FAST must be True or False, got 'false'"),
    (0, 2, TypeError, "FAST must be True or False, got 2"),
    (0, None, TypeError, "FAST must be True or False"),
    ("abc", False, TypeError, "SEED must be a whole number such as 0 or 3, got 'abc'"),
    (1.5, False, TypeError, "SEED must be a whole number"),
    (True, False, TypeError, "SEED must be a whole number"),
    (-1, False, ValueError, "SEED must be 0 or more, got -1"),
])
def test_check_parameters_refuses_wrong_types(seed, fast, error, words):
    from course_lib.repro import check_parameters
    with pytest.raises(error, match=re.escape(words)):
        check_parameters(SEED=seed, FAST=fast)


def test_check_parameters_accepts_the_usual_values():
    import numpy as np
    from course_lib.repro import check_parameters
    for seed, fast in [(0, False), (57, True), (np.int64(3), False)]:
        assert check_parameters(SEED=seed, FAST=fast) is None


# --------------------------------------------------------------------------- issue 14: no silent failures in fit
def test_a_non_finite_loss_stops_training_at_once(few):
    tr, va = few
    model = models.build("small", n_classes=5)
    calls = []

    def nan_in_epoch_2(m):
        calls.append(1)
        return torch.tensor(float("nan")) if len(calls) > 1 else torch.zeros(())

    with pytest.warns(RuntimeWarning, match=r"epoch 2: the training loss became nan.*learning rate too high"):
        hist = train.fit(model, tr, va, epochs=5, batch_size=64, regularizer=nan_in_epoch_2, seed=0, progress=False)
    assert hist.diverged and len(hist) == 1 and len(calls) == 2          # stopped at the first non-finite loss
    assert all(torch.isfinite(p).all() for p in model.parameters())
    xv, yv = train.as_tensors(va)
    assert train._loss_acc(model, xv, yv, "cpu")[0] == pytest.approx(hist.val_loss[-1], rel=1e-6)
    assert "diverged" in repr(hist)


@pytest.mark.parametrize("kwargs, match", [
    ({"epoch": 3}, r"Did you mean epochs=\.\.\.\?"),
    ({"learning_rate": 0.1}, r"Did you mean lr=\.\.\.\?"),
    ({"num_classes": 5}, "set when the model is built"),
    ({"batchsize": 8}, r"Did you mean batch_size=\.\.\.\?"),
])
def test_misspelt_keywords_name_the_right_one(few, kwargs, match):
    with pytest.raises(TypeError, match=match):
        train.fit(models.build("small", n_classes=5), few[0], **kwargs)


def test_fit_refuses_garbage_inputs_before_training(few):
    tr, va = few
    x, y = tr.images, tr.labels
    model = models.build("small", n_classes=5)
    before = [p.detach().clone() for p in model.parameters()]
    cases = [
        (dict(train=(x.astype(np.float32), y)), ValueError, "never scaled to 0..1"),
        (dict(train=(np.where(x > 0, x / 255.0, np.nan), y)), ValueError, "NaN or infinite"),
        (dict(train=(x, np.array(tr.class_names)[y])), TypeError, "LabelEncoder"),
        (dict(train=tr, seed=1.5), ValueError, "seed must be a non-negative integer"),
        (dict(train=tr, val=data.load("field").take_per_class(2)), ValueError, "val has other classes than train"),
        (dict(train=tr, val=(va.images, va.labels + 3)), ValueError, "seems to come from another task"),
    ]
    for kwargs, error, match in cases:
        with pytest.raises(error, match=match):
            train.fit(model, epochs=1, progress=False, **kwargs)
    with pytest.raises(ValueError, match="for a model with 10 outputs, but train has 5 classes"):
        train.fit(models.build("small", n_classes=10), tr, epochs=1, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
