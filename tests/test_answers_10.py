"""The answer key of 10_compounding_mistakes, without running the notebook: each key accepts its own answer and
rejects a wrong one, on small fake contexts."""

from types import SimpleNamespace

import numpy as np
import pytest

from course_lib import exercises

KEYS = exercises.answer_key("10")


def verdict(check_fn, answer):
    result = check_fn(answer)
    return bool(result[0] if isinstance(result, tuple) else result)


def test_ids_in_notebook_order():
    assert list(KEYS) == ["10.p1", "10.1", "10.2", "10.3", "10.4"]
    assert [k for k, key in KEYS.items() if key.is_open] == ["10.3", "10.4"]
    assert [k for k, key in KEYS.items() if key.predict] == ["10.p1"]


@pytest.mark.parametrize("gaps, right, wrong", [
    ({"the base": [0.09, 0.1, 0.08], "the rate": [0.2, 0.2, 0.2]}, "no", "yes"),
    ({"the base": [-0.01, 0.0, -0.02], "the rate": [0.2, 0.2, 0.2]}, "yes", "no"),
])
def test_prediction_follows_the_measured_gaps(gaps, right, wrong):
    check, solution, answer = KEYS["10.p1"].build(gaps={k: np.array(v) for k, v in gaps.items()})
    assert answer == right and verdict(check, right) and verdict(check, right.upper())
    assert not verdict(check, wrong)
    assert "fix the base alone" in solution


def test_balanced_accuracy_by_hand():
    ev = SimpleNamespace(recall=np.array([0.9, 0.95, 1.0, 0.2, 0.0]), accuracy=0.85)
    check, solution, answer = KEYS["10.1"].build(ev=ev)
    assert answer == pytest.approx(0.61)
    assert verdict(check, answer) and verdict(check, 0.612)
    assert not verdict(check, 0.85) and not verdict(check, 0.5)
    assert "0.610" in solution


def test_the_comparison_that_changes_what_the_number_means():
    check, _, answer = KEYS["10.2"].build()
    assert verdict(check, answer) and verdict(check, "Per-class breakdown")
    assert not verdict(check, "frozen baseline") and not verdict(check, "non-transfer control")


def test_open_exercises_have_measured_solutions():
    for key_id in ("10.3", "10.4"):
        key = KEYS[key_id]
        assert key.is_open and "seeds 0, 1, 2" in key.solution and "to be measured" not in key.solution
