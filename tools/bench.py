#!/usr/bin/env python3
"""Benchmark the course: every notebook for seeds 0-9, then a table in docs/BENCHMARKS.md.

    python tools/bench.py                 # all notebooks, seeds 0..9   (make bench)
    python tools/bench.py --nb 00 --seeds 3
    python tools/bench.py --no-write      # print the table only
    python tools/bench.py --nb 05 --merge # re-run one notebook; keep the other notebooks' rows

For each notebook it records the run time and peak memory of every run, and for
each lesson check how many seeds passed it and the mean, spread and range of the
measured effect.  This is a benchmark, not a test: it takes minutes, and the
committed docs/BENCHMARKS.md is its evidence that every lesson holds for any seed.
"""

import argparse
import fcntl
import platform
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_course import ROOT, find_notebooks, run_one  # noqa: E402


def summarize(runs):
    """Aggregate ``{(notebook, seed): result}`` from run_course.run_one into per-notebook and per-check rows."""
    notebooks, checks = defaultdict(list), defaultdict(list)
    for (nb, seed), r in sorted(runs.items()):
        notebooks[nb].append(r)
        for c in r["checks"]:
            checks[(nb, c["name"])].append(c)
    nb_rows = []
    for nb, rs in notebooks.items():
        secs = [r["seconds"] if r.get("notebook_seconds") is None else r["notebook_seconds"] for r in rs]
        walls = [r["seconds"] for r in rs]
        mems = [r["peak_mb"] for r in rs if r["peak_mb"] is not None]
        nb_rows.append(dict(notebook=nb, runs=len(rs), passed=sum(r["passed"] for r in rs),
                            seconds_mean=statistics.mean(secs), seconds_max=max(secs),
                            wall_mean=statistics.mean(walls), wall_max=max(walls),
                            peak_mb=max(mems) if mems else None))
    check_rows = []
    for (nb, name), cs in checks.items():
        effects = [c["effect"] for c in cs]
        first = cs[0]
        check_rows.append(dict(notebook=nb, name=name, runs=len(cs), passed=sum(c["passed"] for c in cs),
                               mean=statistics.mean(effects),
                               sd=statistics.stdev(effects) if len(effects) > 1 else 0.0,
                               low=min(effects), high=max(effects),
                               needs=(">= " if first["direction"] == "at_least" else "<= ") + f"{first['threshold']:g}"))
    return nb_rows, check_rows


def markdown(nb_rows, check_rows, seeds, seconds):
    lines = [
        "# Benchmarks",
        "",
        f"Made by `make bench` (`tools/bench.py`): every notebook run headless with papermill for seeds "
        f"{seeds[0]}-{seeds[-1]}, on {platform.machine()} with 2 torch threads, Python {platform.python_version()}; "
        + (f"{seconds / 60:.0f} minutes in all." if seconds is not None else
         "each notebook's rows come from its latest run (`tools/bench.py --nb NN --merge`)."),
        "",
        "## Notebooks",
        "",
        "Run time is papermill's clock: starting the kernel and running every cell, top to bottom. The wall-clock "
        "column adds the runner's own start-up (a fresh Python process importing papermill).",
        "",
        "| notebook | runs passed | run time mean (max) | wall clock mean (max) | peak memory |",
        "|---|---|---|---|---|",
    ]
    for r in nb_rows:
        mem = "n/a" if r["peak_mb"] is None else f"{r['peak_mb']} MB"
        lines.append(f"| {r['notebook']} | {r['passed']}/{r['runs']} | {r['seconds_mean']:.1f} s "
                     f"({r['seconds_max']:.1f} s) | {r['wall_mean']:.1f} s ({r['wall_max']:.1f} s) | {mem} |")
    lines += ["", "## Lesson checks", "",
              "Each row is one `lesson_check` in a notebook: the effect it measured over the seeds, and the "
              "margin its claim needs.", "",
              "| notebook | lesson check | passed | effect mean ± sd | min .. max | needs |", "|---|---|---|---|---|---|"]
    for r in check_rows:
        lines.append(f"| {r['notebook'][:2]} | {r['name']} | {r['passed']}/{r['runs']} | "
                     f"{r['mean']:+.3f} ± {r['sd']:.3f} | {r['low']:+.3f} .. {r['high']:+.3f} | {r['needs']} |")
    return "\n".join(lines) + "\n"


def _notebook_of(row):
    """The notebook a table row of BENCHMARKS.md belongs to (its first cell), or None for other lines."""
    if not row.startswith("| ") or row.startswith("| notebook ") or row.startswith("|---"):
        return None
    return row[2:].split(" |", 1)[0].strip()


def merge(old_text, new_text, notebooks):
    """``new_text`` with the table rows of every notebook *not* in ``notebooks`` kept from ``old_text``.

    ``make bench NB=05 ARGS=--merge`` re-runs one notebook without throwing away the
    measurements of the others.  Rows are matched by their first cell: the notebook's
    name in the run-time table, its two-digit number in the lesson-check table.
    """
    prefixes = {nb[:2] for nb in notebooks}
    old_sections = old_text.split("## Lesson checks")
    new_sections = new_text.split("## Lesson checks")
    if len(old_sections) != 2 or len(new_sections) != 2:
        return new_text
    merged = []
    for old, new in zip(old_sections, new_sections):
        kept = [r for r in old.splitlines() if _notebook_of(r) and _notebook_of(r)[:2] not in prefixes]
        lines = new.splitlines()
        rows = [r for r in lines if _notebook_of(r)]
        if not rows:
            merged.append(new)
            continue
        at = next(i for i, r in enumerate(lines) if _notebook_of(r))
        everything = sorted(kept + rows, key=lambda r: _notebook_of(r)[:2])   # stable: check order kept
        # by position, not by value: a blank line after the table must stay after it
        head = [r for i, r in enumerate(lines) if i < at and not _notebook_of(r)]
        tail = [r for i, r in enumerate(lines) if i > at and not _notebook_of(r)]
        merged.append("\n".join(head + everything + tail) + ("\n" if new.endswith("\n") else ""))
    return "## Lesson checks".join(merged)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nb", action="append", default=[], metavar="PREFIX", help="only these notebooks")
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default 10)")
    parser.add_argument("--out", default=str(ROOT / "_course_runs" / "bench"), help="executed copies")
    parser.add_argument("--no-write", action="store_true", help="do not write docs/BENCHMARKS.md")
    parser.add_argument("--merge", action="store_true",
                        help="keep the rows of the notebooks not run this time (with --nb)")
    args = parser.parse_args(argv)
    notebooks = find_notebooks(ROOT / "notebooks", args.nb)
    if not notebooks:
        print("No notebooks to benchmark.", file=sys.stderr)
        return 2
    seeds = list(range(args.seeds))
    runs, start = {}, time.perf_counter()
    for nb in notebooks:
        for seed in seeds:
            out = Path(args.out) / f"seed{seed}"
            out.mkdir(parents=True, exist_ok=True)
            r = run_one(nb, out, {"SEED": seed}, 300)
            runs[(nb.stem, seed)] = r
            print(f"{nb.stem} seed {seed}: {'PASS' if r['passed'] else 'FAIL'} "
                  f"checks {r['checks_passed']}/{r['checks_total']} {r['seconds']:.1f} s", flush=True)
    nb_rows, check_rows = summarize(runs)
    text = markdown(nb_rows, check_rows, seeds, time.perf_counter() - start)
    print("\n" + text)
    if not args.no_write:
        path = ROOT / "docs" / "BENCHMARKS.md"
        path.parent.mkdir(exist_ok=True)
        with open(path.with_suffix(".lock"), "w") as lock:     # several benches may finish at once
            fcntl.flock(lock, fcntl.LOCK_EX)
            if args.merge and path.exists():
                text = merge(path.read_text(), markdown(nb_rows, check_rows, seeds, None),
                             [nb.stem for nb in notebooks])
            path.write_text(text)
        path.with_suffix(".lock").unlink(missing_ok=True)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0 if all(r["passed"] for r in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
