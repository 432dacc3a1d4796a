"""The answer key (course_lib/answers/) and exercise(): every exercise reachable, nothing shown in a notebook."""

import json
import re
from pathlib import Path

import pytest

from course_lib import exercises
from course_lib.exercises import Key, answer_key, close_to, exercise, one_of

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXERCISE_CALL = re.compile(r"""exercise\(\s*["']([0-9]{2}\.p?[0-9]*)["']""")


def sources(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [("".join(c["source"]), c["cell_type"]) for c in nb["cells"]]


# --------------------------------------------------------------------------- the key and the notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_every_key_is_asked_in_its_notebook_and_every_question_has_a_key(path):
    number = path.name[:2]
    keys = answer_key(number)
    asked = {m for text, _ in sources(path) for m in EXERCISE_CALL.findall(text)}
    assert asked, f"{path.name} asks no exercise through exercise(id)"
    assert asked - set(keys) == set(), f"{path.name} asks exercises the key lacks"
    assert set(keys) - asked == set(), f"course_lib/answers/nb{number}.py has keys {path.name} never asks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_every_notebook_has_a_prediction_asked_before_it_is_revealed(path):
    keys = answer_key(path.name[:2])
    predictions = [k for k in keys.values() if k.predict]
    assert predictions, f"{path.name} has no predict-before-you-run question"
    cells = [text for text, kind in sources(path) if kind == "code"]
    for key in predictions:
        asked = [i for i, t in enumerate(cells) if re.search(rf"""exercise\(["']{re.escape(key.id)}["']\)\.check""", t)]
        revealed = [i for i, t in enumerate(cells) if f'exercise("{key.id}").reveal(' in t]
        assert asked and revealed and asked[0] < revealed[0], f"{key.id}: ask with .check, then .reveal(...) after"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_no_notebook_cell_shows_an_answer(path):
    for text, kind in sources(path):
        if kind != "code":
            continue
        for literal in ("Exercise(", "close_to(", "one_of(", "equals(", "hint=", "solution="):
            assert literal not in text, f"{path.name}: a cell shows {literal!r}:\n{text}"
        if ".check(answer)" in text and "exercise(" in text:
            assert re.search(r"^answer = \.\.\.", text, flags=re.M), f"{path.name}: the learner's line is 'answer = ...'"


def test_ids_run_in_order_and_every_key_has_a_hint_and_a_solution():
    keys = answer_key()
    assert len({k[:2] for k in keys}) == len(NOTEBOOKS)
    for number in sorted({k[:2] for k in keys}):
        numbered = [int(k.split(".")[1]) for k in answer_key(number) if ".p" not in k]
        assert numbered == list(range(1, len(numbered) + 1)), f"notebook {number}: ids {numbered}"
    for key in keys.values():
        assert isinstance(key.hint, str) and len(key.hint) > 15, key.id
        assert callable(key.solution) or len(key.solution) > 30, key.id
        if key.is_open:     # an open exercise's solution shows what it measured (or prints) and concludes
            text = key.solution.lower() if isinstance(key.solution, str) else ""
            assert len(text) > 200 and ("measure" in text or "print" in text), key.id


def test_every_context_free_key_accepts_its_own_answer():
    for key in answer_key().values():
        if key.is_open or key.needs or key.predict:
            continue
        check_fn, _, answer = key.build()
        ok, message = exercises._call_check(check_fn, answer)
        assert ok, f"{key.id}: its answer {answer!r} fails: {message}"


# --------------------------------------------------------------------------- exercise()
def test_exercise_checks_and_points_to_its_own_hint(capsys):
    ex = exercise("00.1")
    ex.check(1)
    out = capsys.readouterr().out
    assert out.startswith("✘ Not yet: 1 is too low.")
    assert "exercise('00.1').hint()" in out
    ex.hint()
    assert capsys.readouterr().out.startswith("Hint: ")


def test_exercise_keeps_solved_across_calls(capsys):
    exercise("00.2").check("scans-s")
    assert exercise("00.2").solved


def test_an_unknown_or_malformed_id_is_a_clear_error():
    with pytest.raises(LookupError, match="There is no exercise '00.99'. This notebook's exercises: 00.1"):
        exercise("00.99")
    with pytest.raises(TypeError, match="text such as '06.2'"):
        exercise(6.2)
    with pytest.raises(LookupError, match="No answer key for notebook '77'"):
        exercise("77.1")


def test_missing_or_extra_context_names_what_the_key_needs():
    key = Key("99.1", needs=("runs",), check=lambda runs: close_to(runs["a"]), answer=lambda runs: runs["a"],
              hint="the first run's score", solution="runs['a']")
    with pytest.raises(TypeError, match=r"needs runs=runs; runs missing\. Call it as the notebook does"):
        key.build()
    with pytest.raises(TypeError, match="it does not use seeds"):
        key.build(runs={"a": 1.0}, seeds=[0])
    check_fn, solution, answer = key.build(runs={"a": 0.5})
    assert check_fn(0.5)[0] and not check_fn(0.7)[0] and answer == 0.5


def test_keys_refuse_bad_definitions():
    with pytest.raises(ValueError, match="'NN.k'"):
        Key("6.2", hint="a hint here", solution="a solution")
    with pytest.raises(TypeError, match="hint must be non-empty text"):
        Key("99.1", hint="", solution="a solution")
    with pytest.raises(TypeError, match="check must be a check function"):
        Key("99.1", hint="a hint", solution="s", check=0.5)
    with pytest.raises(ValueError, match="a prediction needs a check"):
        Key("99.p", hint="a hint", solution="s", predict=True)


def _install(monkeypatch, keys):
    monkeypatch.setattr(exercises, "answer_key", lambda notebook=None: {k.id: k for k in keys})


def test_open_exercise_explains_there_is_nothing_to_check(capsys, monkeypatch):
    _install(monkeypatch, [Key("99.3", hint="try it", solution="measured: 0.5; conclude: it helps")])
    exercise("99.3").check(...)
    assert capsys.readouterr().out.startswith("This exercise is open")
    exercise("99.3").solution()
    assert "measured: 0.5" in capsys.readouterr().out


def test_a_prediction_is_noted_then_revealed(capsys, monkeypatch):
    key = Key("99.p", predict=True, needs=("better",), check=lambda better: one_of([better]),
              answer=lambda better: better, hint="which one?",
              solution=lambda better: f"The measurement: {better} ended higher.")
    _install(monkeypatch, [key])
    ex = exercise("99.p")
    ex.check(...)
    assert capsys.readouterr().out.startswith("✎ No prediction yet")
    ex.check("transfer")
    assert "Prediction noted: 'transfer'" in capsys.readouterr().out
    exercise("99.p").reveal(better="transfer")          # a new call finds the noted prediction
    out = capsys.readouterr().out
    assert out.startswith("✔ Your prediction was right") and "transfer ended higher" in out
    exercise("99.p").check("scratch")
    exercise("99.p").reveal(better="transfer")
    assert "✘ Your prediction was off" in capsys.readouterr().out
    with pytest.raises(TypeError, match="is a prediction: call it with no values now"):
        exercise("99.p", better="transfer")


def test_self_check_catches_a_key_whose_answer_fails_its_own_check(monkeypatch):
    _install(monkeypatch, [Key("99.1", hint="a hint", solution="a solution", check=close_to(1.0), answer=2.0)])
    monkeypatch.delenv(exercises.SELF_CHECK_ENV, raising=False)
    exercise("99.1")                                       # a learner never sees the self-check
    monkeypatch.setenv(exercises.SELF_CHECK_ENV, "1")
    with pytest.raises(AssertionError, match="its own answer 2.0 fails its check"):
        exercise("99.1")
