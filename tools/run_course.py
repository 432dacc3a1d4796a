#!/usr/bin/env python3
"""Run every course notebook headless with papermill and print one line each.

    python tools/run_course.py                    # notebooks/[0-9][0-9]_*.ipynb
    python tools/run_course.py --nb 00 --nb 03    # only names starting with 00 or 03
    python tools/run_course.py -p SEED 3 -p FAST True
    python tools/run_course.py --dir /some/folder --out /tmp/runs

``make course`` calls it (``make course NB=00 ARGS="-p SEED 3"``).  Executed
copies go to ``_course_runs/`` (never over the committed notebooks).  For each
notebook it prints: name, PASS/FAIL, lesson checks passed/total, run time in
seconds (papermill's clock: kernel start and every cell; then, in brackets, the
wall-clock time including this runner's own start-up), and the kernel's peak
memory in MB.  Lesson checks are counted from
the ``COURSE_LESSON_LOG`` file that ``course_lib.lessons.lesson_check``
appends to.  The exit status is 1 when any notebook fails.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULT_MARK = "RUN_COURSE_RESULT "


def resolve_value(value):
    """Type a ``-p NAME VALUE`` value exactly as the papermill command line does."""
    if value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[value]
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def find_notebooks(folder, prefixes=()):
    """Numbered notebooks ``NN_*.ipynb`` in ``folder``, in order; only those starting with a prefix if any."""
    found = sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))
    if prefixes:
        prefixes = [Path(p).name.removesuffix(".ipynb") for p in prefixes]  # also accept a path
        found = [nb for nb in found if any(nb.stem.startswith(p) for p in prefixes)]
    return found


def read_log(path):
    """The records of a lesson log (a copy of course_lib.lessons.read_log, so no import of course_lib)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in lines if line.strip()]


def peak_child_mb():
    """Peak resident memory of this process's finished children (the kernel), in MB, or None."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


def run_one_here(notebook, output, parameters, timeout):
    """Child-process side: execute one notebook; print the result as a marked JSON line."""
    import papermill as pm

    error = None
    try:
        pm.execute_notebook(
            notebook, output, parameters=parameters, kernel_name="python3",
            cwd=str(Path(notebook).parent), progress_bar=False, execution_timeout=timeout,
            request_save_on_cell_execute=False,   # one write at the end: saving after every cell costs seconds
        )
    except pm.PapermillExecutionError as err:
        error = f"{err.ename}: {err.evalue} (cell {err.exec_count})"
    except Exception as err:  # kernel died, timeout, unreadable notebook, ...
        error = f"{type(err).__name__}: {err}"
    # The kernel has been shut down and reaped by now, so RUSAGE_CHILDREN covers it.
    print(RESULT_MARK + json.dumps({"error": error, "peak_mb": peak_child_mb()}), flush=True)
    return 1 if error else 0


def run_one(notebook, out_dir, parameters, timeout):
    """Run one notebook in a fresh child process (so the peak memory is its own)."""
    output = out_dir / notebook.name
    log = out_dir / f"{notebook.stem}.lessons.jsonl"
    log.unlink(missing_ok=True)
    env = dict(os.environ, COURSE_QUIET="1", COURSE_LESSON_LOG=str(log.resolve()), COURSE_NOTEBOOK=notebook.stem)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", str(notebook), str(output),
           json.dumps(parameters), str(timeout)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    result = {"error": None, "peak_mb": None}
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_MARK):
            result = json.loads(line[len(RESULT_MARK):])
    if proc.returncode != 0 and not result["error"]:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        result["error"] = " | ".join(tail) or f"runner exited with status {proc.returncode}"
    checks = read_log(log)
    try:   # papermill's own clock: kernel start and every cell, without this runner's start-up
        notebook_seconds = round(json.loads(output.read_text())["metadata"]["papermill"]["duration"], 1)
    except (OSError, ValueError, KeyError, TypeError):
        notebook_seconds = None
    return {
        "notebook": notebook.stem,
        "passed": proc.returncode == 0 and not result["error"],
        "checks_passed": sum(1 for c in checks if c.get("passed")),
        "checks_total": len(checks),
        "seconds": round(seconds, 1),
        "notebook_seconds": notebook_seconds,
        "peak_mb": None if result["peak_mb"] is None else round(result["peak_mb"]),
        "error": result["error"],
        "output": str(output),
        "checks": checks,
    }


def notebook_time(r):
    """``"22.1 s (25.6 s with the runner)"``: the notebook's own run time, then the runner's wall-clock time."""
    if r.get("notebook_seconds") is None:
        return f"{r['seconds']:>6.1f} s"
    return f"{r['notebook_seconds']:>6.1f} s ({r['seconds']:.1f} s with the runner)"


def lesson_table(results):
    """Lines of a table with every lesson check of ``results``: notebook, claim, effect, threshold."""
    rows = [(r["notebook"][:2], c) for r in results for c in r.get("checks", [])]
    if not rows:
        return []
    width = max(len(c["name"]) for _, c in rows)
    lines = [f"{'nb':<3} {'lesson check':<{width}}  {'effect':>9}  {'needs':>11}  ok"]
    for nb, c in rows:
        op = ">=" if c["direction"] == "at_least" else "<="
        lines.append(f"{nb:<3} {c['name']:<{width}}  {c['effect']:>+9.3f}  {op} {c['threshold']:>8.3f}  "
                     f"{'yes' if c['passed'] else 'NO'}")
    return lines


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--one"]:  # internal: the per-notebook child process
        notebook, output, params, timeout = argv[1:5]
        return run_one_here(notebook, output, json.loads(params), int(timeout))

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default=str(ROOT / "notebooks"), help="folder of notebooks (default: notebooks/)")
    parser.add_argument("--out", default=str(ROOT / "_course_runs"), help="folder for executed copies (default: _course_runs/)")
    parser.add_argument("--nb", action="append", default=[], metavar="PREFIX",
                        help="run only notebooks whose name starts with PREFIX (repeatable)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="papermill parameter, typed as papermill's -p does (repeatable)")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per cell (default %(default)s)")
    args = parser.parse_args(argv)

    notebooks = find_notebooks(args.dir, args.nb)
    if not notebooks:
        which = f" starting with {', '.join(args.nb)}" if args.nb else ""
        print(f"No notebooks NN_*.ipynb{which} in {args.dir}.", file=sys.stderr)
        return 2
    parameters = {name: resolve_value(value) for name, value in args.parameter}
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    shown = f" with parameters {parameters}" if parameters else ""
    print(f"Running {len(notebooks)} notebook(s){shown}; executed copies in {out_dir}/", flush=True)
    width = max(len(nb.stem) for nb in notebooks)
    results = []
    for notebook in notebooks:
        r = run_one(notebook, out_dir, parameters, args.timeout)
        results.append(r)
        memory = "   n/a MB" if r["peak_mb"] is None else f"{r['peak_mb']:>6} MB"
        print(f"{r['notebook']:<{width}}  {'PASS' if r['passed'] else 'FAIL'}  "
              f"checks {r['checks_passed']}/{r['checks_total']}  {notebook_time(r)}  {memory}", flush=True)
        if r["error"]:
            print(f"    {r['error']}\n    see {r['output']}", flush=True)

    table = lesson_table(results)
    if table:
        print("\nLesson checks (the effect each notebook measured, and the margin its claim needs):")
        print("\n".join(table))
    (out_dir / "summary.json").write_text(json.dumps({"parameters": parameters, "results": results}, indent=1) + "\n")
    failed = [r["notebook"] for r in results if not r["passed"]]
    total = sum(r["seconds"] for r in results)
    print(f"{len(results) - len(failed)}/{len(results)} passed in {total:.0f} s"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
