"""Check-your-answer exercises for the notebooks, in the spirit of Kaggle's learntools.

Taught in ``00_welcome_first_transfer``.  A notebook asks ``exercise("06.2")``;
the check, hint and worked solution of each exercise live in the answer key,
``course_lib/answers/nbNN.py`` (see ``Key``), out of the learner's sight; the
learner writes ``answer = ...`` and calls ``.check(answer)``.  Whatever
the answer, the learner gets a line of feedback, never a traceback: a wrong
answer says why, an answer that cannot be checked says what went wrong, and the
placeholder ``...`` (or ``None``) gets a nudge to fill it in.

>>> from course_lib.exercises import Exercise, close_to
>>> q1 = Exercise("demo_chance", close_to(0.1, tol=0.01),
...               hint="With 10 balanced classes, how often does a random guess hit?",
...               solution="answer = 1 / 10")
>>> answer = ...            # the learner replaces the ... with an answer
>>> q1.check(answer)
✎ Not answered yet: replace the ... with your answer, run the cell, then check again.
>>> q1.check(0.5)
✘ Not yet: 0.5 is too high.
  Stuck? Call .hint() on this exercise.
>>> q1.check(1 / 10)
✔ Correct: 0.1 is within 0.01 of 0.1.
>>> q1.solved
True

Everything printed is plain text without memory addresses, so notebook output
stays the same from run to run (the course's notebook tests compare it).
"""

import importlib
import math
import os
import pathlib
import re
import reprlib

import numpy as np

from ._checks import as_number, check_positive

_REGISTRY = {}
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_LONG_HEX = re.compile(r"0x[0-9a-fA-F]{8,}")
_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60
_SHORT.maxlist = _SHORT.maxtuple = 6

CHECK_TIP = ("  Tip: give the kind of value the question asks for (a number, a word in quotes, a list), "
             "then run the cell again.")


def _plain(text):
    """Remove memory addresses (``<object at 0x7f...>``) so printed output is the same every run."""
    return _LONG_HEX.sub("0x…", _ADDRESS.sub("", text))


def _short(value):
    """A short, address-free repr of a learner's answer, for messages."""
    try:
        return _plain(_SHORT.repr(value))
    except Exception:  # a repr that fails must not break the feedback
        return f"a {type(value).__name__}"


def _safe_str(exc):
    try:
        return str(exc)
    except Exception:
        return "(the error has no readable message)"


class Exercise:
    """One question with an automatic check, a hint and a solution.

    The answer key builds one for each ``exercise(id)``; build your own for a
    question of yours.

    Parameters
    ----------
    name : str
        A short id such as ``"q1"``; ``get(name)`` finds the exercise again.
        Defining an exercise with a name already used replaces the old one,
        so re-running a notebook cell is fine.
    check_fn : callable
        ``check_fn(answer) -> (ok, message)``, or just ``ok``.  It may raise:
        the learner then sees the error as a line of feedback.  The helpers
        ``close_to``, ``one_of`` and ``equals`` build common checks.
    hint, solution : str, optional
        Printed by ``.hint()`` and ``.solution()``.

    >>> ex = Exercise("demo_lr", one_of(["lower", "smaller"]), hint="Pretrained weights are already good.",
    ...               solution="answer = 'lower'")
    >>> ex.check("Lower")
    ✔ Correct: 'Lower' is right.
    >>> ex.hint()
    Hint: Pretrained weights are already good.
    >>> ex.solution()
    Solution:
    answer = 'lower'
    >>> ex
    Exercise('demo_lr'): call .check(answer), .hint() or .solution()
    """

    def __init__(self, name, check_fn, hint=None, solution=None):
        if not isinstance(name, str) or not name.strip():
            raise TypeError(f"name must be a short non-empty string such as 'q1', got {name!r}.")
        if not callable(check_fn):
            raise TypeError(
                f"check_fn must be a function answer -> (ok, message), got {type(check_fn).__name__}. "
                "Use a helper such as close_to(0.9, tol=0.02), or write your own: "
                "def check(answer): return answer > 0, 'it must be positive'."
            )
        for arg, value in (("hint", hint), ("solution", solution)):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{arg} must be text (a str) or None, got {type(value).__name__}.")
        self.name = name
        self.check_fn = check_fn
        self._hint = hint
        self._solution = solution
        self._stuck = "  Stuck? Call .hint() on this exercise."
        self.solved = False     # True once any checked answer was right
        self.last_ok = None     # whether the last checked answer was right
        _REGISTRY[name] = self

    def check(self, answer):
        """Print feedback on ``answer``; never raises.

        Returns nothing, so a notebook cell shows only the feedback.  Afterwards
        ``last_ok`` says whether this answer was right and ``solved`` whether any
        answer so far was.
        """
        self.last_ok = self._verdict(answer)
        self.solved = self.solved or self.last_ok

    def _verdict(self, answer):
        if answer is Ellipsis or answer is None:
            print("✎ Not answered yet: replace the ... with your answer, run the cell, then check again.")
            return False
        try:
            result = self.check_fn(answer)
            ok, message = result if isinstance(result, tuple) else (result, "")
            ok = bool(ok)
            message = "" if message is None else str(message)
        except Exception as exc:  # the learner gets feedback, not a traceback
            print(_plain(f"✘ Your answer could not be checked: {type(exc).__name__}: {_safe_str(exc)}"))
            print(CHECK_TIP)
            return False
        if ok:
            print(_plain(f"✔ Correct: {message or 'well done.'}"))
            return True
        print(_plain(f"✘ Not yet: {message or 'that is not the answer, have another go.'}"))
        if self._hint:
            print(self._stuck)
        return False

    def hint(self):
        """Print the hint."""
        print(f"Hint: {self._hint}" if self._hint else
              "There is no hint for this exercise: re-read the explanation just above it.")

    def solution(self):
        """Print the solution."""
        print(f"Solution:\n{self._solution}" if self._solution else
              "No solution is written down for this exercise yet.")

    def __repr__(self):
        return f"Exercise({self.name!r}): call .check(answer), .hint() or .solution()"


def get(name):
    """Return the exercise defined with ``name``.

    Exercises built from the answer key are found here by their id too.

    >>> _ = Exercise("demo_get", equals(3))
    >>> get("demo_get").check(3)
    ✔ Correct: 3 is right.
    """
    if not _REGISTRY:
        raise LookupError(f"No exercise is defined yet, so there is no {name!r}. "
                          "Define one first: Exercise(name, check_fn, hint, solution).")
    if name not in _REGISTRY:
        raise LookupError(f"No exercise {name!r} is defined. Defined so far: {', '.join(map(repr, _REGISTRY))}. "
                          "A notebook's exercises come from exercise('NN.k').")
    return _REGISTRY[name]


# --------------------------------------------------------------------------- check helpers
def _same(answer, expected):
    """Equality for answers: text ignores case and surrounding spaces, arrays compare element-wise."""
    if isinstance(answer, str) or isinstance(expected, str):
        return (isinstance(answer, str) and isinstance(expected, str)
                and answer.strip().casefold() == expected.strip().casefold())
    arrayish = (list, tuple, np.ndarray)
    if isinstance(answer, arrayish) or isinstance(expected, arrayish) or hasattr(answer, "detach"):
        a = np.asarray(answer.detach().cpu() if hasattr(answer, "detach") else answer)
        b = np.asarray(expected)
        return a.shape == b.shape and bool(np.array_equal(a, b))
    return bool(answer == expected)


def _kind_mismatch(answer, expected):
    """A message when the answer is clearly the wrong kind of value, else None."""
    if isinstance(expected, str) and not isinstance(answer, str):
        return f"got {_short(answer)}, but the answer is text: write it in quotes, like 'word'."
    if as_number(expected) is not None and isinstance(answer, str):
        return f"got the text {_short(answer)}, but the answer is a number: write it without quotes."
    return None


def close_to(expected, tol=0.01):
    """Build a check: the answer is a number within ``tol`` of ``expected``.

    Used by the answer key (``course_lib/answers``).  A wrong answer is told
    whether it is too high or too low, never the expected value.

    >>> check = close_to(0.75, tol=0.02)
    >>> check(0.76)
    (True, '0.76 is within 0.02 of 0.75.')
    >>> check("0.76")
    (False, "got the text '0.76', but the answer is a number: write it without quotes.")
    """
    if as_number(expected) is None or not math.isfinite(as_number(expected)):
        raise TypeError(f"expected must be a single finite number such as 0.75, got {expected!r}.")
    check_positive("tol", tol, allow_zero=True)
    expected, tol = as_number(expected), float(tol)

    def check(answer):
        value = as_number(answer)
        if value is None:
            return False, (_kind_mismatch(answer, expected)
                           or f"got {_short(answer)}, but the answer is a single number.")
        if not math.isfinite(value):
            return False, f"got {value}, but the answer is a finite number; check your calculation."
        if abs(value - expected) <= tol * (1 + 1e-9) + 1e-12:  # 0.76 - 0.75 is 0.010000000000000009 in floats
            return True, f"{value:g} is within {tol:g} of {expected:g}."
        return False, f"{value:g} is too {'high' if value > expected else 'low'}."

    return check


def one_of(choices):
    """Build a check: the answer equals any of ``choices`` (text ignores case and spaces).

    Used by the answer key (``course_lib/answers``).  Use it when several
    answers are right, for example ``one_of(["lower", "smaller"])``.

    >>> check = one_of(["lower", "smaller"])
    >>> check(" Smaller")
    (True, "' Smaller' is right.")
    >>> check("higher")
    (False, "'higher' is not the answer we are looking for.")
    """
    if isinstance(choices, (str, bytes)) or not isinstance(choices, (list, tuple, set, frozenset)):
        raise TypeError(f"choices must be a list of accepted answers such as ['a', 'b'], got {choices!r}.")
    if not choices:
        raise ValueError("choices is empty, so no answer could ever be right. List the accepted answers.")
    choices = list(choices)

    def check(answer):
        if any(_same(answer, c) for c in choices):
            return True, f"{_short(answer)} is right."
        mismatch = [_kind_mismatch(answer, c) for c in choices]
        if all(mismatch):
            return False, mismatch[0]
        return False, f"{_short(answer)} is not the answer we are looking for."

    return check


def choice(right, options):
    """Build a check for a multiple-choice answer: ``right`` is one of ``options``.

    Used by the answer key (``course_lib/answers``).  An answer outside the
    options is told what the options are, so a typo is not just "wrong".

    >>> check = choice("higher", options=("higher", "about the same", "lower"))
    >>> check("Higher")
    (True, "'Higher' is right.")
    >>> check("up")
    (False, 'choose one of "higher", "about the same", "lower".')
    """
    if isinstance(options, str) or not options or right not in options:
        raise ValueError(f"choice: right must be one of the options, got {right!r} and {options!r}.")
    options = tuple(options)
    right_check = one_of([right])

    def check(answer):
        if not isinstance(answer, str) or answer.strip().casefold() not in [o.casefold() for o in options]:
            return False, "choose one of " + ", ".join(f'"{o}"' for o in options) + "."
        return right_check(answer)

    return check


def equals(expected):
    """Build a check: the answer equals ``expected``.

    Used by the answer key (``course_lib/answers``).  Text ignores case and
    surrounding spaces; lists and arrays are compared element by element.  For numbers
    computed with floats, prefer ``close_to``.

    >>> check = equals([2, 0, 1])
    >>> check((2, 0, 1))
    (True, '(2, 0, 1) is right.')
    >>> check([2, 1, 0])
    (False, '[2, 1, 0] is not the expected answer.')
    """

    def check(answer):
        if _same(answer, expected):
            return True, f"{_short(answer)} is right."
        return False, _kind_mismatch(answer, expected) or f"{_short(answer)} is not the expected answer."

    return check


# --------------------------------------------------------------------------- the answer key
# The notebooks ask; ``course_lib/answers/`` answers.  A learner's cell holds only
# the question's id and ``answer = ...``; the check, the hint and the worked solution
# live in ``answers/nbNN.py``, keyed by id ("06.2"), so nothing in the notebook gives
# the answer away.  Where the answer is a measurement, the notebook passes what was
# measured (``exercise("02.3", runs=runs)``) and the key computes the answer from it.

SELF_CHECK_ENV = "COURSE_CHECK_ANSWERS"   # set by `make test`: every key must pass its own check

OPEN_NOTE = ("This exercise is open: there is no single answer to check. Try it, then compare with "
             ".solution(), which shows a worked solution, what it measured and what to conclude.")


class Key:
    """One exercise's entry in the answer key (``course_lib/answers/nbNN.py``).

    Used by the answer key; CONTRIBUTING.md says how to add one.

    Parameters
    ----------
    id : str
        ``"NN.k"``: the notebook's number and the exercise's (``"06.2"``);
        a prediction is ``"NN.p"`` or ``"NN.pk"``.
    hint : str
        A nudge that does not give the answer away.
    solution : str or callable
        The worked solution, or ``solution(**context) -> str`` when it quotes
        what the notebook measured.
    check : callable, optional
        ``check(answer) -> (ok, message)`` (``close_to``, ``one_of``, ``equals``),
        or, with ``needs``, ``check(**context) -> check_fn``.  ``None`` makes the
        exercise open: nothing to check, a worked solution to compare with.
    answer : object or callable, optional
        A right answer (or ``answer(**context)``).  ``make test`` feeds it to the
        check, so a key whose own answer fails is caught before a learner sees it.
        A callable is always called: when the right answer is itself a function
        the learner writes, wrap it, ``answer=lambda: reference_function``.
    needs : tuple of str
        The names the notebook must pass to ``exercise(id, ...)``.
    predict : bool
        A prediction asked before its result: ``.check`` records it; ``.reveal(...)``,
        called after the result, says whether it was right.

    >>> key = Key("99.1", hint="Ten classes.", solution="answer = 0.1", check=close_to(0.1), answer=0.1)
    >>> key.is_open
    False
    """

    def __init__(self, id, *, hint, solution, check=None, answer=None, needs=(), predict=False):
        if not isinstance(id, str) or not re.fullmatch(r"[0-9]{2}\.p?[0-9]*", id) or id.endswith("."):
            raise ValueError(f"A key's id is 'NN.k' (notebook and exercise number, such as '06.2') or "
                             f"'NN.p' for a prediction, got {id!r}.")
        for arg, value in (("hint", hint), ("solution", solution)):
            if not (isinstance(value, str) and value.strip()) and not callable(value):
                raise TypeError(f"Key {id}: {arg} must be non-empty text (or, for the solution, a function "
                                f"of the notebook's values), got {value!r}.")
        if check is not None and not callable(check):
            raise TypeError(f"Key {id}: check must be a check function such as close_to(0.5), or None for "
                            f"an open exercise, got {type(check).__name__}.")
        if isinstance(needs, str) or not all(isinstance(n, str) for n in needs):
            raise TypeError(f"Key {id}: needs must be a tuple of names such as ('runs',), got {needs!r}.")
        if predict and check is None:
            raise ValueError(f"Key {id}: a prediction needs a check, to say afterwards whether it was right.")
        self.id, self.hint, self.solution, self.check = id, hint, solution, check
        self.answer, self.needs, self.predict = answer, tuple(needs), bool(predict)

    @property
    def is_open(self):
        return self.check is None

    def build(self, **context):
        """Return ``(check_fn, solution_text, right_answer)`` for this notebook's ``context``."""
        missing = [n for n in self.needs if n not in context]
        extra = sorted(set(context) - set(self.needs))
        if missing or extra:
            wanted = ", ".join(f"{n}={n}" for n in self.needs) or "nothing else"
            raise TypeError(f"exercise({self.id!r}) needs {wanted}"
                            + (f"; {', '.join(missing)} missing" if missing else "")
                            + (f"; it does not use {', '.join(extra)}" if extra else "")
                            + f". Call it as the notebook does: exercise({self.id!r}"
                            + "".join(f", {n}={n}" for n in self.needs) + ").")
        check_fn = self.check(**context) if (self.needs and self.check is not None) else self.check
        solution = self.solution(**context) if callable(self.solution) else self.solution
        answer = self.answer(**context) if callable(self.answer) else self.answer
        return check_fn, solution, answer

    def __repr__(self):
        kind = "open" if self.is_open else ("prediction" if self.predict else "checked")
        return f"Key({self.id!r}, {kind})"


class _KeyedExercise(Exercise):
    """An exercise built from the answer key: open ones explain, predictions are revealed later."""

    def __init__(self, key, check_fn, solution, answer):
        super().__init__(key.id, check_fn or (lambda answer: (False, "")), hint=key.hint, solution=solution)
        self.key = key
        self._stuck = f"  Stuck? exercise({key.id!r}).hint() gives a hint, .solution() a worked solution."
        self.prediction = None
        self._answer = answer

    def check(self, answer=...):
        if self.key.is_open:
            print(OPEN_NOTE)
            return
        if self.key.predict:
            if answer is Ellipsis or answer is None:
                print("✎ No prediction yet: write what you expect in place of the ..., run the cell, "
                      "and only then run the next section.")
                return
            self.prediction = answer
            print(_plain(f"✎ Prediction noted: {_short(answer)}. The next section measures it; "
                         f"exercise({self.key.id!r}).reveal(...) there says whether you were right."))
            return
        super().check(answer)

    def reveal(self, **context):
        """After the result: say whether the noted prediction was right, and why."""
        if not self.key.predict:
            print(f"Exercise {self.key.id} is not a prediction: check it with .check(answer).")
            return
        check_fn, solution, answer = self.key.build(**context)
        _self_check(self.key, check_fn, answer)
        self._solution, self._answer = solution, answer
        if self.prediction is None:
            print("You made no prediction this time, so here is the measurement:")
        else:
            ok, message = _call_check(check_fn, self.prediction)
            self.last_ok = ok
            self.solved = self.solved or ok
            print(_plain(("✔ Your prediction was right: " if ok else "✘ Your prediction was off: ")
                         + (message or _short(self.prediction))))
        print(solution)


def _call_check(check_fn, answer):
    result = check_fn(answer)
    ok, message = result if isinstance(result, tuple) else (result, "")
    return bool(ok), ("" if message is None else str(message))


def _self_check(key, check_fn, answer):
    """Under ``make test``, a key's own right answer must pass its own check."""
    if os.environ.get(SELF_CHECK_ENV, "") in ("", "0") or key.is_open:
        return
    if answer is None:
        raise AssertionError(f"Answer key {key.id} has a check but no answer= to test it with.")
    ok, message = _call_check(check_fn, answer)
    if not ok:
        raise AssertionError(f"Answer key {key.id}: its own answer {_short(answer)} fails its check ({message}).")


def answer_key(notebook=None):
    """The answer key: every key, as ``{id: Key}``, or only one notebook's (``"06"``).

    For instructors and the tests: ``answer_key("06")["06.2"].solution``.

    >>> sorted(answer_key("00"))[:2]
    ['00.1', '00.2']
    """
    keys = {}
    for number in _notebook_numbers():
        if notebook is not None and number != notebook:
            continue
        module = importlib.import_module(f"course_lib.answers.nb{number}")
        for key in module.KEYS:
            if not key.id.startswith(number + "."):
                raise ValueError(f"course_lib/answers/nb{number}.py holds key {key.id}, which belongs to "
                                 f"notebook {key.id[:2]}.")
            if key.id in keys:
                raise ValueError(f"Key {key.id} is defined twice in course_lib/answers/nb{number}.py.")
            keys[key.id] = key
    if notebook is not None and not keys:
        known = ", ".join(_notebook_numbers())
        raise LookupError(f"No answer key for notebook {notebook!r}. Notebooks with keys: {known}.")
    return keys


def _notebook_numbers():
    folder = pathlib.Path(__file__).with_name("answers")
    return sorted(p.stem[2:] for p in folder.glob("nb[0-9][0-9].py"))


def exercise(id, **context):
    """The exercise ``id`` ("06.2") from the answer key, ready to ``.check(answer)``.

    Taught in ``00_welcome_first_transfer``.  ``.hint()`` and ``.solution()``
    are one call away; where the answer is a measurement, pass what the notebook
    measured, by the names the key lists (the notebook's cell shows them).

    >>> ex = exercise("00.1")
    >>> ex.check(...)
    ✎ Not answered yet: replace the ... with your answer, run the cell, then check again.
    """
    if not isinstance(id, str):
        raise TypeError(f"An exercise id is text such as '06.2', got {id!r}.")
    keys = answer_key(id[:2]) if re.match(r"[0-9]{2}\.", id) else {}
    if id not in keys:
        near = ", ".join(sorted(keys)) or "ids look like '06.2'"
        raise LookupError(f"There is no exercise {id!r}. This notebook's exercises: {near}.")
    key = keys[id]
    if key.predict:     # the answer is measured after the prediction: .reveal(...) takes the context
        if context:
            raise TypeError(f"exercise({id!r}) is a prediction: call it with no values now, and pass "
                            f"them to .reveal(...) after the result.")
        check_fn, answer = None, None
        solution = (f"The answer is measured in the next section: run it, then call "
                    f"exercise({id!r}).reveal(...) as the notebook does.")
    else:
        check_fn, solution, answer = key.build(**context)
        _self_check(key, check_fn, answer)
    previous = _REGISTRY.get(id)
    ex = _KeyedExercise(key, check_fn, solution, answer)
    if isinstance(previous, _KeyedExercise):    # re-running a cell keeps what was noted and solved
        ex.prediction, ex.solved = previous.prediction, previous.solved
    return ex
