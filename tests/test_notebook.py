"""course_lib.notebook: the plumbing the notebooks share (explorer, mean and range, per-seed tables)."""

import json
import pathlib
from dataclasses import dataclass

import numpy as np
import pytest

from course_lib.notebook import NOTE, explorer, mean_range, over_seeds, scores, seed_table

widgets = pytest.importorskip("ipywidgets")
NOTEBOOKS = sorted((pathlib.Path(__file__).parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))


# --------------------------------------------------------------------------- mean_range
def test_mean_range_gives_mean_min_max_and_the_seed_count():
    assert mean_range([0.79, 0.812, 0.84]) == "0.814 (0.790..0.840, 3 seeds)"
    assert mean_range(np.array([0.5]), digits=2) == "0.50 (0.50..0.50, 1 seed)"
    assert mean_range([3, 1, 2], digits=0, count=False) == "2 (1..3)"


def test_mean_range_signed_marks_gains_and_losses():
    assert mean_range([0.02, -0.01], signed=True) == "+0.005 (-0.010..+0.020, 2 seeds)"


@pytest.mark.parametrize("values, error, words", [
    ([], ValueError, "empty"), (0.5, TypeError, "a list of numbers"), ("0.5", TypeError, "a list of numbers"),
    ([0.5, None], TypeError, "None"), ([True, False], TypeError, "numbers")])
def test_mean_range_refuses_what_is_not_per_seed_numbers(values, error, words):
    with pytest.raises(error, match=words):
        mean_range(values)


def test_mean_range_refuses_negative_digits():
    with pytest.raises(ValueError, match="digits"):
        mean_range([0.5], digits=-1)


# --------------------------------------------------------------------------- seed_table
def test_seed_table_aligns_columns_and_says_the_seed_count_once():
    text = seed_table({"frozen baseline": {"accuracy": [0.7, 0.74], "trainable": 325, "kind": "head"},
                       "fine-tune": {"accuracy": [0.8, 0.9], "trainable": 23621, "kind": "all"}},
                      first="strategy", digits={"accuracy": 2}, note="trainable = parameters trained")
    lines = text.splitlines()
    assert lines[0].split() == ["strategy", "accuracy", "trainable", "kind"]
    assert lines[1].split() == ["frozen", "baseline", "0.72", "(0.70..0.74)", "325", "head"]
    assert "23,621" in lines[2]
    assert len({len(line) for line in lines[:3]}) == 1            # one width for every row
    assert lines[-1] == "mean (min..max) over 2 seeds; trainable = parameters trained"


def test_seed_table_signed_columns_and_uneven_seed_counts():
    text = seed_table({"a": {"gain": [0.1, 0.2]}, "b": {"gain": [-0.1]}}, signed=("gain",))
    assert "+0.150 (+0.100..+0.200)" in text and "-0.100 (-0.100..-0.100)" in text
    assert text.splitlines()[-1] == "mean (min..max) over the seeds"


def test_seed_table_says_one_seed_in_the_singular():
    assert seed_table({"a": {"x": [0.5]}}).splitlines()[-1] == "mean (min..max) over 1 seed"


def test_seed_table_without_per_seed_values_has_no_footer():
    assert seed_table({"a": {"x": 1.0}}) == "run      x\na    1.000"


def test_seed_table_leaves_a_missing_cell_blank():
    text = seed_table({"a": {"x": 1, "y": 2}, "b": {"x": 3}})
    assert text.splitlines()[2].rstrip() == "b    3"


@pytest.mark.parametrize("rows, words", [({}, "at least one row"), ([("a", {})], "dict"), ({"a": [1.0]}, "row 'a'")])
def test_seed_table_refuses_rows_in_the_wrong_shape(rows, words):
    with pytest.raises(TypeError, match=words):
        seed_table(rows)


# --------------------------------------------------------------------------- over_seeds and scores
def test_over_seeds_passes_the_seed_last_and_first_only_to_the_first_seed():
    calls = over_seeds(lambda label, seed, curves=False, epochs=1: (label, seed, curves, epochs), "probe",
                       seeds=[3, 4, 5], first=dict(curves=True), epochs=2)
    assert calls == [("probe", 3, True, 2), ("probe", 4, False, 2), ("probe", 5, False, 2)]


@pytest.mark.parametrize("seeds", [[], 3])
def test_over_seeds_needs_a_list_of_seeds(seeds):
    with pytest.raises(ValueError, match="seeds must be a non-empty list"):
        over_seeds(lambda seed: seed, seeds=seeds)


def test_over_seeds_needs_a_function():
    with pytest.raises(TypeError, match="run function"):
        over_seeds("run", seeds=[0])


def test_scores_reads_dicts_and_attributes():
    @dataclass
    class Run:
        accuracy: float

    assert scores([{"test": 0.5, "loss": 1.0}, {"test": 0.25, "loss": 2.0}], "loss").tolist() == [1.0, 2.0]
    assert scores([Run(0.5), Run(0.75)], "accuracy").tolist() == [0.5, 0.75]
    with pytest.raises(KeyError, match="no score 'acc'.*accuracy"):
        scores([Run(0.5)], "acc")
    with pytest.raises(KeyError, match="they have: test"):
        scores([{"test": 0.5}], "tset")


# --------------------------------------------------------------------------- explorer
def _views():
    drawn = []

    def show(blocks, epochs=10):
        drawn.append((blocks, epochs))
        print(f"{blocks} blocks, {epochs} epochs")
    return drawn, show


def test_explorer_draws_the_default_view_once_into_its_output():
    drawn, show = _views()
    ex = explorer(show, blocks=widgets.IntSlider(value=3, min=0, max=3, description="unfrozen blocks"))
    assert drawn == [(3, 10)]
    assert ex.output.outputs == ({"output_type": "stream", "name": "stdout", "text": "3 blocks, 10 epochs\n"},)
    assert ex.controls["blocks"].style.description_width == "initial"      # the label is not cut


def test_explorer_redraws_when_a_control_moves():
    drawn, show = _views()
    blocks, epochs = widgets.IntSlider(value=1, max=3), widgets.SelectionSlider(options=[5, 10], value=10)
    explorer(show, blocks=blocks, epochs=epochs)
    blocks.value, epochs.value = 2, 5
    assert drawn == [(1, 10), (2, 10), (2, 5)]


def test_explorer_with_a_button_redraws_only_on_click():
    drawn, show = _views()
    ex = explorer(show, button="Run", blocks=widgets.IntSlider(value=1, max=3))
    ex.controls["blocks"].value = 2
    assert drawn == [(1, 10)]
    ex.button.click()
    assert drawn == [(1, 10), (2, 10)]


def test_explorer_displays_as_the_widget_with_a_short_note_not_its_repr():
    _, show = _views()
    ex = explorer(show, blocks=widgets.IntSlider(value=1))
    bundle = ex._repr_mimebundle_()
    assert bundle["text/plain"] == NOTE
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "image/png" not in bundle                         # the view printed text; no plot to store


def test_explorer_keeps_the_default_plot_for_a_stored_notebook():
    ex = explorer(lambda blocks: None, blocks=widgets.IntSlider(value=1))
    ex.default = [{"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<Figure>"}}]
    assert ex._repr_mimebundle_()["image/png"] == "iVBOR"


@pytest.mark.parametrize("call, words", [
    (lambda: explorer("show", blocks=widgets.IntSlider()), "function that draws"),
    (lambda: explorer(lambda blocks: None), "at least one control"),
    (lambda: explorer(lambda blocks: None, blocks=3), "ipywidgets control"),
    (lambda: explorer(lambda blocks: None, block=widgets.IntSlider()), "'block' is not a parameter of show")])
def test_explorer_refuses_bad_arguments_with_a_learners_message(call, words):
    with pytest.raises(TypeError, match=words):
        call()


# --------------------------------------------------------------------------- the stored notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_no_stored_notebook_shows_a_widgets_text_form(path):
    """Issue 15: a stored explorer shows its default view and at most a short note, never ``VBox(children=...``."""
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else text
            assert not text.startswith(("VBox(", "HBox(", "Output(")), f"{path.name} stores a widget's text form: {text[:60]}"
