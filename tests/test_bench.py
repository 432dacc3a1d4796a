"""tools/bench.py and the lesson table of tools/run_course.py (no notebook is run here)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import bench  # noqa: E402
import run_course  # noqa: E402


def _result(nb, passed, effects, seconds=20.0, notebook_seconds=None):
    checks = [dict(name=name, effect=e, threshold=0.1, direction="at_least", passed=e >= 0.1)
              for name, e in effects.items()]
    return dict(notebook=nb, passed=passed, checks=checks, seconds=seconds, notebook_seconds=notebook_seconds,
                peak_mb=900,
                checks_passed=sum(c["passed"] for c in checks), checks_total=len(checks))


def test_summarize_counts_passes_and_spreads():
    runs = {("00_a", 0): _result("00_a", True, {"gain": 0.3}, 20.0),
            ("00_a", 1): _result("00_a", True, {"gain": 0.2}, 22.0),
            ("00_a", 2): _result("00_a", False, {"gain": 0.05}, 24.0, notebook_seconds=21.0)}
    nb_rows, check_rows = bench.summarize(runs)
    # run time: papermill's clock where the run reported it (21.0), else the wall clock
    assert nb_rows == [dict(notebook="00_a", seeds=[0, 1, 2], runs=3, passed=2, seconds_mean=21.0, seconds_max=22.0,
                            wall_mean=22.0, wall_max=24.0, peak_mb=900)]
    (row,) = check_rows
    assert (row["passed"], row["runs"], row["needs"]) == (2, 3, ">= 0.1")
    assert abs(row["mean"] - 0.55 / 3) < 1e-9 and row["low"] == 0.05 and row["high"] == 0.3
    text = bench.markdown(nb_rows, check_rows, [0, 1, 2], 90)
    assert not row["holds"]                     # a run failed: the rule is not met whatever the margin
    assert "| 00 | gain | 2/3 |" in text and "| 00_a | 2/3 | 21.0 s (22.0 s) | 22.0 s (24.0 s) | 900 MB |" in text


def test_lesson_table_lists_every_check():
    lines = run_course.lesson_table([_result("00_a", True, {"gain": 0.3, "speed": 0.02})])
    assert len(lines) == 3 and lines[1].startswith("00  gain") and lines[2].rstrip().endswith("NO")
    assert run_course.lesson_table([_result("00_a", True, {})]) == []


def test_notebook_time_shows_both_clocks():
    assert run_course.notebook_time(_result("00_a", True, {}, 25.6, 22.1)) == "  22.1 s (25.6 s with the runner)"
    assert run_course.notebook_time(_result("00_a", True, {}, 25.6)) == "  25.6 s"


def test_merge_keeps_the_rows_of_notebooks_not_run_again():
    old = bench.markdown(*bench.summarize({("00_a", 0): _result("00_a", True, {"gain": 0.3}),
                                           ("01_b", 0): _result("01_b", True, {"leak": 0.2})}), [0], 60)
    new = bench.markdown(*bench.summarize({("01_b", 0): _result("01_b", False, {"leak": 0.05}),
                                           ("02_c", 0): _result("02_c", True, {"fix": 0.4})}), [0], None)
    text = bench.merge(old, new, ["01_b", "02_c"])
    assert "| 00 | gain | 1/1 |" in text            # kept from the old table
    assert "| 01 | leak | 0/1 |" in text and "| 01 | leak | 1/1 |" not in text   # replaced
    assert "| 02 | fix | 1/1 |" in text             # added
    assert text.index("| 00_a |") < text.index("| 01_b |") < text.index("| 02_c |")
    assert text.index("| 00 | gain") < text.index("| 01 | leak") < text.index("| 02 | fix")
    assert "latest run" in text and "minutes in all" not in text
    # the tables stay whole Markdown tables: no blank line inside, one before the next heading
    assert "|---|\n\n|" not in text and "|\n## " not in text
    assert text.count("|---|---|---|---|---|\n| 00_a |") == 1 and "| 02_c |" in text.split("## Lesson checks")[0]
    assert bench.merge(text, new, ["01_b", "02_c"]) == text          # merging again changes nothing


def test_margin_rule_needs_three_sd_on_the_safe_side():
    assert bench.margin_sd(0.5, 0.1, 0.2, "at_least") == 3.0
    assert bench.margin_sd(0.1, 0.1, 0.2, "at_least") == -1.0          # wrong side: negative
    assert bench.margin_sd(0.05, 0.01, 0.08, "at_most") == 3.0
    assert bench.margin_sd(1.0, 0.0, 0.95, "at_least") == float("inf")
    assert bench.margin_sd(0.9, 0.0, 0.95, "at_least") == float("-inf")
    # every run passes, but the mean sits only 2 sd above the threshold: the rule is not met
    effects = [0.3, 0.5, 0.4, 0.6, 0.2]                                # mean 0.4, sd 0.158
    runs = {("00_a", s): _result("00_a", True, {"gain": e}) for s, e in zip(range(0, 15, 3), effects)}
    for r in runs.values():
        r["checks"][0]["threshold"] = 0.1
    (row,) = bench.summarize(runs)[1]
    assert row["passed"] == 5 and 1.8 < row["margin_sd"] < 2.0 and not row["holds"]
    runs = {k: dict(r, checks=[dict(r["checks"][0], threshold=-0.1)]) for k, r in runs.items()}
    (row,) = bench.summarize(runs)[1]
    assert row["margin_sd"] > 3 and row["holds"]


def test_seeds_are_disjoint_sets():
    seeds = bench.seeds_for(20, 3)
    assert seeds[:3] == [0, 3, 6] and seeds[-1] == 57 and len(seeds) == 20
    sets = [set(range(s, s + 3)) for s in seeds]
    assert all(a.isdisjoint(b) for i, a in enumerate(sets) for b in sets[i + 1:])
    try:
        bench.seeds_for(0, 3)
    except ValueError as err:
        assert "at least 1" in str(err)
    else:
        raise AssertionError("seeds_for(0, 3) was accepted")


def test_json_has_the_documented_fields_and_merges():
    runs = {("00_a", 0): _result("00_a", True, {"gain": 0.3}), ("00_a", 3): _result("00_a", True, {"gain": 0.4}),
            ("01_b", 0): _result("01_b", True, {"leak": 0.2}), ("01_b", 3): _result("01_b", True, {"leak": 0.2})}
    data = bench.as_json(*bench.summarize(runs))
    assert set(data["notebooks"][0]) >= {"notebook", "seeds", "seconds", "peak_mb"}
    assert data["notebooks"][0]["seeds"] == [0, 3]
    assert set(data["checks"][0]) >= {"notebook", "name", "n", "mean", "sd", "min", "max", "threshold",
                                      "direction", "passed"}
    leak = data["checks"][1]
    assert leak["sd"] == 0 and leak["margin_sd"] is None and leak["passed"] is True   # constant, safe side
    new = bench.as_json(*bench.summarize({("01_b", 0): _result("01_b", False, {"leak": 0.05})}))
    merged = bench.merge_json(data, new, ["01_b"])
    assert [c["notebook"] for c in merged["checks"]] == ["00_a", "01_b"]
    assert merged["checks"][1]["passed"] is False and merged["checks"][0] == data["checks"][0]
    import json
    json.dumps(merged, allow_nan=False)          # valid JSON: no Infinity


def test_merge_keeps_the_under_load_section_and_ignores_its_table():
    """`make bench-load` writes its own section at the end; a merged bench must keep it whole, never read its rows."""
    load = ("\n<!-- bench-load: start -->\n## Under load\n\n| notebook | idle | busy |\n|---|---|---|\n"
            "| 00_a | 10 s | 12 s |\n\nOne thread keeps its pace.\n<!-- bench-load: end -->\n")
    old = bench.markdown(*bench.summarize({("00_a", 0): _result("00_a", True, {"gain": 0.3}),
                                           ("01_b", 0): _result("01_b", True, {"leak": 0.2})}), [0], 60) + load
    new = bench.markdown(*bench.summarize({("01_b", 0): _result("01_b", False, {"leak": 0.05})}), [0], None)
    text = bench.merge(old, new, ["01_b"])
    assert text.endswith(load) and text.count("<!-- bench-load: start -->") == 1
    assert text.split("## Lesson checks")[1].split("<!--")[0].count("| 00_a |") == 0   # its table stayed put
    assert "| 01 | leak | 0/1 |" in text and "| 00 | gain | 1/1 |" in text
    # a whole file from another checkout (every notebook's rows) merges only the named notebook's rows
    other = bench.markdown(*bench.summarize({("00_a", 0): _result("00_a", True, {"gain": 0.9}),
                                             ("01_b", 0): _result("01_b", False, {"leak": 0.05})}), [0], None)
    text = bench.merge(old, other, ["01_b"])
    assert "| 00 | gain | 1/1 | +0.300" in text and "+0.900" not in text
