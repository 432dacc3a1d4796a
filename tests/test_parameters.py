"""A notebook run with a parameter of the wrong type stops at once with a clear message (papermill, one notebook)."""

from pathlib import Path

import pytest

papermill = pytest.importorskip("papermill")

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "00_welcome_first_transfer.ipynb"


@pytest.mark.parametrize("parameters, words", [
    ({"FAST": "false"}, "FAST must be True or False, got 'false'"),      # what `papermill -r FAST false` passes
    ({"SEED": "abc"}, "SEED must be a whole number"),                   # `-r SEED abc`
])
def test_wrong_parameter_type_stops_in_the_first_cell(tmp_path, parameters, words):
    with pytest.raises(papermill.PapermillExecutionError) as err:
        papermill.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"), parameters=parameters,
                                   kernel_name="python3", progress_bar=False, cwd=str(NOTEBOOK.parent))
    assert words in str(err.value.evalue)
    assert err.value.exec_count <= 3          # the parameters, papermill's injected cell, then the check
