"""The answer key of notebook 02: each key's own answer passes its check, a wrong one fails."""

import numpy as np
import pytest

from course_lib import exercises
from course_lib.answers import nb02
from course_lib.recipes import LR_SCRATCH

KEYS = exercises.answer_key("02")


def verdict(check_fn, answer):
    result = check_fn(answer)
    return bool(result[0] if isinstance(result, tuple) else result)


def test_ids_in_order():
    assert list(KEYS) == ["02.p", "02.1", "02.2", "02.3", "02.4", "02.5"]


def test_block1_rate():
    check_fn, _, answer = KEYS["02.2"].build()
    assert verdict(check_fn, answer) and verdict(check_fn, 0.003 / 17.576)
    assert not verdict(check_fn, LR_SCRATCH / 2.6 ** 2)
    assert not verdict(check_fn, LR_SCRATCH)


@pytest.mark.parametrize("steps", [160, 24])      # the notebook's budget, and FAST's (12 epochs x 2 batches)
def test_adam_bound_follows_the_budget(steps):
    check_fn, solution, answer = KEYS["02.1"].build(steps=steps)
    assert answer == pytest.approx(LR_SCRATCH * steps)
    assert verdict(check_fn, answer) and verdict(check_fn, round(answer, 2))
    assert not verdict(check_fn, LR_SCRATCH)              # one step, not the run
    assert not verdict(check_fn, answer * 10)
    assert f"{answer:.2f}" in solution


def test_open_keys_have_measured_solutions():
    for id in ("02.3", "02.4", "02.5"):
        key = KEYS[id]
        assert key.is_open
        _, solution, _ = key.build()
        assert "seeds 0, 1, 2" in solution and "conclude" in solution, id


def fake_runs(broken, frozen):
    return {nb02.BROKEN: [{"target": t} for t in broken], nb02.FROZEN: [{"target": t} for t in frozen]}


@pytest.mark.parametrize("broken, frozen, right", [
    ([0.70, 0.71, 0.69], [0.76, 0.75, 0.77], "not above"),
    ([0.765, 0.76, 0.77], [0.76, 0.76, 0.76], "not above"),   # within the 0.01 margin
    ([0.80, 0.82, 0.81], [0.76, 0.75, 0.77], "above"),
])
def test_prediction_follows_the_measurement(broken, frozen, right):
    check_fn, solution, answer = KEYS["02.p"].build(runs=fake_runs(broken, frozen))
    assert answer == right
    assert verdict(check_fn, right.upper())
    assert all(not verdict(check_fn, o) for o in nb02.TARGET_CHOICES if o != right)
    ok, message = check_fn("below")
    assert not ok and "choose one of" in message
    assert f'"{right}"' in solution


def test_reveal(capsys):
    ex = exercises.exercise("02.p")
    ex.check("above")
    ex.reveal(runs=fake_runs([0.70, 0.70, 0.70], [0.76, 0.76, 0.76]))
    assert "Your prediction was off" in capsys.readouterr().out
