"""The answer key of 12_language_model_lora: each key accepts its own answer and refuses a wrong one."""

import copy
import re

import pytest

from course_lib import exercises, lm
from course_lib.answers import nb12


def verdict(key, answer, **context):
    check_fn, _, _ = key.build(**context)
    ok, message = check_fn(answer)
    assert isinstance(message, str) and message
    return ok, message


@pytest.fixture(scope="module")
def keys():
    return exercises.answer_key("12")


def test_ids_in_order(keys):
    assert list(keys) == ["12.p", "12.1", "12.2", "12.3", "12.4", "12.5"]
    assert [k for k in keys if keys[k].is_open] == ["12.4", "12.5"]
    assert [k for k in keys if keys[k].predict] == ["12.p"]
    assert keys["12.p"].needs == ("lora_source", "gentle_source")
    assert keys["12.2"].needs == ("runs",) and keys["12.3"].needs == ("resets",)


def test_every_key_has_hint_and_solution(keys):
    for key in keys.values():
        assert key.hint.strip()
        assert callable(key.solution) or key.solution.strip()
    for k in ("12.4", "12.5"):
        solution = keys[k].solution
        assert "Measured at SEED = 0" in solution and "lm." in solution


def test_open_solutions_quote_measured_numbers(keys):
    for k in ("12.4", "12.5"):
        assert not re.search(r"(^|[\s(])\?([\s)]|$)", keys[k].solution), keys[k].solution


@pytest.mark.parametrize("lora_source, gentle_source, right", [
    (2.40, 2.30, "less"),                     # the gentle full fine-tune forgot 0.1 less
    (2.40, 2.42, "about the same"),           # within BAND
    (2.40, 2.38, "about the same"),
    (2.40, 2.50, "more"),
])
def test_the_prediction_has_three_outcomes(keys, lora_source, gentle_source, right):
    key = keys["12.p"]
    check_fn, solution, answer = key.build(lora_source=lora_source, gentle_source=gentle_source)
    assert answer == right
    assert check_fn(right)[0] and check_fn(" " + right.upper())[0]
    for other in ("more", "about the same", "less"):
        if other != right:
            assert not check_fn(other)[0]
    assert solution.startswith(right.capitalize()) and f"{gentle_source:.3f}" in solution
    assert f"{lora_source:.3f}" in solution


def test_the_prediction_band_is_the_notebook_s_0_03():
    assert nb12.BAND == 0.03
    assert nb12._p_answer(2.0, 2.0 + 0.029) == "about the same"
    assert nb12._p_answer(2.0, 2.0 + 0.031) == "more" and nb12._p_answer(2.0, 2.0 - 0.031) == "less"


def test_reveal_says_whether_the_prediction_was_right(capsys):
    ex = exercises.exercise("12.p")
    ex.check("more")
    ex.reveal(lora_source=2.4, gentle_source=2.3)
    out = capsys.readouterr().out
    assert "Your prediction was off" in out and "Less" in out
    ex.check("less")
    ex.reveal(lora_source=2.4, gentle_source=2.3)
    assert "Your prediction was right" in capsys.readouterr().out


def test_exercise_1_counts_lora_on_all_four_projections(keys):
    key = keys["12.1"]
    _, _, answer = key.build()
    assert answer == 6144 == lm.count(lm.prepare(lm.load_lm(), "lora", targets=("q", "k", "v", "o")))["trainable"]
    assert verdict(key, answer)[0] and verdict(key, 6144.0)[0]
    assert not verdict(key, 3072)[0]                   # queries and values only, the notebook's own run
    assert not verdict(key, 4 * 64 * 64 * 3)[0]        # the full projections
    assert not verdict(key, "6144")[0]


def runs_of(full_bytes, lora_bytes):
    return {"full": {"bytes per task": full_bytes}, "LoRA": {"bytes per task": lora_bytes}}


def test_exercise_2_takes_the_ratio_from_the_runs(keys):
    key = keys["12.2"]
    base = lm.load_lm()
    full = lm.count(lm.prepare(copy.deepcopy(base), "full"))["bytes per task"]
    lora = lm.count(lm.prepare(copy.deepcopy(base), "lora"))["bytes per task"]
    runs = runs_of(full, lora)
    right = 50 * full / (full + 50 * lora)
    _, solution, answer = key.build(runs=runs)
    assert answer == pytest.approx(right) and 25 < right < 30
    assert verdict(key, right, runs=runs)[0] and verdict(key, round(right, 1), runs=runs)[0]
    assert not verdict(key, 50.0, runs=runs)[0]                      # forgot the one shared base
    assert not verdict(key, full / lora, runs=runs)[0]               # the limit of many tasks, not 50
    assert f"{right:.1f}" in solution
    other = runs_of(1000, 10)                                         # the key reads the runs it is given
    assert verdict(key, 50 * 1000 / 1500, runs=other)[0] and not verdict(key, right, runs=other)[0]


def resets_of(**regained):
    return {part.replace("_", " "): {"target loss lost": 0.1, "source loss regained": r} for part, r in regained.items()}


@pytest.mark.parametrize("regained, right", [
    (dict(embeddings=0.0, block_1=0.05, block_2=0.3, block_3=0.1, head=0.02), "block 2"),
    (dict(embeddings=0.0, block_1=0.05, block_2=0.1, block_3=0.1, head=0.4), "head"),
])
def test_exercise_3_names_the_part_that_regains_most(keys, regained, right):
    key = keys["12.3"]
    resets = resets_of(**regained)
    _, solution, answer = key.build(resets=resets)
    assert answer == right and repr(right) in solution
    assert verdict(key, right, resets=resets)[0] and verdict(key, right.upper(), resets=resets)[0]
    for other in resets:
        if other != right:
            assert not verdict(key, other, resets=resets)[0]


def test_a_key_built_without_its_context_says_what_it_needs(keys):
    with pytest.raises(TypeError, match=r"exercise\('12.2', runs=runs\)"):
        keys["12.2"].build()
    with pytest.raises(TypeError, match="lora_source"):
        keys["12.p"].build(lora_source=2.0)
