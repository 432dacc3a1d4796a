"""The answer key of notebook 01: each key's own answer passes its check, a wrong one fails."""

import pytest

from course_lib import exercises
from course_lib.answers import nb01

KEYS = exercises.answer_key("01")


def verdict(check_fn, answer):
    result = check_fn(answer)
    return bool(result[0] if isinstance(result, tuple) else result)


def test_ids_in_order():
    assert list(KEYS) == ["01.p", "01.1", "01.2", "01.3", "01.4"]


@pytest.mark.parametrize("id, right, wrong", [
    ("01.1", 26 / 27, 0.5), ("01.1", 0.96, 2 / 3),
    ("01.2", "Shrinks", "grows"),
    ("01.3", "GroupKFold", "StratifiedKFold"), ("01.3", "StratifiedGroupKFold", "TimeSeriesSplit"),
])
def test_checked_keys(id, right, wrong):
    check_fn, _, answer = KEYS[id].build()
    assert verdict(check_fn, answer)
    assert verdict(check_fn, right)
    assert not verdict(check_fn, wrong)


def test_text_answer_to_a_number_gets_a_sentence():
    check_fn, _, _ = KEYS["01.1"].build()
    ok, message = check_fn("0.96")
    assert not ok and "number" in message


def test_open_key_has_a_measured_solution():
    key = KEYS["01.4"]
    assert key.is_open
    _, solution, _ = key.build()
    assert "seeds 0, 1, 2" in solution and "conclude" in solution


def fake_results(val, test):
    return {nb01.SPECIMEN_LEAK: {"leaky val": val, "leaky test": test, "honest val": test, "honest test": test}}


@pytest.mark.parametrize("val, test, right", [
    ([0.7, 0.68, 0.72], [0.5, 0.51, 0.49], "higher"),
    ([0.5, 0.52, 0.5], [0.5, 0.5, 0.51], "about the same"),
    ([0.4, 0.42, 0.41], [0.5, 0.5, 0.5], "lower"),
])
def test_prediction_follows_the_measurement(val, test, right):
    check_fn, solution, answer = KEYS["01.p"].build(results=fake_results(val, test))
    assert answer == right
    assert verdict(check_fn, right.title())
    assert all(not verdict(check_fn, other) for other in nb01.GAP_CHOICES if other != right)
    ok, message = check_fn(0.7)
    assert not ok and "choose one of" in message
    assert f'"{right}"' in solution


def test_reveal(capsys):
    ex = exercises.exercise("01.p")
    ex.check("about the same")
    ex.reveal(results=fake_results([0.7, 0.7, 0.7], [0.5, 0.5, 0.5]))
    assert "Your prediction was off" in capsys.readouterr().out
