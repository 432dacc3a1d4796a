"""Tests for course_lib.exercises: feedback, never a traceback, and stable plain-text output."""

import numpy as np
import pytest
import torch

from course_lib import exercises
from course_lib.exercises import Exercise, close_to, equals, get, one_of


def verdict(exercise, answer):
    """Check ``answer`` (which prints feedback and returns nothing); return whether it was right."""
    assert exercise.check(answer) is None
    return exercise.last_ok


def make(name="t_q", check_fn=None, hint="Think about chance level.", solution="answer = 0.1"):
    return Exercise(name, check_fn or close_to(0.1, tol=0.01), hint=hint, solution=solution)


# --------------------------------------------------------------------------- Exercise.check
def test_correct_answer_prints_a_tick_and_returns_true(capsys):
    ex = make()
    assert verdict(ex, 0.1) is True
    assert capsys.readouterr().out == "✔ Correct: 0.1 is within 0.01 of 0.1.\n"
    assert ex.solved


def test_wrong_answer_prints_feedback_and_points_to_the_hint(capsys):
    ex = make()
    assert verdict(ex, 0.5) is False
    out = capsys.readouterr().out
    assert out == "✘ Not yet: 0.5 is too high.\n  Stuck? Call .hint() on this exercise.\n"
    assert not ex.solved


def test_wrong_answer_without_hint_does_not_mention_hints(capsys):
    make(hint=None).check(0.0)
    assert capsys.readouterr().out == "✘ Not yet: 0 is too low.\n"


@pytest.mark.parametrize("placeholder", [..., None])
def test_placeholder_answer_gets_a_nudge_and_check_fn_is_not_called(capsys, placeholder):
    calls = []
    ex = make(check_fn=lambda a: calls.append(a) or (True, ""))
    assert verdict(ex, placeholder) is False
    out = capsys.readouterr().out
    assert out.startswith("✎ Not answered yet: replace the ... with your answer")
    assert calls == []


def test_check_fn_that_raises_is_reported_not_raised(capsys):
    ex = make(check_fn=lambda answer: (answer / 0 > 1, ""))
    assert verdict(ex, 3) is False
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "✘ Your answer could not be checked: ZeroDivisionError: division by zero"
    assert out[1].startswith("  Tip: give the kind of value the question asks for")


def test_check_fn_raising_on_an_odd_answer_is_reported(capsys):
    ex = make(check_fn=lambda answer: (len(answer) == 3, "three items"))
    assert verdict(ex, object()) is False
    out = capsys.readouterr().out
    assert "could not be checked: TypeError: object of type 'object' has no len()" in out


def test_error_message_with_a_memory_address_is_printed_without_it(capsys):
    def check(answer):
        raise ValueError(f"cannot use {answer!r}")

    make(check_fn=check).check(object())
    out = capsys.readouterr().out
    assert "0x" not in out
    assert "cannot use <object object>" in out


def test_exception_whose_message_cannot_be_printed_is_still_reported(capsys):
    class Weird(Exception):
        def __str__(self):
            raise RuntimeError("no message")

    def check(answer):
        raise Weird()

    assert verdict(make(check_fn=check), 1) is False
    assert "could not be checked: Weird: (the error has no readable message)" in capsys.readouterr().out


def test_check_fn_may_return_a_bare_bool(capsys):
    ex = make(check_fn=lambda answer: answer > 2)
    assert verdict(ex, 3) is True
    assert verdict(ex, 1) is False
    assert capsys.readouterr().out.splitlines()[:2] == [
        "✔ Correct: well done.", "✘ Not yet: that is not the answer, have another go."]


def test_check_fn_returning_the_wrong_shape_is_reported(capsys):
    ex = make(check_fn=lambda answer: (True, "a", "b"))
    assert verdict(ex, 1) is False
    assert "could not be checked: ValueError: too many values to unpack" in capsys.readouterr().out


def test_check_fn_returning_an_array_is_reported(capsys):
    ex = make(check_fn=lambda answer: (np.array([True, False]), "elementwise"))
    assert verdict(ex, 1) is False
    assert "could not be checked: ValueError: The truth value of an array" in capsys.readouterr().out


def test_stop_button_still_stops_a_check():
    def check(answer):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        make(check_fn=check).check(1)


@pytest.mark.parametrize("answer", [object(), lambda x: x, np.arange(1000), {"a": object()}, torch.ones(3),
                                    "x" * 500, [1, [2, 3]], type("Thing", (), {})()])
@pytest.mark.parametrize("check_fn", [close_to(1.0, 0.1), equals(3), one_of(["a", 3])])
def test_no_exception_and_no_memory_address_whatever_the_answer(capsys, answer, check_fn):
    assert verdict(make(check_fn=check_fn), answer) in (True, False)
    out = capsys.readouterr().out
    assert out.startswith(("✔", "✘"))
    assert "0x" not in out
    assert all(len(line) < 300 for line in out.splitlines())


# --------------------------------------------------------------------------- hint, solution, repr
def test_hint_and_solution_print_plain_text(capsys):
    ex = make(solution="answer = 1 / 10\n# ten balanced classes")
    assert ex.hint() is None
    ex.solution()
    assert capsys.readouterr().out == (
        "Hint: Think about chance level.\nSolution:\nanswer = 1 / 10\n# ten balanced classes\n")


def test_missing_hint_and_solution_say_so(capsys):
    ex = make(hint=None, solution=None)
    ex.hint()
    ex.solution()
    out = capsys.readouterr().out.splitlines()
    assert out == ["There is no hint for this exercise: re-read the explanation just above it.",
                   "No solution is written down for this exercise yet."]


def test_repr_has_no_memory_address():
    assert repr(make("t_repr")) == "Exercise('t_repr'): call .check(answer), .hint() or .solution()"


# --------------------------------------------------------------------------- registry
def test_get_finds_an_exercise_and_redefining_replaces_it():
    first = make("t_registry")
    assert get("t_registry") is first
    second = make("t_registry")
    assert get("t_registry") is second


def test_get_unknown_name_lists_the_known_ones():
    make("t_known")
    with pytest.raises(LookupError, match="No exercise 't_nope' is defined. Defined so far: .*'t_known'"):
        get("t_nope")


def test_get_with_no_exercises_defined(monkeypatch):
    monkeypatch.setattr(exercises, "_REGISTRY", {})
    with pytest.raises(LookupError, match="No exercise is defined yet"):
        get("q1")


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(name="", check_fn=equals(1)), TypeError, "name must be a short non-empty string"),
    (dict(name=1, check_fn=equals(1)), TypeError, "name must be"),
    (dict(name="q", check_fn=0.5), TypeError, "check_fn must be a function answer -> \\(ok, message\\)"),
    (dict(name="q", check_fn=equals(1), hint=["a"]), TypeError, "hint must be text"),
    (dict(name="q", check_fn=equals(1), solution=42), TypeError, "solution must be text"),
])
def test_defining_an_exercise_badly_is_explained(kwargs, error, words):
    with pytest.raises(error, match=words):
        Exercise(**kwargs)


# --------------------------------------------------------------------------- close_to
@pytest.mark.parametrize("answer", [0.75, 0.76, 0.74, np.float32(0.75), torch.tensor(0.755), [0.75],
                                    torch.tensor([0.75], requires_grad=True), 3 / 4])
def test_close_to_accepts_numbers_within_tolerance(answer):
    ok, message = close_to(0.75, tol=0.01)(answer)
    assert ok, message
    assert "within 0.01 of 0.75" in message


@pytest.mark.parametrize("answer, words", [
    (0.9, "0.9 is too high."),
    (0.1, "0.1 is too low."),
    ("0.75", "got the text '0.75', but the answer is a number: write it without quotes."),
    (True, "got True, but the answer is a single number."),
    ([0.7, 0.8], "got [0.7, 0.8], but the answer is a single number."),
    (float("nan"), "got nan, but the answer is a finite number"),
])
def test_close_to_explains_wrong_answers_without_giving_the_answer_away(answer, words):
    ok, message = close_to(0.75, tol=0.01)(answer)
    assert not ok
    assert message.startswith(words)
    if words.endswith("too high.") or words.endswith("too low."):
        assert "0.75" not in message


def test_close_to_with_zero_tolerance_needs_the_exact_value():
    assert close_to(3, tol=0)(3)[0] and not close_to(3, tol=0)(3.001)[0]


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(expected="0.5"), TypeError, "expected must be a single finite number"),
    (dict(expected=float("inf")), TypeError, "finite"),
    (dict(expected=0.5, tol=-1), ValueError, "tol must be zero or more"),
    (dict(expected=0.5, tol="small"), TypeError, "tol must be a number"),
])
def test_close_to_bad_arguments(kwargs, error, words):
    with pytest.raises(error, match=words):
        close_to(**kwargs)


# --------------------------------------------------------------------------- one_of, equals
def test_one_of_accepts_any_listed_answer_ignoring_case_and_spaces():
    check = one_of(["lower", "smaller", 0.001])
    assert check("Lower")[0] and check("  smaller ")[0] and check(0.001)[0]
    assert check("higher") == (False, "'higher' is not the answer we are looking for.")


def test_one_of_spots_a_number_given_for_a_word():
    assert one_of(["head", "backbone"])(3) == (
        False, "got 3, but the answer is text: write it in quotes, like 'word'.")


@pytest.mark.parametrize("choices, error, words", [
    ("abc", TypeError, "choices must be a list of accepted answers"),
    ([], ValueError, "choices is empty"),
])
def test_one_of_bad_choices(choices, error, words):
    with pytest.raises(error, match=words):
        one_of(choices)


@pytest.mark.parametrize("expected, answer", [
    (3, 3), (3, 3.0), (3, np.int64(3)), ("Frozen", "frozen "), ([2, 0, 1], (2, 0, 1)),
    ([2, 0, 1], np.array([2, 0, 1])), (np.array([[1, 0], [0, 1]]), [[1, 0], [0, 1]]),
    ([1, 2], torch.tensor([1, 2])), (True, True), ({"a", "b"}, {"b", "a"}),
])
def test_equals_accepts_equal_answers(expected, answer):
    ok, message = equals(expected)(answer)
    assert ok and message.endswith("is right.")


@pytest.mark.parametrize("expected, answer, message", [
    (3, 4, "4 is not the expected answer."),
    (3, "3", "got the text '3', but the answer is a number: write it without quotes."),
    ("frozen", 3, "got 3, but the answer is text: write it in quotes, like 'word'."),
    ([2, 0, 1], [2, 1, 0], "[2, 1, 0] is not the expected answer."),
    ([2, 0, 1], [[2, 0, 1]], "[[2, 0, 1]] is not the expected answer."),
])
def test_equals_explains_wrong_answers(expected, answer, message):
    assert equals(expected)(answer) == (False, message)


# --------------------------------------------------------------------------- docs

def test_every_public_name_says_where_it_is_taught_and_has_an_example():
    import inspect

    public = [obj for name, obj in vars(exercises).items() if not name.startswith("_")
              and (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == exercises.__name__]
    assert {obj.__name__ for obj in public} == {"Exercise", "get", "close_to", "one_of", "equals", "choice",
                                                "Key", "answer_key", "exercise"}
    for obj in public:      # which notebook (tests/test_docstrings.py), or that the answer key uses it
        assert "Taught in ``0" in obj.__doc__ or "answer key" in obj.__doc__.lower(), obj.__name__
        assert ">>> " in obj.__doc__, obj.__name__


def test_check_shows_only_feedback_and_remembers_a_solved_exercise(capsys):
    ex = make()
    assert ex.solved is False and ex.last_ok is None
    assert ex.check(0.1) is None                 # nothing for the notebook to display after the feedback
    assert ex.solved and ex.last_ok
    ex.check(0.5)
    assert ex.solved and not ex.last_ok          # once solved, it stays solved
