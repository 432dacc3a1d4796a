"""The answer key of notebook 00: each key's own answer passes its check, a wrong one fails."""

import numpy as np
import pytest

from course_lib import exercises
from course_lib.answers import nb00

KEYS = exercises.answer_key("00")


def verdict(check_fn, answer):
    result = check_fn(answer)
    return bool(result[0] if isinstance(result, tuple) else result)


def test_ids_in_order():
    assert list(KEYS) == ["00.p", "00.p2", "00.1", "00.2", "00.3", "00.4"]


@pytest.mark.parametrize("id, wrong", [("00.1", 320), ("00.2", "photos-l"), ("00.4", 9375)])
def test_checked_keys(id, wrong):
    check_fn, solution, answer = KEYS[id].build()
    assert verdict(check_fn, answer)
    assert not verdict(check_fn, wrong)
    assert str(answer) not in KEYS[id].hint


def test_open_key_has_a_measured_solution():
    key = KEYS["00.3"]
    assert key.is_open
    _, solution, _ = key.build()
    assert "seeds 0, 1, 2" in solution and "0.828" in solution and "conclude" in solution
    assert "section 6" in solution                     # it builds on the lesson check, not repeats it


def test_steps_key_matches_the_library():
    from course_lib import layers
    _, solution, answer = KEYS["00.4"].build()
    assert answer == layers.pretraining_cost("photos-l")["steps"] == 9390
    assert "9,390" in solution and "9390" not in KEYS["00.4"].hint


def fake_acc(transfer, scratch):
    return {("transfer", 10): np.array(transfer), ("from scratch", 10): np.array(scratch)}


@pytest.mark.parametrize("transfer, scratch, right", [
    ([0.9, 0.85, 0.88], [0.5, 0.6, 0.55], "transfer higher"),
    ([0.6, 0.62, 0.58], [0.6, 0.6, 0.6], "about the same"),
    ([0.4, 0.45, 0.42], [0.6, 0.6, 0.6], "scratch higher"),
])
def test_prediction_follows_the_measurement(transfer, scratch, right):
    key = KEYS["00.p"]
    assert key.predict and key.needs == ("acc",)
    check_fn, solution, answer = key.build(acc=fake_acc(transfer, scratch))
    assert answer == right
    assert verdict(check_fn, right) and verdict(check_fn, " " + right.upper())
    for other in nb00.GAP_CHOICES:
        if other != right:
            assert not verdict(check_fn, other)
    ok, message = check_fn("transfer")
    assert not ok and "choose one of" in message
    assert right in solution


def test_reveal_says_whether_the_prediction_was_right(capsys):
    ex = exercises.exercise("00.p")
    ex.check("scratch higher")
    ex.reveal(acc=fake_acc([0.9, 0.9, 0.9], [0.5, 0.5, 0.5]))
    out = capsys.readouterr().out
    assert "Your prediction was off" in out and "transfer higher" in out


def fake_blocks(block1, random_block1, scratch=(0.5, 0.5, 0.5)):
    return dict(kept={0: np.array(scratch), 1: np.array(block1)}, random_block1=np.array(random_block1))


@pytest.mark.parametrize("block1, random_block1, right", [
    ([0.75, 0.7, 0.72], [0.45, 0.5, 0.4], "pretrained higher"),
    ([0.52, 0.5, 0.48], [0.5, 0.5, 0.5], "about the same"),
    ([0.3, 0.35, 0.32], [0.5, 0.5, 0.5], "random higher"),
])
def test_block1_prediction_follows_the_measurement(block1, random_block1, right):
    key = KEYS["00.p2"]
    assert key.predict and key.needs == ("kept", "random_block1")
    check_fn, solution, answer = key.build(**fake_blocks(block1, random_block1))
    assert answer == right and right in solution
    assert verdict(check_fn, right) and verdict(check_fn, right.title())
    for other in nb00.BLOCK1_CHOICES:
        if other != right:
            assert not verdict(check_fn, other)
    ok, message = check_fn("pretrained")
    assert not ok and "choose one of" in message
