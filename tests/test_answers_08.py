"""The answer key of 08_strategies, without running the notebook: each checked key accepts its own answer and
rejects a wrong one, on small fake contexts; the open keys have a hint and a measured solution."""

import pytest

from course_lib import exercises

KEYS = exercises.answer_key("08")


def verdict(check_fn, answer):
    result = check_fn(answer)
    return bool(result[0] if isinstance(result, tuple) else result)


def test_ids_in_notebook_order():
    assert list(KEYS) == ["08.p", "08.1", "08.2", "08.3", "08.4", "08.5", "08.6"]
    assert [k for k, key in KEYS.items() if key.is_open] == ["08.3", "08.4", "08.5", "08.6"]
    assert [k for k, key in KEYS.items() if key.predict] == ["08.p"]


@pytest.mark.parametrize("lost, right, wrong", [(0.554, "much", "some"), (0.12, "some", "little"),
                                                (0.02, "little", "much"), (0.25, "much", "some")])
def test_prediction_bands_follow_the_measured_loss(lost, right, wrong):
    check, solution, answer = KEYS["08.p"].build(lost=lost)
    assert answer == right
    assert verdict(check, right) and verdict(check, right.upper() + " ")
    assert not verdict(check, wrong) and not verdict(check, 0.5)
    assert f"{lost:.3f}" in solution


def test_prediction_is_recorded_then_revealed(capsys):
    ex = exercises.exercise("08.p")
    ex.check("much")
    assert "Prediction noted" in capsys.readouterr().out
    ex.reveal(lost=0.554)
    out = capsys.readouterr().out
    assert "✔ Your prediction was right" in out and "0.554" in out
    ex.check("little")
    ex.reveal(lost=0.554)
    assert "✘ Your prediction was off" in capsys.readouterr().out


def test_llm_share():
    check, solution, answer = KEYS["08.1"].build()
    assert verdict(check, answer) and verdict(check, 2 * 8 / 4096) and verdict(check, 0.004)
    assert not verdict(check, 8 / 4096) and not verdict(check, 0.04) and not verdict(check, "0.0039")
    assert "0.0039" in solution


@pytest.mark.parametrize("lora_size, full_size, n", [(2537, 23621, 10), (100, 1000, 11), (300, 1000, 4)])
def test_break_even_is_the_first_task_count_above_one_full_model(lora_size, full_size, n):
    check, solution, answer = KEYS["08.2"].build(lora_size=lora_size, full_size=full_size)
    assert answer == n and n * lora_size > full_size >= (n - 1) * lora_size
    assert verdict(check, n) and not verdict(check, n - 1) and not verdict(check, full_size / lora_size)
    assert f"# {n}" in solution


def test_break_even_needs_both_sizes():
    with pytest.raises(TypeError, match="lora_size"):
        KEYS["08.2"].build(full_size=1000)


@pytest.mark.parametrize("key_id", ["08.3", "08.4", "08.5", "08.6"])
def test_open_exercises_give_code_a_measurement_and_a_conclusion(key_id, capsys):
    key = KEYS[key_id]
    assert key.hint and "Measured at SEED = 0 (seeds 0, 1, 2)" in key.solution
    assert "What to conclude" in key.solution
    exercises.exercise(key_id).check()
    assert "open" in capsys.readouterr().out
