"""Unit tests for tools/nbtools.py (py2nb parsing, clean, the contract check) and the nbval rules."""

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nbtools = _load("nbtools")
run_course = _load("run_course")

SCRIPT = '''\
# %% [markdown]
# # 01 A tiny lesson
#
# Run time: about 1 s on two cores.

# %% tags=["parameters"]
SEED = 0
FAST = False

# %%
check_parameters(SEED=SEED, FAST=FAST)
steps = 3 if FAST else 10
print(SEED, steps)

# %% [markdown] tags=["exercise"]
# ## Exercise
# Change `SEED`.

# %% tags=["lesson-check"]
assert steps > 0

# %% [markdown]
# ## Key points
# - Steps count.
# - **Toy vs world:** three steps here, millions in practice.
'''


# ------------------------------------------------------------------ py2nb
def test_parse_percent_cells_types_and_tags():
    cells = nbtools.parse_percent(SCRIPT)
    assert [c[0] for c in cells] == ["markdown", "code", "code", "markdown", "code", "markdown"]
    assert cells[0][1] == "# 01 A tiny lesson\n\nRun time: about 1 s on two cores."
    assert cells[1] == ("code", "SEED = 0\nFAST = False", ["parameters"])
    assert cells[3] == ("markdown", "## Exercise\nChange `SEED`.", ["exercise"])
    assert cells[4][2] == ["lesson-check"]


def test_parse_percent_keeps_code_before_the_first_marker_and_drops_empty_cells():
    cells = nbtools.parse_percent("import os\n\n# %%\n\n# %%\nx = 1\n")
    assert cells == [("code", "import os", []), ("code", "x = 1", [])]


@pytest.mark.parametrize("text, message", [
    ("# %% [markdown]\n# fine\nnot a comment\n", "line 3"),
    ("# %% tags=[parameters]\nSEED = 0\n", "JSON list"),
    ("# %% tags=[1]\nSEED = 0\n", "list of strings"),
    ("# %% [raw]\nx\n", "unknown cell type"),
])
def test_parse_percent_rejects_malformed_input(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        nbtools.parse_percent(text)


def test_py2nb_writes_a_valid_notebook_with_stable_ids(tmp_path):
    src = tmp_path / "01_tiny.py"
    src.write_text(SCRIPT)
    nb = nbtools.py2nb(src, tmp_path / "01_tiny.ipynb")
    again = nbformat.read(str(tmp_path / "01_tiny.ipynb"), as_version=4)
    nbformat.validate(again)
    assert again.nbformat_minor >= 5
    assert [c.id for c in again.cells] == [f"cell-{i:02d}" for i in range(6)] == [c.id for c in nb.cells]
    assert again.metadata.kernelspec == nbtools.KERNELSPEC
    assert again.metadata.language_info == {"name": "python"}
    assert again.cells[1].metadata.tags == ["parameters"]


def test_nb2py_round_trips_every_committed_notebook(tmp_path):
    for path in sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        script = tmp_path / (path.stem + ".py")
        nbtools.nb2py(path, script)
        rebuilt = nbtools.py2nb(script, tmp_path / path.name)
        assert [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in rebuilt.cells] == \
               [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in nb.cells], path.name


# ------------------------------------------------------------------ check and clean
def executed(script=SCRIPT, name="01_tiny.ipynb"):
    """A notebook built from ``script`` that looks executed in order, with no outputs."""
    nb = nbtools.build_notebook(nbtools.parse_percent(script))
    count = 0
    for cell in nb.cells:
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
    return nb, name


def test_check_accepts_a_good_notebook():
    assert nbtools.check_notebook(*executed()) == []


def test_check_reports_each_broken_rule():
    nb, name = executed()
    nb.cells[0].source = "# 01 A tiny lesson"  # no run time
    nb.cells[1].source = "SEED = 0"  # no FAST
    nb.cells[2].execution_count = 7  # out of order
    nb.cells[2].outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="/tmp/ipykernel_42/123.py:1: Warning\n"),
        nbformat.v4.new_output("error", ename="ValueError", evalue="boom", traceback=[]),
    ]
    nb.cells[4].metadata.tags = []  # no lesson-check
    nb.cells[4].source = "plt.plot([1, 2]);"
    problems = "\n".join(nbtools.check_notebook(nb, name))
    for expected in ("Run time", "must set FAST", "executed in order", "machine path", "error output",
                     "lesson-check", "ends with ';'"):
        assert expected in problems


def test_check_needs_check_parameters_after_the_parameters_and_a_toy_vs_world_key_point():
    nb, name = executed()
    nb.cells[2].source = nb.cells[2].source.replace("check_parameters(SEED=SEED, FAST=FAST)\n", "")
    nb.cells[5].source = "## Key points\n- Steps count."
    problems = "\n".join(nbtools.check_notebook(nb, name))
    assert "check_parameters(SEED=SEED, FAST=FAST)" in problems and "Toy vs world" in problems


def test_check_needs_a_parameters_cell_but_no_lesson_check_in_notebook_00():
    nb, _ = executed()
    del nb.cells[1].metadata["tags"]
    del nb.cells[4].metadata["tags"]
    problems = nbtools.check_notebook(nb, "00_welcome.ipynb")
    assert len(problems) == 1 and "parameters" in problems[0]


def test_clean_strips_volatile_metadata_and_keeps_tags():
    nb, _ = executed()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    nb.metadata["language_info"]["version"] = "3.11.7"
    nb.metadata["papermill"] = {"duration": 1.0}
    cell = nb.cells[1]
    cell.metadata.update({"execution": {"iopub.status.busy": "x"}, "collapsed": False, "scrolled": True})
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "text/plain": "HBox()", nbtools.WIDGET_VIEW: {"model_id": "abc", "version_major": 2, "version_minor": 0}})]
    nbtools.clean_notebook(nb)
    assert set(nb.metadata) == {"kernelspec", "language_info"}
    assert nb.metadata.language_info == {"name": "python"}
    assert cell.metadata == {"tags": ["parameters"]}
    assert set(cell.outputs[0].data) == {"text/plain"}
    nbformat.validate(nb)


def test_cli_check_exit_status(tmp_path, capsys):
    nb, _ = executed()
    good = tmp_path / "01_good.ipynb"
    nbformat.write(nb, str(good))
    assert nbtools.main(["check", str(good)]) == 0
    nb.cells[2].execution_count = None
    bad = tmp_path / "01_bad.ipynb"
    nbformat.write(nb, str(bad))
    assert nbtools.main(["check", str(good), str(bad)]) == 1
    assert "01_bad.ipynb: code cells must be executed in order" in capsys.readouterr().out


# ------------------------------------------------------------------ run_course helpers
def test_run_course_types_parameters_like_papermill():
    assert [run_course.resolve_value(v) for v in ("3", "0.5", "True", "None", "abc")] == [3, 0.5, True, None, "abc"]


def test_run_course_finds_numbered_notebooks_by_prefix(tmp_path):
    for name in ("00_a.ipynb", "01_b.ipynb", "10_c.ipynb", "scratch.ipynb"):
        (tmp_path / name).write_text("{}")
    names = lambda *p: [nb.name for nb in run_course.find_notebooks(tmp_path, p)]
    assert names() == ["00_a.ipynb", "01_b.ipynb", "10_c.ipynb"]
    assert names("0") == ["00_a.ipynb", "01_b.ipynb"]
    assert names("notebooks/10_c.ipynb") == ["10_c.ipynb"]


# ------------------------------------------------------------------ nbval sanitize rules
def test_sanitize_file_rules_are_all_read_by_nbval():
    nbval_plugin = pytest.importorskip("nbval.plugin")
    text = (ROOT / "tools" / "nbval_sanitize.cfg").read_text()
    rules = nbval_plugin.get_sanitize_patterns(text)
    declared = len(re.findall(r"^regex:", text, flags=re.M))
    assert declared == len(rules) == 5, "a rule was dropped: 'replace:' needs one space after the colon"

    def sanitize(s):
        for regex, replace in rules:
            s = re.sub(regex, replace, s)
        return s

    assert sanitize("<Foo object at 0x7f3a2c1b9d30>") == "<Foo object at 0xADDRESS>"
    assert sanitize("/tmp/ipykernel_123/4567.py:3: UserWarning") == "<ipykernel-cell>.py:3: UserWarning"
    assert sanitize("History('a', 3 epochs, 1.2s) took 0.53 s, 12 ms") == "History('a', 3 epochs, T s) took T s, 12 ms"
    assert sanitize(" 40%|####      | 4/10 [00:01<00:02,  2.50epoch/s]") == " <progress bar>"
    # Not over-sanitized: accuracies, integer counts and hex-looking short values stay.
    for kept in ("accuracy 0.812", "effect +0.231 (needs >= 0.150)", "12 seconds", "0xff", "3 s"):
        assert sanitize(kept) == kept
