"""Lesson checks: a notebook's claim, asserted with a margin.

Taught in ``00_welcome_first_transfer`` and used by every notebook: the cell
tagged ``lesson-check`` near the end of each notebook calls
:func:`lesson_check` once per claim the notebook makes ("transfer needs fewer
labels", "the too-high learning rate destroys the pretrained features", ...).
The effect passed in is a measured difference, such as a mean over several
seeds or a win count, never one run's exact number, and the threshold leaves a
margin so that the check holds for any seed.

>>> from course_lib.lessons import lesson_check
>>> lesson_check("transfer needs fewer labels", 0.231, at_least=0.15)
✔ lesson check: transfer needs fewer labels: effect +0.231 (needs >= 0.150)
0.231
>>> lesson_check("fine-tuning is quick", 4.2, at_most=10, unit="s")
✔ lesson check: fine-tuning is quick: effect +4.200 s (needs <= 10.000 s)
4.2

When the environment variable ``COURSE_LESSON_LOG`` names a file, every check
(passed or failed) is appended to it as one JSON line; ``tools/run_course.py``
uses this to count the checks of each notebook, with ``COURSE_NOTEBOOK``
naming the notebook.  :func:`read_log` reads such a file back.
"""

import json
import math
import os

from ._checks import as_number

__all__ = ["lesson_check", "read_log"]

LOG_ENV = "COURSE_LESSON_LOG"
NOTEBOOK_ENV = "COURSE_NOTEBOOK"


def _as_number(what, value):
    """Return ``value`` as a finite float, or raise a ValueError a learner can act on."""
    number = as_number(value)
    if number is None:
        extra = ""
        if hasattr(value, "__len__") and not isinstance(value, (str, bytes)):
            extra = " It looks like a sequence: reduce it to one number first, for example with np.mean(...)."
        raise ValueError(f"{what} must be a single number, got {value!r} ({type(value).__name__}).{extra}")
    if not math.isfinite(number):
        raise ValueError(
            f"{what} must be a finite number, got {number}. A nan or inf usually means a run diverged "
            "or a mean was taken over nothing: look at the losses printed above."
        )
    return number


def _fmt(x, sign=False):
    """Three decimals for everyday numbers, scientific notation for tiny or huge ones."""
    if x != 0 and not (1e-3 <= abs(x) < 1e6):
        return f"{x:+.3e}" if sign else f"{x:.3e}"
    return f"{x:+.3f}" if sign else f"{x:.3f}"


def _print(line, fallback):
    try:
        print(line)
    except UnicodeEncodeError:  # a console that cannot show the check mark
        print(fallback)


def lesson_check(name, effect, *, at_least=None, at_most=None, claim="", unit=""):
    """Assert one claim of a notebook: ``effect >= at_least`` or ``effect <= at_most``.

    Parameters
    ----------
    name : str
        Short name of the claim, printed on the line (for example
        ``"transfer needs fewer labels"``).
    effect : float
        The measured effect, for example the mean accuracy gain over several
        seeds.  Must be one finite number.
    at_least, at_most : float
        The threshold; give exactly one of the two.
    claim : str
        The claim in a sentence, quoted if the check fails.
    unit : str
        Optional unit printed after the numbers (``"s"``, ``"pp"``, ...).

    Prints one line, records the check in the ``COURSE_LESSON_LOG`` file when
    that variable is set, and returns ``effect`` as a float.  A failed check is
    recorded too and then raises ``AssertionError``.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name must be a non-empty string describing the claim, got {name!r}.")
    if not isinstance(claim, str):
        raise ValueError(f"claim must be a string (a sentence stating the claim), got {claim!r}.")
    if not isinstance(unit, str):
        raise ValueError(f"unit must be a string such as 's' or 'pp', got {unit!r}.")
    if (at_least is None) == (at_most is None):
        given = "both" if at_least is not None else "neither"
        raise ValueError(
            f"Give exactly one threshold, at_least=... or at_most=...; got {given}. "
            "Example: lesson_check('transfer helps', gain, at_least=0.1)."
        )
    effect = _as_number("effect", effect)
    if at_least is not None:
        direction, op = "at_least", ">="
        threshold = _as_number("at_least", at_least)
        passed = effect >= threshold
    else:
        direction, op = "at_most", "<="
        threshold = _as_number("at_most", at_most)
        passed = effect <= threshold

    u = f" {unit}" if unit else ""
    body = f"lesson check: {name}: effect {_fmt(effect, sign=True)}{u} (needs {op} {_fmt(threshold)}{u})"
    _print(("✔ " if passed else "✘ ") + body, ("OK   " if passed else "FAIL ") + body)

    log_path = os.environ.get(LOG_ENV)
    if log_path:
        record = {
            "notebook": os.environ.get(NOTEBOOK_ENV, ""),
            "name": name,
            "effect": effect,
            "threshold": threshold,
            "direction": direction,
            "passed": bool(passed),
            "claim": claim,
        }
        with open(log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")

    if not passed:
        stated = claim or name
        raise AssertionError(
            f"Lesson check failed: {stated!r}. Measured effect {_fmt(effect, sign=True)}{u}, "
            f"but the claim needs an effect {op} {_fmt(threshold)}{u}. "
            "The check is meant to hold for any seed, so first run the notebook again with another "
            "SEED (change it in the parameters cell, or run `make course NB=<number> ARGS=\"-p SEED 1\"`). "
            "If it fails for several seeds, please report an issue with the seeds you tried and the "
            "output of `make check-env`."
        )
    return effect


def read_log(path):
    """Return the checks recorded in a ``COURSE_LESSON_LOG`` file, one dict per check.

    A file that does not exist yet means no check has run: the result is ``[]``.
    """
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
    except FileNotFoundError:
        return []
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}, line {number}, is not a JSON record ({err.msg}): {line.strip()[:80]!r}") from None
    return records
