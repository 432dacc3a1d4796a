"""The answer key of 03_class_imbalance, without running the notebook: each key accepts its own answer and
rejects a wrong one, on small fake contexts."""

import types

import numpy as np
import pytest

from course_lib import exercises
from course_lib.answers import nb03

KEYS = exercises.answer_key("03")


def verdict(check_fn, answer):
    result = check_fn(answer)
    return bool(result[0] if isinstance(result, tuple) else result)


class FakeBatch:
    """What the key reads of an ImageSet: its labels and its length."""

    def __init__(self, labels):
        self.labels = labels

    def __len__(self):
        return len(self.labels)


def fake_batch(n_flags, n_other):
    return FakeBatch(np.array([1] * n_flags + [0] * n_other))


def fake_eval(recall, precision):
    return types.SimpleNamespace(recall=[0.9, recall], per_class=[{}, {"precision": precision}])


def fake_digit_runs(precision_change):
    return {s: dict(plain=fake_eval(0.3, 0.6), adjusted=fake_eval(0.5, 0.6 + precision_change)) for s in range(3)}


def test_ids_in_notebook_order():
    assert list(KEYS) == ["03.p1", "03.p2", "03.1", "03.2", "03.3", "03.4"]
    assert [k for k, key in KEYS.items() if key.is_open] == ["03.3"]
    assert [k for k, key in KEYS.items() if key.predict] == ["03.p1", "03.p2"]


def test_do_nothing_accuracy():
    check, solution, answer = KEYS["03.1"].build()
    assert verdict(check, answer) and verdict(check, 0.98)
    assert not verdict(check, 0.02) and not verdict(check, "0.98")
    assert "0.98" in solution


def test_threshold_is_the_flag_share():
    batch = fake_batch(3, 64)
    check, solution, answer = KEYS["03.2"].build(batch=batch)
    assert answer == pytest.approx(3 / 67)
    assert verdict(check, 3 / 67) and verdict(check, round(3 / 67, 3))
    assert not verdict(check, 0.5) and not verdict(check, 0.05)
    assert "3 of 67" in solution


def test_flag_threshold_function_checked_by_behaviour():
    check, _, answer = KEYS["03.4"].build()
    assert verdict(check, answer)

    def right(prior_flag, tau=1.0):
        return 1 / (1 + ((1 - prior_flag) / prior_flag) ** tau)

    assert verdict(check, right)
    ok, message = check(lambda prior_flag, tau=1.0: prior_flag)       # right only at tau = 1
    assert not ok and "tau=0.0" in message
    ok, message = check(lambda prior_flag, tau=1.0: None)             # the empty body
    assert not ok and "returned None" in message
    ok, message = check(lambda prior_flag, tau=1.0: 1 / 0)            # the learner's error: a sentence
    assert not ok and "ZeroDivisionError" in message
    ok, message = check(0.05)                                         # a number, not the function
    assert not ok and "function" in message


@pytest.mark.parametrize("recall, right, wrong", [(0.24, "at most half", "most"), (0.7, "most", "at most half")])
def test_prediction_flag_recall(recall, right, wrong):
    check, solution, answer = KEYS["03.p1"].build(flag_recall=recall)
    assert verdict(check, answer) and verdict(check, right)
    assert not verdict(check, wrong)
    assert f"{recall:.0%}" in solution


@pytest.mark.parametrize("change, right, wrong", [(-0.26, "fall", "rise"), (0.1, "rise", "fall")])
def test_prediction_precision(change, right, wrong):
    check, solution, answer = KEYS["03.p2"].build(digit_runs=fake_digit_runs(change))
    assert verdict(check, answer) and verdict(check, right) and verdict(check, right.upper())
    assert not verdict(check, wrong)
    assert f"{change:+.2f}" in solution


def test_reveal_says_whether_the_prediction_was_right(capsys):
    ex = exercises.exercise("03.p1")
    ex.check("most")
    ex.reveal(flag_recall=0.24)
    out = capsys.readouterr().out
    assert "Prediction noted" in out and "was off" in out


def test_open_exercise_has_a_measured_solution():
    key = KEYS["03.3"]
    assert key.is_open and "seed 2" in key.solution and "150 epochs" in key.solution


def test_reference_threshold_cases():
    assert nb03.reference_threshold(0.05, 1.0) == pytest.approx(0.05)
    assert nb03.reference_threshold(0.05, 0.0) == pytest.approx(0.5)
