"""`make student`: copies of the notebooks for a room, outputs cleared, run headless with their exercises' feedback."""

import json
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import nbtools  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
FEEDBACK = ("✎", "✔", "✘", "This exercise is open", "Your answer could not be checked")


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    return nbtools.student(NOTEBOOKS, out)


def test_make_student_writes_every_notebook_with_no_output_and_the_same_cells(copies):
    assert [p.name for p in copies] == [p.name for p in NOTEBOOKS]
    for copy, original in zip(copies, NOTEBOOKS):
        nb, orig = nbformat.read(str(copy), as_version=4), nbformat.read(str(original), as_version=4)
        assert [c.source for c in nb.cells] == [c.source for c in orig.cells]
        assert [c.metadata.get("tags") for c in nb.cells] == [c.metadata.get("tags") for c in orig.cells]
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, copy.name


def test_the_student_copies_hold_no_solution(copies):
    for copy in copies:
        text = copy.read_text(encoding="utf-8")
        for literal in nbtools.ANSWER_LITERALS:
            assert literal not in text, f"{copy.name} shows {literal!r}"
        assert "Solution:" not in text and "Correct:" not in text


def _fast(nb):
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])][0]
    assert "FAST = False" in params.source
    params.source = params.source.replace("FAST = False", "FAST = True", 1)
    return nb


@pytest.mark.parametrize("index", range(len(NOTEBOOKS)), ids=lambda i: NOTEBOOKS[i].name[:2])
def test_each_student_copy_runs_headless_and_its_exercises_give_feedback(copies, index, tmp_path):
    """A FAST run (a smoke run: one seed, few epochs) of the copy a learner gets, as a room would start it."""
    from nbclient import NotebookClient

    copy = copies[index]
    nb = _fast(nbformat.read(str(copy), as_version=4))
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute(env=nbtools.kernel_env(), cwd=str(ROOT / "notebooks"))
    asked = 0
    for cell in nb.cells:
        if cell.cell_type != "code" or "exercise(" not in cell.source or ".check(" not in cell.source:
            continue
        asked += 1
        text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
        assert any(mark in text for mark in FEEDBACK), f"{copy.name}: no feedback from\n{cell.source}\n{text}"
        assert "Traceback" not in json.dumps(cell.outputs)
    assert asked >= 1, f"{copy.name} has no exercise cell"
