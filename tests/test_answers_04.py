"""The answer key of 04_wrong_domain_base, without running the notebook: each key accepts its own answer and
rejects a wrong one, on small fake contexts."""

import numpy as np
import pytest

from course_lib import exercises
from course_lib.answers import nb04

KEYS = exercises.answer_key("04")


def verdict(check_fn, answer):
    result = check_fn(answer)
    return bool(result[0] if isinstance(result, tuple) else result)


def test_ids_in_notebook_order():
    assert list(KEYS) == ["04.p1", "04.p2", "04.1", "04.2", "04.3"]
    assert [k for k, key in KEYS.items() if key.is_open] == ["04.2", "04.3"]
    assert [k for k, key in KEYS.items() if key.predict] == ["04.p1", "04.p2"]


def test_colleague_base():
    check, solution, answer = KEYS["04.1"].build()
    assert verdict(check, answer) and verdict(check, " Photos-L")
    assert not verdict(check, "scans-s")
    assert "photos-l" in solution


def test_separation():
    assert nb04.separation([0, 2], [4, 6]) == pytest.approx(4.0)     # means 1 and 5, each standard deviation 1
    assert nb04.separation([1, 3], [1, 3]) == 0.0


def test_prediction_clearest_statistic_from_the_data(monkeypatch):
    rng = np.random.default_rng(0)
    fake = {"photos": {"brightness": rng.normal(0, 1, 200), "contrast": rng.normal(0, 1, 200),
                       "edge strength": rng.normal(0, 1, 200)},
            "clinic": {"brightness": rng.normal(3, 1, 200), "contrast": rng.normal(0.1, 1, 200),
                       "edge strength": rng.normal(1, 1, 200)}}
    import course_lib.domains as domains
    monkeypatch.setattr(domains, "pixel_stats", lambda images: fake[images])
    check, solution, answer = KEYS["04.p1"].build(photos="photos", clinic="clinic")
    assert answer == "brightness" and verdict(check, "Brightness")
    assert not verdict(check, "edge strength") and not verdict(check, "contrast")
    assert "brightness 3." in solution


@pytest.mark.parametrize("near, famous, right, wrong", [
    ([0.78, 0.86, 0.85], [0.59, 0.63, 0.63], "scans-s probe", "photos-l fine-tuned"),
    ([0.60, 0.60, 0.60], [0.70, 0.70, 0.70], "photos-l fine-tuned", "scans-s probe"),
])
def test_prediction_probe_against_fine_tuned(near, famous, right, wrong):
    check, solution, answer = KEYS["04.p2"].build(probe_near=np.array(near), tuned_famous=np.array(famous))
    assert verdict(check, answer) and verdict(check, right)
    assert not verdict(check, wrong)
    assert f"{np.mean(near):.3f}" in solution


def test_reveal_says_whether_the_prediction_was_right(capsys):
    ex = exercises.exercise("04.p2")
    ex.check("scans-s probe")
    ex.reveal(probe_near=np.array([0.8]), tuned_famous=np.array([0.6]))
    out = capsys.readouterr().out
    assert "Prediction noted" in out and "was right" in out


def test_open_exercises_have_measured_solutions():
    for key_id in ("04.2", "04.3"):
        key = KEYS[key_id]
        assert key.is_open and "seeds 0, 1, 2" in key.solution
