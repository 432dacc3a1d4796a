"""Ctrl-C at any moment of training: the returned history and the model's weights describe the same epoch.

Issue 14: an interrupt during a callback used to return a history of N epochs with the weights of N-1, and
``fine_tune`` printed "kept 5 completed epochs" while returning 8.  Each test below raises KeyboardInterrupt at
one point of an epoch (or of a recipe) and checks three things: the history is marked interrupted and every
series in it (``extra`` included) has one entry per returned epoch; the model's validation loss, recomputed
now, is the last one the history holds (so the weights are those of that epoch); and the message printed counts
the epochs returned.
"""

import re

import pytest
import torch

from course_lib import data, models, recipes, train

EPOCHS, BATCH = 3, 8          # 20 training images: 3 batches per epoch


@pytest.fixture(scope="module")
def sets():
    clinic = data.load("clinic")
    tr, va = data.split(clinic, how="group", seed=0)
    return tr.take_per_class(4, seed=0), va.take_per_class(4, seed=0)


class Trip:
    """Counts calls and raises KeyboardInterrupt at call number ``at`` (1-based)."""

    def __init__(self, at):
        self.at, self.calls = at, 0

    def __call__(self):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt


def check_consistent(model, hist, val, printed):
    assert hist.interrupted
    n = len(hist)
    for name in ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr"):
        assert len(getattr(hist, name)) == n, name
    for name, series in hist.extra.items():
        assert len(series) == n, name
    assert hist.best_epoch is None
    counts = [int(k) for k in re.findall(r"history of (\d+) completed", printed)]
    assert counts and counts[-1] == n, printed
    if n:
        xv, yv = train.as_tensors(val)
        loss, _ = train._loss_acc(model, xv, yv, "cpu")
        assert loss == pytest.approx(hist.val_loss[-1], rel=1e-6, abs=1e-7)
        assert hist.final_val_acc == hist.val_acc[-1]


def small():
    torch.manual_seed(0)
    return models.build("small", n_classes=5)


def record(model, hist):
    hist.record("seen", len(hist))


# Where the interrupt lands, as (fit keyword arguments, expected epochs returned); the trip counts calls.
def case_batch(trip):          # inside a training step (augmentation of the 2nd batch of epoch 2)
    return dict(augment=lambda xb: (trip(), xb)[1]), 1


def case_loss(trip):           # while the loss is computed (a regularizer), 1st batch of epoch 2
    return dict(regularizer=lambda m: (trip(), torch.zeros(()))[1]), 1


def case_callback(trip):       # in a callback, after another callback recorded a value for epoch 2
    return dict(callbacks=[record, lambda m, h: trip()]), 1


def case_last_callback(trip):  # in the last epoch's callback
    return dict(callbacks=[record, lambda m, h: trip()]), 2


POINTS = {"batch": (case_batch, 5, 1), "loss": (case_loss, 4, 1), "callback": (case_callback, 2, 1),
          "last epoch's callback": (case_last_callback, 3, 2)}


@pytest.mark.parametrize("point", list(POINTS))
def test_interrupt_inside_an_epoch(sets, point, capsys):
    tr, va = sets
    make, at, expected = POINTS[point]
    kwargs, _ = make(Trip(at))
    model = small()
    hist = train.fit(model, tr, va, epochs=EPOCHS, batch_size=BATCH, seed=0, progress=False, **kwargs)
    assert len(hist) == expected
    check_consistent(model, hist, va, capsys.readouterr().out)


@pytest.mark.parametrize("point, target, at, expected", [
    ("validation", "_loss_acc", 2, 1),      # while epoch 2 is scored on val
    ("snapshot", "_snapshot", 3, 1),        # while epoch 2's weights are copied (the 1st copy is the start)
    ("first epoch", "_loss_acc", 1, 0),     # before any epoch completed
])
def test_interrupt_in_the_bookkeeping(sets, monkeypatch, point, target, at, expected, capsys):
    tr, va = sets
    trip, real = Trip(at), getattr(train, target)
    monkeypatch.setattr(train, target, lambda *a, **k: (trip(), real(*a, **k))[1])
    model = small()
    start = {k: v.clone() for k, v in model.state_dict().items()}
    hist = train.fit(model, tr, va, epochs=EPOCHS, batch_size=BATCH, seed=0, progress=False,
                     callbacks=[record])
    monkeypatch.setattr(train, target, real)
    assert len(hist) == expected
    check_consistent(model, hist, va, capsys.readouterr().out)
    if expected == 0:
        assert all(torch.equal(start[k], v) for k, v in model.state_dict().items())


def test_interrupt_while_the_progress_bar_updates(sets, monkeypatch, capsys):
    tr, va = sets
    trip = Trip(2)

    class Bar:
        def update(self, n):
            trip()

        def set_postfix(self, *a):
            pass

        def close(self):
            pass

    monkeypatch.setattr(train, "_progress", lambda *a: Bar())
    model = small()
    hist = train.fit(model, tr, va, epochs=EPOCHS, batch_size=BATCH, seed=0, progress=True, callbacks=[record])
    assert len(hist) == 2                 # epoch 2 had completed: its weights were kept before the bar moved
    check_consistent(model, hist, va, capsys.readouterr().out)


def test_interrupt_with_early_stopping_keeps_the_last_epoch_not_the_best(sets, capsys):
    tr, va = sets
    model = small()
    hist = train.fit(model, tr, va, epochs=4, batch_size=BATCH, seed=0, progress=False, early_stopping=3,
                     callbacks=[record, lambda m, h: len(h) == 3 and (_ for _ in ()).throw(KeyboardInterrupt)])
    assert len(hist) == 2
    check_consistent(model, hist, va, capsys.readouterr().out)


def test_an_uninterrupted_run_is_the_same_as_before(sets):
    """The bookkeeping that makes interrupts safe changes nothing in a normal run (same seed, same numbers)."""
    tr, va = sets
    a, b = small(), small()
    ha = train.fit(a, tr, va, epochs=2, batch_size=BATCH, seed=0, progress=False)
    hb = train.fit(b, tr, va, epochs=2, batch_size=BATCH, seed=0, progress=False, callbacks=[record])
    assert ha.val_loss == hb.val_loss and not ha.interrupted
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


# --------------------------------------------------------------------------- recipes
def stop_at(n):
    """A callback that raises KeyboardInterrupt when the recipe's history reaches ``n`` epochs in its phase."""
    return lambda m, h: len(h) == n and (_ for _ in ()).throw(KeyboardInterrupt)


@pytest.mark.parametrize("phase, callbacks, expected", [
    ("head phase", [stop_at(2)], 1),              # phase 1, in its 2nd epoch's callbacks
    ("fine-tuning phase", [stop_at(3)], 4),       # phase 2, in its 3rd epoch: 2 head epochs + 2 complete
])
def test_fine_tune_interrupted_in_either_phase(sets, phase, callbacks, expected, capsys):
    tr, va = sets
    model = models.load_base("scans-s", n_classes=5)
    if phase == "head phase":
        hist = recipes.fine_tune(model, tr, va, head_epochs=3, epochs=3, batch_size=BATCH, seed=0,
                                 progress=False, callbacks=callbacks)
    else:
        # stop_at(3) would already fire in the head phase if it lasted 3 epochs: give the head 2
        hist = recipes.fine_tune(model, tr, va, head_epochs=2, epochs=3, batch_size=BATCH, seed=0,
                                 progress=False, callbacks=callbacks)
    assert len(hist) == expected
    assert len(hist.extra["phase"]) == expected
    check_consistent(model, hist, va, capsys.readouterr().out)


def test_fine_tune_interrupted_between_the_phases(sets, monkeypatch, capsys):
    tr, va = sets
    model = models.load_base("scans-s", n_classes=5)

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(recipes.models, "param_groups", interrupted)
    hist = recipes.fine_tune(model, tr, va, head_epochs=2, epochs=2, batch_size=BATCH, seed=0, progress=False)
    assert len(hist) == 2 and hist.extra["phase"] == [1.0, 1.0]
    check_consistent(model, hist, va, capsys.readouterr().out)


def test_gradual_unfreeze_interrupted_between_stages(sets, monkeypatch, capsys):
    tr, va = sets
    model = models.load_base("scans-s", n_classes=5)
    trip, real = Trip(3), recipes.models.freeze_up_to
    monkeypatch.setattr(recipes.models, "freeze_up_to", lambda *a: (trip(), real(*a))[1])
    hist = recipes.gradual_unfreeze(model, tr, va, epochs_per_stage=1, batch_size=BATCH, seed=0, progress=False)
    assert len(hist) == 2 and hist.extra["stage"] == [0.0, 1.0]
    check_consistent(model, hist, va, capsys.readouterr().out)


def test_gradual_unfreeze_interrupted_inside_a_stage_counts_every_stage(sets, capsys):
    tr, va = sets
    model = models.load_base("scans-s", n_classes=5)
    hist = recipes.gradual_unfreeze(model, tr, va, epochs_per_stage=2, batch_size=BATCH, seed=0, progress=False,
                                    callbacks=[lambda m, h: h.label.endswith("2 block(s) thawed") and len(h) == 2
                                               and (_ for _ in ()).throw(KeyboardInterrupt)])
    assert len(hist) == 5                 # 2 + 2 + 1 completed epochs of stage 2
    check_consistent(model, hist, va, capsys.readouterr().out)
