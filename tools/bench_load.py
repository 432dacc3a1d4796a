"""How fast each notebook runs on an idle machine and beside one competing CPU-bound process.

    make bench-load                      # every notebook, 2 rounds: about 20 minutes on two cores
    make bench-load NB=05 ARGS="--rounds 3 --configs 2t 1t 2t-passive --busy 2t 1t 2t-passive"

A workshop laptop always has something else running, and a shared JupyterHub
always does.  For each notebook this runs, in turn (A B C, A B C, ...), every
thread setting in ``--configs`` on the idle machine, then those of ``--busy``
(by default the course's default only) beside one competing process (a Python
busy loop, started and stopped here), and reports papermill's clock for each.  Run it with nothing else running: every other job
on the machine is load it does not know about.

Settings (``--configs``):

    2t          COURSE_THREADS=2 (the course's default until 2026-12)
    1t          COURSE_THREADS=1 (the default since: see docs/BENCHMARKS.md, "Under load")
    2t-passive  COURSE_THREADS=2 with OMP_WAIT_POLICY=PASSIVE (idle threads sleep instead of spinning)

Writes the section "Under load" of docs/BENCHMARKS.md (replacing it) and
docs/bench_load.json; ``--no-write`` prints the table only.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_course import find_notebooks, run_one  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = {
    "2t": {"COURSE_THREADS": "2"},
    "1t": {"COURSE_THREADS": "1"},
    "2t-passive": {"COURSE_THREADS": "2", "OMP_WAIT_POLICY": "PASSIVE"},
}
START, END = "<!-- bench-load: start -->", "<!-- bench-load: end -->"
BUSY_LOOP = "import time\nwhile True:\n    pass\n"


def competing_process():
    """Start one CPU-bound process (a Python busy loop) and return it; the caller stops it."""
    return subprocess.Popen([sys.executable, "-c", BUSY_LOOP], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def time_notebook(nb, config, out_dir, timeout):
    """papermill's clock (kernel start and every cell) for one run of ``nb`` under ``config``; None if it failed."""
    saved = {k: os.environ.get(k) for k in ("COURSE_THREADS", "OMP_WAIT_POLICY")}
    try:
        os.environ.pop("OMP_WAIT_POLICY", None)
        os.environ.update(CONFIGS[config])
        result = run_one(nb, out_dir, {}, timeout)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return result["notebook_seconds"] if result["passed"] else None


def measure(notebooks, configs, busy_configs, rounds, timeout, log=print):
    """``{notebook: {"idle": {config: [s, ...]}, "busy": {config: [s, ...]}}}``, configs taken in turn.

    Under load only ``busy_configs`` run (a spinning two-thread run can take ten times its idle time).
    """
    times = {nb.stem: {"idle": {c: [] for c in configs}, "busy": {c: [] for c in busy_configs}} for nb in notebooks}
    with tempfile.TemporaryDirectory() as tmp:
        for load, which in (("idle", configs), ("busy", busy_configs)):
            busy = competing_process() if load == "busy" else None
            try:
                time.sleep(1.0 if busy else 0.0)
                for nb in notebooks:
                    for r in range(rounds):
                        for c in which:
                            s = time_notebook(nb, c, Path(tmp), timeout)
                            times[nb.stem][load][c].append(s)
                            log(f"  {nb.stem} {load:4s} {c:10s} round {r + 1}: {s if s is not None else 'failed'} s")
            finally:
                if busy is not None:
                    busy.kill()
                    busy.wait()
    return times


def median(values):
    ok = [v for v in values if v is not None]
    return round(statistics.median(ok), 1) if ok and len(ok) == len(values) else None


def rows(times, configs, default, today):
    """One row per notebook: the medians, the slow-down under load of ``default``, and its idle cost vs ``today``."""
    out = []
    for nb, t in times.items():
        idle = {c: median(t["idle"][c]) for c in configs}
        busy = {c: median(t["busy"][c]) if c in t["busy"] else None for c in configs}
        load_ratio = busy[default] / idle[default] if busy[default] and idle[default] else None
        idle_change = idle[default] / idle[today] - 1 if idle[default] and idle[today] else None
        out.append(dict(notebook=nb, idle=idle, busy=busy, load_ratio=load_ratio, idle_change=idle_change,
                        runs=t))
    return out


def _s(x, missing="failed"):
    return missing if x is None else f"{x:.1f}"


def markdown(table, configs, busy_configs, rounds, default, today, cpu_count):
    head = " | ".join(f"idle {c}" for c in configs) + " | " + " | ".join(f"busy {c}" for c in busy_configs)
    lines = [
        START,
        "## Under load",
        "",
        f"Made by `make bench-load` (`tools/bench_load.py`) on {cpu_count} cores: each notebook run headless with "
        f"papermill, {rounds} round{'s' if rounds > 1 else ''} of every setting in turn, first on the idle machine, "
        "then beside one competing CPU-bound process (a Python busy loop). Seconds are papermill's clock (kernel start and every cell), the "
        f"median of the rounds. Settings: `2t` two torch threads, `1t` one, `2t-passive` two with "
        f"`OMP_WAIT_POLICY=PASSIVE`. The course's default is `{default}`; `{today}` was the default before.",
        "",
        f"| notebook | {head} | busy/idle ({default}) | idle {default} vs {today} |",
        "|---|" + "---:|" * (len(configs) + len(busy_configs) + 2),
    ]
    for r in table:
        cells = [_s(r["idle"][c]) for c in configs] + [_s(r["busy"][c]) for c in busy_configs]
        ratio = "failed" if r["load_ratio"] is None else f"{r['load_ratio']:.2f}x"
        change = "failed" if r["idle_change"] is None else f"{r['idle_change']:+.0%}"
        lines.append(f"| {r['notebook']} | " + " | ".join(cells) + f" | {ratio} | {change} |")
    worst = max((r["load_ratio"] for r in table if r["load_ratio"]), default=None)
    cost = max((r["idle_change"] for r in table if r["idle_change"] is not None), default=None)
    if worst is not None and cost is not None:
        lines += ["", f"Largest slow-down under load with `{default}`: {worst:.2f}x; largest idle cost of `{default}` "
                      f"against `{today}`: {cost:+.0%}."]
    lines.append(END)
    return "\n".join(lines) + "\n"


def write_section(path, section):
    """Replace the marked section of ``path`` (or append it)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1].lstrip("\n")
        text = before + section + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section
    path.write_text(text, encoding="utf-8")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nb", action="append", default=[], metavar="PREFIX", help="only these notebooks (repeatable)")
    ap.add_argument("--configs", nargs="+", default=["2t", "1t"], choices=sorted(CONFIGS),
                    help="thread settings to compare (default: 2t 1t)")
    ap.add_argument("--busy", nargs="+", default=None, choices=sorted(CONFIGS),
                    help="settings to run beside the competing process (default: --default only)")
    ap.add_argument("--default", default="1t", choices=sorted(CONFIGS), help="the course's default setting")
    ap.add_argument("--today", default="2t", choices=sorted(CONFIGS), help="the setting it is compared with, idle")
    ap.add_argument("--rounds", type=int, default=2, help="runs of each setting per notebook and load (default 2)")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    ap.add_argument("--no-write", action="store_true", help="print the table; do not write docs/")
    args = ap.parse_args(argv)
    for c in (args.default, args.today):
        if c not in args.configs:
            ap.error(f"--configs must include {c!r} (the --default and --today settings)")
    busy_configs = args.busy or [args.default]
    if args.default not in busy_configs or any(c not in args.configs for c in busy_configs):
        ap.error("--busy must include the --default setting, and only settings of --configs")
    if args.rounds < 1:
        ap.error("--rounds must be 1 or more")
    notebooks = find_notebooks(ROOT / "notebooks", args.nb)
    if not notebooks:
        ap.error(f"no notebook matches {args.nb}")
    print(f"bench-load: {len(notebooks)} notebook(s), settings {args.configs}, {args.rounds} round(s), idle then busy")
    times = measure(notebooks, args.configs, busy_configs, args.rounds, args.timeout)
    table = rows(times, args.configs, args.default, args.today)
    section = markdown(table, args.configs, busy_configs, args.rounds, args.default, args.today, os.cpu_count())
    print(section)
    if not args.no_write:
        write_section(ROOT / "docs" / "BENCHMARKS.md", section)
        (ROOT / "docs" / "bench_load.json").write_text(json.dumps(
            {"configs": args.configs, "busy_configs": busy_configs, "default": args.default, "today": args.today, "rounds": args.rounds,
             "cpu_count": os.cpu_count(), "notebooks": table}, indent=1) + "\n", encoding="utf-8")
        print("wrote docs/BENCHMARKS.md (section 'Under load') and docs/bench_load.json")
    failed = [r["notebook"] for r in table if r["load_ratio"] is None]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
