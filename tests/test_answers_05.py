"""The answer key of 05_skipped_baseline, without running the notebook: each key accepts its own answer and
rejects a wrong one, on small fake contexts."""

import numpy as np
import pytest

from course_lib import exercises

KEYS = exercises.answer_key("05")
COUNTS = {"frozen baseline": 325, "fine-tune": 23621, "from scratch": 23621}    # scans-s with a 5-class head


def verdict(check_fn, answer):
    result = check_fn(answer)
    return bool(result[0] if isinstance(result, tuple) else result)


def test_ids_in_notebook_order():
    assert list(KEYS) == ["05.p1", "05.p2", "05.1", "05.2", "05.3", "05.4"]
    assert [k for k, key in KEYS.items() if key.is_open] == ["05.3", "05.4"]
    assert [k for k, key in KEYS.items() if key.predict] == ["05.p1", "05.p2"]


def test_storage_ratio_for_ten_tasks():
    check, solution, answer = KEYS["05.1"].build(counts=COUNTS)
    assert answer == pytest.approx(10 * 23621 / (23621 - 325 + 10 * 325))
    assert verdict(check, answer) and verdict(check, 8.9)
    assert not verdict(check, 10) and not verdict(check, 72.7) and not verdict(check, "8.9")
    assert "8.90" in solution


def test_storage_ratio_limit():
    check, solution, answer = KEYS["05.2"].build(counts=COUNTS)
    assert answer == pytest.approx(23621 / 325)
    assert verdict(check, answer) and verdict(check, 73)
    assert not verdict(check, 8.9) and not verdict(check, float("inf"))
    assert "72.7" in solution


@pytest.mark.parametrize("key_id, gap, right, wrong", [
    ("05.p1", [-0.009, 0.028, 0.003], "level", "fine-tune"),
    ("05.p1", [0.08, 0.07, 0.09], "fine-tune", "level"),
    ("05.p2", [0.059, 0.058, 0.034], "fine-tune", "level"),
    ("05.p2", [0.01, -0.01, 0.0], "level", "fine-tune"),
    ("05.p2", [-0.05, -0.04, -0.06], "frozen", "fine-tune"),
])
def test_predictions_follow_the_measured_gap(key_id, gap, right, wrong):
    check, solution, answer = KEYS[key_id].build(gap=np.array(gap))
    assert answer == right and verdict(check, right) and verdict(check, right.upper())
    assert not verdict(check, wrong)
    assert f"{np.mean(gap):+.3f}" in solution


def test_reveal_says_whether_the_prediction_was_right(capsys):
    ex = exercises.exercise("05.p2")
    ex.check("level")
    ex.reveal(gap=np.array([0.059, 0.058, 0.034]))
    out = capsys.readouterr().out
    assert "Prediction noted" in out and "was off" in out and "pulls ahead" in out


def test_open_exercises_have_measured_solutions():
    for key_id in ("05.3", "05.4"):
        key = KEYS[key_id]
        assert key.is_open and "seeds 0, 1, 2" in key.solution
