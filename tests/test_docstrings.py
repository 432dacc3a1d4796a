"""The runnable examples in course_lib's docstrings are tests too: an example that lies fails here."""

import doctest
import importlib

import pytest

MODULES = ["world", "data", "models", "train", "recipes", "repro", "domains", "baseline", "regularize", "compare", "lora", "audit", "folders"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(f"course_lib.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"course_lib.{name} has no runnable example in its docstrings"
    assert result.failed == 0


@pytest.mark.parametrize("name", MODULES)
def test_module_says_which_notebook_teaches_it(name):
    module = importlib.import_module(f"course_lib.{name}")
    assert "notebook" in module.__doc__.lower() or "Taught in" in module.__doc__ or "DATASHEET" in module.__doc__
