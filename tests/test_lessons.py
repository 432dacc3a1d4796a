"""course_lib.lessons: the lesson-check helper every notebook ends with."""

import math

import numpy as np
import pytest

from course_lib.lessons import lesson_check, read_log


@pytest.fixture
def log(tmp_path, monkeypatch):
    path = tmp_path / "lessons.jsonl"
    monkeypatch.setenv("COURSE_LESSON_LOG", str(path))
    monkeypatch.setenv("COURSE_NOTEBOOK", "03_demo")
    return path


def test_pass_prints_one_line_records_and_returns_the_effect(log, capsys):
    assert lesson_check("transfer needs fewer labels", np.float32(0.25), at_least=0.15, claim="c") == 0.25
    assert capsys.readouterr().out == "✔ lesson check: transfer needs fewer labels: effect +0.250 (needs >= 0.150)\n"
    assert read_log(log) == [{"notebook": "03_demo", "name": "transfer needs fewer labels", "effect": 0.25,
                              "threshold": 0.15, "direction": "at_least", "passed": True, "claim": "c"}]


def test_failure_is_recorded_then_raises_with_claim_effect_threshold_and_advice(log, capsys):
    with pytest.raises(AssertionError) as info:
        lesson_check("lr too high forgets", 0.40, at_most=0.2, claim="a 10x learning rate forgets the source task")
    message = str(info.value)
    for part in ("a 10x learning rate forgets the source task", "+0.400", "<= 0.200", "SEED", "issue"):
        assert part in message
    assert capsys.readouterr().out.startswith("✘ lesson check: lr too high forgets")
    assert read_log(log)[0]["passed"] is False and read_log(log)[0]["direction"] == "at_most"


def test_accepts_zero_dimensional_arrays_and_tensors():
    torch = pytest.importorskip("torch")
    assert lesson_check("x", torch.tensor(0.5), at_least=0) == 0.5
    assert lesson_check("x", np.array(3), at_most=4) == 3.0


@pytest.mark.parametrize("args, kwargs, message", [
    (("", 0.3), {"at_least": 0.1}, "name must be a non-empty string"),
    ((None, 0.3), {"at_least": 0.1}, "name must be a non-empty string"),
    (("x", [0.1, 0.2]), {"at_least": 0.1}, "np.mean"),
    (("x", "0.3"), {"at_least": 0.1}, "effect must be a single number"),
    (("x", True), {"at_least": 0.1}, "effect must be a single number"),
    (("x", math.nan), {"at_least": 0.1}, "finite"),
    (("x", 0.3), {}, "exactly one threshold"),
    (("x", 0.3), {"at_least": 0.1, "at_most": 0.5}, "exactly one threshold"),
    (("x", 0.3), {"at_least": math.inf}, "at_least must be a finite number"),
    (("x", 0.3), {"at_least": 0.1, "claim": 3}, "claim must be a string"),
])
def test_bad_arguments_raise_clear_value_errors(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        lesson_check(*args, **kwargs)


def test_no_log_without_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_LESSON_LOG", raising=False)
    monkeypatch.chdir(tmp_path)
    lesson_check("x", 1.0, at_least=0.0)
    assert list(tmp_path.iterdir()) == []


def test_read_log_missing_file_and_bad_line(tmp_path):
    assert read_log(tmp_path / "none.jsonl") == []
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"name": "a"}\n\nnot json\n')
    with pytest.raises(ValueError, match="line 3"):
        read_log(bad)
