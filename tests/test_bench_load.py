"""tools/bench_load.py: the under-load table (the timing itself is a benchmark, not a test)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import bench_load  # noqa: E402

TIMES = {"05_x": {"idle": {"2t": [10.0, 12.0], "1t": [11.0, 11.0]}, "busy": {"2t": [300.0, 320.0], "1t": [13.0, 14.0]}},
         "06_y": {"idle": {"2t": [20.0, 20.0], "1t": [21.0, None]}, "busy": {"2t": [40.0, 40.0], "1t": [30.0, 30.0]}}}


def test_rows_give_the_slow_down_under_load_and_the_idle_cost():
    table = bench_load.rows(TIMES, ["2t", "1t"], default="1t", today="2t")
    first, second = table
    assert first["idle"] == {"2t": 11.0, "1t": 11.0} and first["busy"]["1t"] == 13.5
    assert first["load_ratio"] == pytest.approx(13.5 / 11.0) and first["idle_change"] == pytest.approx(0.0)
    assert second["idle"]["1t"] is None and second["load_ratio"] is None      # a failed run is not a median


def test_markdown_and_section_replacement(tmp_path):
    table = bench_load.rows(TIMES, ["2t", "1t"], default="1t", today="2t")
    text = bench_load.markdown(table, ["2t", "1t"], ["2t", "1t"], 2, "1t", "2t", 2)
    assert "| 05_x | 11.0 | 11.0 | 310.0 | 13.5 | 1.23x | +0% |" in text and "| 06_y |" in text and "failed" in text
    only_default = bench_load.markdown(table, ["2t", "1t"], ["1t"], 1, "1t", "2t", 2)
    assert "| notebook | idle 2t | idle 1t | busy 1t |" in only_default and "1 round of" in only_default
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text("# Benchmarks\n\nintro\n")
    bench_load.write_section(doc, text)
    bench_load.write_section(doc, text.replace("1.23x", "1.24x"))           # a second run replaces the section
    out = doc.read_text()
    assert out.count(bench_load.START) == 1 and "1.24x" in out and "1.23x" not in out and out.startswith("# Benchmarks")


def test_the_settings_are_the_documented_ones():
    assert bench_load.CONFIGS["1t"] == {"COURSE_THREADS": "1"}
    assert bench_load.CONFIGS["2t-passive"]["OMP_WAIT_POLICY"] == "PASSIVE"
    with pytest.raises(SystemExit):
        bench_load.main(["--configs", "1t", "--default", "2t"])              # the default must be measured
