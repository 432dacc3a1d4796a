"""The answer key of 09_capstone_decision_path, without running the notebook: each checked key accepts its own
answer and rejects a wrong one, on small fake contexts; 09.1 is checked by calling the learner's function."""

import numpy as np
import pytest

from course_lib import exercises

KEYS = exercises.answer_key("09")


def verdict(check_fn, answer):
    result = check_fn(answer)
    return bool(result[0] if isinstance(result, tuple) else result)


def message(check_fn, answer):
    return check_fn(answer)[1]


def test_ids_in_notebook_order():
    assert list(KEYS) == ["09.p", "09.1", "09.2", "09.3", "09.4", "09.5"]
    assert [k for k, key in KEYS.items() if key.is_open] == ["09.3", "09.4", "09.5"]
    assert [k for k, key in KEYS.items() if key.predict] == ["09.p"]


def probes(scans, photos):
    return {"scans-s": np.array(scans), "photos-l": np.array(photos)}


@pytest.mark.parametrize("scans, photos, right, wrong", [
    ([0.758, 0.767, 0.775], [0.483, 0.558, 0.558], "scans-s by far", "tie"),
    ([0.70, 0.70], [0.60, 0.60], "scans-s", "scans-s by far"),
    ([0.70, 0.72], [0.70, 0.70], "tie", "photos-l"),
    ([0.50, 0.50], [0.70, 0.70], "photos-l", "tie"),
])
def test_prediction_bands_follow_the_probe_gap(scans, photos, right, wrong):
    check, solution, answer = KEYS["09.p"].build(probe_val=probes(scans, photos))
    assert answer == right
    assert verdict(check, right) and verdict(check, " " + right.upper())
    assert not verdict(check, wrong) and not verdict(check, 0.2)
    assert repr(right) in solution


def test_prediction_is_recorded_then_revealed(capsys):
    ex = exercises.exercise("09.p")
    ex.check("photos-l")
    assert "Prediction noted" in capsys.readouterr().out
    ex.reveal(probe_val=probes([0.77], [0.53]))
    out = capsys.readouterr().out
    assert "✘ Your prediction was off" in out and "0.770" in out


def good_choose(val_means, stored, within):
    best = max(val_means.values())
    return min((n for n in val_means if val_means[n] >= best - within), key=lambda n: stored[n])


def best_score(val_means, stored, within):              # ignores the tolerance and the storage
    return max(val_means, key=val_means.get)


def cheapest(val_means, stored, within):                # ignores the scores
    return min(stored, key=stored.get)


def no_return(val_means, stored, within):
    best = max(val_means.values())


def crashes(val_means, stored, within):
    return val_means["frozen"]


def test_choose_is_checked_by_its_behaviour():
    check, solution, answer = KEYS["09.1"].build()
    assert verdict(check, answer) and verdict(check, good_choose)
    assert "def choose" in solution
    for wrong in (best_score, cheapest):
        assert not verdict(check, wrong)
        assert "which the rule would not choose" in message(check, wrong)
    assert "return" in message(check, no_return)
    assert "KeyError" in message(check, crashes)
    assert "without parentheses" in message(check, "frozen baseline")


def test_choose_cell_gives_feedback_not_a_traceback(capsys):
    exercises.exercise("09.1").check(crashes)
    out = capsys.readouterr().out
    assert "✘ Not yet" in out and "Traceback" not in out
    exercises.exercise("09.1").check(...)
    assert "Not answered yet" in capsys.readouterr().out


@pytest.mark.parametrize("val_means, flip", [
    ({"frozen baseline": 0.767, "fine-tune": 0.775}, 0.008),
    ({"frozen baseline": 0.80, "fine-tune": 0.75}, 0.0),
])
def test_flip_tolerance(val_means, flip):
    check, solution, answer = KEYS["09.2"].build(val_means=val_means)
    assert answer == pytest.approx(flip)
    assert verdict(check, flip) and verdict(check, round(flip + 0.001, 3))
    assert not verdict(check, 0.02) and not verdict(check, flip + 0.005) and not verdict(check, "0.008")
    assert f"{flip:.3f}" in solution


def test_flip_tolerance_matches_the_rule():
    val_means = {"frozen baseline": 0.767, "fine-tune": 0.775}
    stored = {"frozen baseline": 390, "fine-tune": 23686}
    _, _, flip = KEYS["09.2"].build(val_means=val_means)
    assert good_choose(val_means, stored, flip + 0.001) == "frozen baseline"
    assert good_choose(val_means, stored, flip - 0.001) == "fine-tune"


@pytest.mark.parametrize("key_id", ["09.3", "09.4", "09.5"])
def test_open_exercises_give_code_a_measurement_and_a_conclusion(key_id, capsys):
    key = KEYS[key_id]
    assert key.hint and "Measured" in key.solution and "What to conclude" in key.solution
    exercises.exercise(key_id).check()
    assert "open" in capsys.readouterr().out
