"""course_lib's docstrings are tested: their runnable examples run (once each, here), and every "Taught in" tag
names a notebook that really uses the helper (d2l keeps the same promise with a tool)."""

import doctest
import importlib
import inspect
import json
import pathlib
import re

import pytest

import course_lib

MODULES = list(course_lib._SUBMODULES)
NO_EXAMPLES = {"build", "envcheck"}          # command-line modules: their tests run them instead
NOTEBOOKS = {p.name[:2]: p for p in (pathlib.Path(__file__).parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb")}
TAG = re.compile(r"``(\d\d)_[a-z0-9_]+``")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, monkeypatch):
    monkeypatch.delenv("COURSE_LESSON_LOG", raising=False)     # lesson_check's examples must not write a log
    module = importlib.import_module(f"course_lib.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    if name in NO_EXAMPLES:
        assert result.failed == 0
    else:
        assert result.attempted > 0, f"course_lib.{name} has no runnable example in its docstrings"
        assert result.failed == 0


@pytest.mark.parametrize("name", [m for m in MODULES if m != "build"])     # build is the `make data` command
def test_module_says_which_notebook_teaches_it(name):
    module = importlib.import_module(f"course_lib.{name}")
    assert "notebook" in module.__doc__.lower() or "Taught in" in module.__doc__ or "DATASHEET" in module.__doc__


def _notebook_text(nn):
    cells = json.loads(NOTEBOOKS[nn].read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells)


def _public_members(module):
    """``(qualified name, object, docstring)`` of each public function, class, method and property of ``module``."""
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj):
            yield name, obj, inspect.getdoc(obj) or ""
        elif inspect.isclass(obj):
            yield name, obj, inspect.getdoc(obj) or ""
            for attr, member in vars(obj).items():
                fn = member.fget if isinstance(member, property) else member
                if not attr.startswith("_") and inspect.isfunction(fn):
                    yield f"{name}.{attr}", member, inspect.getdoc(fn) or ""


def _taught_in(doc):
    """The notebooks (two-digit prefixes) a docstring's "Taught in ..." sentence names."""
    match = re.search(r"Taught in (.*?)(?:\.\s|\.$|$)", doc, re.S)
    return TAG.findall(match.group(1)) if match else []


def _taught_in_tags():
    for name in MODULES:
        module = importlib.import_module(f"course_lib.{name}")
        for qualname, obj, doc in _public_members(module):
            for nn in _taught_in(doc):
                yield name, qualname, obj, nn


@pytest.mark.parametrize("module, qualname, obj, nn", [pytest.param(*t, id=f"{t[1]}@{t[3]}")
                                                       for t in _taught_in_tags()])
def test_every_taught_in_tag_names_a_notebook_that_uses_it(module, qualname, obj, nn):
    """A function or method must be called or named in that notebook; a class's module must be used there."""
    assert nn in NOTEBOOKS, f"course_lib.{module}.{qualname} says it is taught in notebook {nn}, which does not exist"
    text = _notebook_text(nn)
    if inspect.isclass(obj):       # an ImageSet or a report: a notebook uses it through the module's functions
        assert re.search(rf"\b{module}\b", text), f"notebook {nn} never uses course_lib.{module} ({qualname})"
    else:
        short = qualname.split(".")[-1]
        assert re.search(rf"\b{re.escape(short)}\b", text), (
            f"course_lib.{module}.{qualname} says it is taught in notebook {nn}, which never uses it: "
            "fix the tag, or use it there")


def test_the_tag_reader_reads_tags():
    assert _taught_in("Taught in ``02_too_high_learning_rate`` and ``08_strategies``.  More.") == ["02", "08"]
    assert _taught_in("Taught in ``00_welcome_first_transfer`` (fit, learning curves) and used by every") == ["00"]
    assert _taught_in("No tag here.") == []
