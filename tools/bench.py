#!/usr/bin/env python3
"""Benchmark the course: every notebook at 20 disjoint seed sets, then docs/BENCHMARKS.md and docs/bench.json.

    python tools/bench.py                 # all notebooks, SEED = 0, 3, ..., 57   (make bench)
    python tools/bench.py --nb 00 --seeds 5
    python tools/bench.py --no-write      # print the table only
    python tools/bench.py --nb 05 --merge # re-run one notebook; keep the other notebooks' rows
    python tools/bench.py --jobs 2        # two notebooks at a time, one torch thread each (about 3x sooner)

Every notebook averages its lesson over SEED, SEED+1, SEED+2, so the bench steps SEED by
``--stride 3``: the 20 runs use 60 different seeds and no two runs share one, and their spread
is the spread of independent replications (overlapping seed sets would understate it).

For each notebook it records the run time and peak memory of every run, and for each lesson
check its mean, standard deviation and range over the runs, and the margin rule: the check's
threshold must sit at least ``MARGIN_SD`` (3) standard deviations from the mean, on the safe
side, and every run must have passed.  A check that fails the rule is listed at the end and the
exit status is 1.  This is a benchmark, not a test: it takes about an hour on two idle cores;
the committed docs/BENCHMARKS.md and docs/bench.json are its evidence.
"""

import argparse
import concurrent.futures
import fcntl
import os
import json
import math
import platform
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_course import ROOT, find_notebooks, run_one  # noqa: E402

MARGIN_SD = 3.0      # a threshold sits at least this many standard deviations from the mean, on the safe side
MIN_RUNS = 20        # the course's seed rule: at least this many disjoint seed sets per notebook


def seeds_for(count, stride, first=0):
    """The SEEDs of the bench: ``first, first + stride, ...``; with stride >= the seeds a notebook averages, disjoint.

    ``first`` > 0 gives a fresh set for a confirmatory run (``--first 60``: SEED = 60, 63, ..., 117),
    disjoint from the default bench's when ``first >= count * stride``.

    >>> seeds_for(4, 3)
    [0, 3, 6, 9]
    >>> seeds_for(2, 3, first=60)
    [60, 63]
    """
    if count < 1 or stride < 1 or first < 0:
        raise ValueError(f"--seeds and --stride must be at least 1 and --first at least 0, got {count}, {stride} "
                         f"and {first}.")
    return [first + i * stride for i in range(count)]


def margin_sd(mean, sd, threshold, direction):
    """How many standard deviations the mean sits from the threshold on the safe side (inf when sd is 0).

    Negative when the mean is on the wrong side.  With sd 0 the margin is inf when the mean is on the
    safe side or on the threshold (a constant effect that passes every run), -inf otherwise.

    >>> margin_sd(0.5, 0.1, 0.2, "at_least")
    3.0
    >>> margin_sd(0.05, 0.01, 0.08, "at_most")
    3.0
    """
    distance = mean - threshold if direction == "at_least" else threshold - mean
    if sd == 0:
        return math.inf if distance >= 0 else -math.inf
    return round(distance / sd, 6)


def summarize(runs):
    """Aggregate ``{(notebook, seed): result}`` from run_course.run_one into per-notebook and per-check rows."""
    notebooks, checks = defaultdict(list), defaultdict(list)
    for (nb, seed), r in sorted(runs.items()):
        notebooks[nb].append((seed, r))
        for c in r["checks"]:
            checks[(nb, c["name"])].append(c)
    nb_rows = []
    for nb, srs in notebooks.items():
        rs = [r for _, r in srs]
        secs = [r["seconds"] if r.get("notebook_seconds") is None else r["notebook_seconds"] for r in rs]
        walls = [r["seconds"] for r in rs]
        mems = [r["peak_mb"] for r in rs if r["peak_mb"] is not None]
        nb_rows.append(dict(notebook=nb, seeds=[s for s, _ in srs], runs=len(rs), passed=sum(r["passed"] for r in rs),
                            seconds_mean=statistics.mean(secs), seconds_max=max(secs),
                            wall_mean=statistics.mean(walls), wall_max=max(walls),
                            peak_mb=max(mems) if mems else None))
    check_rows = []
    for (nb, name), cs in checks.items():
        effects = [c["effect"] for c in cs]
        first = cs[0]
        mean = statistics.mean(effects)
        sd = statistics.stdev(effects) if len(effects) > 1 else 0.0
        margin = margin_sd(mean, sd, first["threshold"], first["direction"])
        passed = sum(c["passed"] for c in cs)
        check_rows.append(dict(notebook=nb, name=name, runs=len(cs), passed=passed, mean=mean, sd=sd,
                               low=min(effects), high=max(effects), threshold=first["threshold"],
                               direction=first["direction"], margin_sd=margin,
                               holds=passed == len(cs) and margin >= MARGIN_SD,
                               needs=(">= " if first["direction"] == "at_least" else "<= ") + f"{first['threshold']:g}"))
    return nb_rows, check_rows


def _margin_text(m):
    return "∞" if m == math.inf else ("-∞" if m == -math.inf else f"{m:.1f}")


def markdown(nb_rows, check_rows, seeds, seconds, jobs=1):
    lines = [
        "# Benchmarks",
        "",
        f"Made by `make bench` (`tools/bench.py`): every notebook run headless with papermill at {len(seeds)} seed "
        f"sets, SEED = {', '.join(map(str, seeds[:3]))}, ..., {seeds[-1]} (each run averages SEED, SEED+1, SEED+2, "
        f"so no two runs share a seed), on {platform.machine()} with "
        + (f"{_threads()} torch thread(s) per notebook, " if seconds is None else    # merged: rows from several runs
           f"{_threads()} torch thread(s), one notebook at a time, " if jobs == 1 else
           f"{jobs} notebooks at a time, one torch thread each (COURSE_THREADS=1), ")
        + f"Python {platform.python_version()}; "
        + (f"{seconds / 60:.0f} minutes in all." if seconds is not None else
           "each notebook's rows come from its latest run (`tools/bench.py --nb NN --merge`)."),
        "The same numbers, machine-readable: [`bench.json`](bench.json).",
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
              "Each row is one `lesson_check` in a notebook: the effect it measured over the runs, the threshold its "
              f"claim needs, and the margin: how many standard deviations the mean sits from the threshold on the safe "
              f"side. The course's rule is a margin of at least {MARGIN_SD:g} sd and every run passing (∞: the effect "
              "was the same in every run, on the safe side).", "",
              "| notebook | lesson check | passed | effect mean ± sd | min .. max | needs | margin (sd) |",
              "|---|---|---|---|---|---|---|"]
    for r in check_rows:
        lines.append(f"| {r['notebook'][:2]} | {r['name']} | {r['passed']}/{r['runs']} | "
                     f"{r['mean']:+.3f} ± {r['sd']:.3f} | {r['low']:+.3f} .. {r['high']:+.3f} | {r['needs']} | "
                     f"{_margin_text(r['margin_sd'])} |")
    return "\n".join(lines) + "\n"


def _threads():
    """The torch threads each notebook uses: COURSE_THREADS, or the course's default (course_lib.repro)."""
    from course_lib.repro import DEFAULT_THREADS
    return int(os.environ.get("COURSE_THREADS", DEFAULT_THREADS))


def as_json(nb_rows, check_rows, jobs=1):
    """The bench as ``{"notebooks": [...], "checks": [...]}`` (docs/bench.json)."""
    def number(x):
        return None if isinstance(x, float) and math.isinf(x) else x
    return {
        "margin_rule_sd": MARGIN_SD,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "jobs": jobs, "torch_threads": _threads() if jobs == 1 else 1,
        "notebooks": [dict(notebook=r["notebook"], seeds=r["seeds"], seconds=round(r["seconds_mean"], 1),
                           seconds_max=round(r["seconds_max"], 1), peak_mb=r["peak_mb"],
                           runs_passed=r["passed"], runs=r["runs"]) for r in nb_rows],
        "checks": [dict(notebook=r["notebook"], name=r["name"], n=r["runs"], mean=round(r["mean"], 6),
                        sd=round(r["sd"], 6), min=round(r["low"], 6), max=round(r["high"], 6),
                        threshold=r["threshold"], direction=r["direction"], runs_passed=r["passed"],
                        margin_sd=number(r["margin_sd"]), passed=r["holds"]) for r in check_rows],
    }


def merge_json(old, new, notebooks):
    """``new`` with the entries of every notebook *not* in ``notebooks`` kept from ``old``, in notebook order."""
    keep = set(notebooks)
    out = dict(new)
    for key in ("notebooks", "checks"):
        kept = [e for e in old.get(key, []) if e["notebook"] not in keep]
        out[key] = sorted(kept + new[key], key=lambda e: e["notebook"][:2])   # stable: check order kept
    return out


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
    old_text, load = _split_load(old_text)       # the "Under load" section (make bench-load) stays as it is
    new_text, _ = _split_load(new_text)
    old_sections = old_text.split("## Lesson checks")
    new_sections = new_text.split("## Lesson checks")
    if len(old_sections) != 2 or len(new_sections) != 2:
        return new_text + load
    merged = []
    for old, new in zip(old_sections, new_sections):
        kept = [r for r in old.splitlines() if _notebook_of(r) and _notebook_of(r)[:2] not in prefixes]
        lines = new.splitlines()
        rows = [r for r in lines if _notebook_of(r) and _notebook_of(r)[:2] in prefixes]
        if not rows:
            merged.append(new)
            continue
        at = next(i for i, r in enumerate(lines) if _notebook_of(r))
        everything = sorted(kept + rows, key=lambda r: _notebook_of(r)[:2])   # stable: check order kept
        # by position, not by value: a blank line after the table must stay after it
        head = [r for i, r in enumerate(lines) if i < at and not _notebook_of(r)]
        tail = [r for i, r in enumerate(lines) if i > at and not _notebook_of(r)]
        merged.append("\n".join(head + everything + tail) + ("\n" if new.endswith("\n") else ""))
    return "## Lesson checks".join(merged) + load


LOAD_START = "<!-- bench-load: start -->"


def _split_load(text):
    """``(text before the "Under load" section, that section)``; the section runs from its marker to the end."""
    at = text.find(LOAD_START)
    if at < 0:
        return text, ""
    head = text[:at]
    # the section's heading line sits just above its marker
    cut = head.rstrip("\n").rfind("\n## ")
    if cut >= 0 and "Under load" in head[cut:]:
        at = cut + 1
    return text[:at].rstrip("\n") + "\n", "\n" + text[at:]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nb", action="append", default=[], metavar="PREFIX", help="only these notebooks")
    parser.add_argument("--seeds", type=int, default=MIN_RUNS, help=f"number of runs (default {MIN_RUNS})")
    parser.add_argument("--first", type=int, default=0,
                        help="first SEED (default 0); a confirmatory run on fresh seeds: --first 60 --no-write")
    parser.add_argument("--stride", type=int, default=3,
                        help="SEED step between runs (default 3: each notebook averages SEED..SEED+2)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="notebooks run at once (default 1, with the course's default torch threads; more: 1 thread each)")
    parser.add_argument("--out", default=str(ROOT / "_course_runs" / "bench"), help="executed copies")
    parser.add_argument("--no-write", action="store_true", help="do not write docs/BENCHMARKS.md and docs/bench.json")
    parser.add_argument("--merge", action="store_true",
                        help="keep the rows of the notebooks not run this time (with --nb)")
    args = parser.parse_args(argv)
    notebooks = find_notebooks(ROOT / "notebooks", args.nb)
    if not notebooks:
        print("No notebooks to benchmark.", file=sys.stderr)
        return 2
    try:
        seeds = seeds_for(args.seeds, args.stride, args.first)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    if args.seeds < MIN_RUNS and not args.no_write:
        print(f"note: {args.seeds} runs is fewer than the course's rule of {MIN_RUNS}; the table says so.", flush=True)
    if args.jobs < 1:
        print(f"--jobs must be at least 1, got {args.jobs}.", file=sys.stderr)
        return 2
    if args.jobs > 1:          # two threads per notebook on shared cores spin-wait for each other: use one each
        os.environ["COURSE_THREADS"] = "1"
    runs, start = {}, time.perf_counter()

    def one(nb, seed):
        out = Path(args.out) / f"seed{seed}"
        out.mkdir(parents=True, exist_ok=True)
        return nb, seed, run_one(nb, out, {"SEED": seed}, 300)

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(one, nb, seed) for nb in notebooks for seed in seeds]
        for future in concurrent.futures.as_completed(futures):
            nb, seed, r = future.result()
            runs[(nb.stem, seed)] = r
            print(f"{nb.stem} seed {seed}: {'PASS' if r['passed'] else 'FAIL'} "
                  f"checks {r['checks_passed']}/{r['checks_total']} {r['seconds']:.1f} s", flush=True)
            if r["error"]:
                print(f"    {r['error']}", flush=True)
    nb_rows, check_rows = summarize(runs)
    text = markdown(nb_rows, check_rows, seeds, time.perf_counter() - start, args.jobs)
    print("\n" + text)
    weak = [r for r in check_rows if not r["holds"]]
    for r in weak:
        print(f"RULE NOT MET: {r['notebook'][:2]} {r['name']!r}: {r['passed']}/{r['runs']} runs passed, margin "
              f"{_margin_text(r['margin_sd'])} sd (needs {MARGIN_SD:g})")
    if not args.no_write:
        path = ROOT / "docs" / "BENCHMARKS.md"
        jpath = path.with_name("bench.json")
        path.parent.mkdir(exist_ok=True)
        data = as_json(nb_rows, check_rows, args.jobs)
        with open(path.with_suffix(".lock"), "w") as lock:     # several benches may finish at once
            fcntl.flock(lock, fcntl.LOCK_EX)
            if args.merge and path.exists():
                text = merge(path.read_text(), markdown(nb_rows, check_rows, seeds, None, args.jobs),
                             [nb.stem for nb in notebooks])
            if args.merge and jpath.exists():
                data = merge_json(json.loads(jpath.read_text()), data, [nb.stem for nb in notebooks])
            path.write_text(text)
            jpath.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
        path.with_suffix(".lock").unlink(missing_ok=True)
        print(f"wrote {path.relative_to(ROOT)} and {jpath.relative_to(ROOT)}")
    return 0 if all(r["passed"] for r in runs.values()) and not weak else 1


if __name__ == "__main__":
    sys.exit(main())
