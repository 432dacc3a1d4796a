#!/usr/bin/env python3
"""Developer tools for the course notebooks (see CONTRIBUTING.md).

    python tools/nbtools.py py2nb   SRC.py DEST.ipynb   # percent-format script -> notebook
    python tools/nbtools.py execute NB.ipynb [...]      # run in place top to bottom, then clean
    python tools/nbtools.py clean   NB.ipynb [...]      # strip volatile metadata only
    python tools/nbtools.py check   NB.ipynb [...]      # verify the notebook contract
    python tools/nbtools.py student NB.ipynb [...] --out student/   # copies for a room: outputs cleared

``make execute NB=...`` and ``make execute-all`` call ``execute``.

Percent format, as read by ``py2nb``::

    # %% [markdown]
    # # 03 Title
    # Run time: about 20 s on two cores.

    # %% tags=["parameters"]
    SEED = 0
    FAST = False

    # %%
    print(SEED)

A ``# %%`` line starts a code cell, ``# %% [markdown]`` a markdown cell whose
lines each start with ``# `` (or are a bare ``#``), which is stripped.  Either
header may end with ``tags=[...]`` (a JSON list).  Blank lines around a
cell's body are dropped, and so are cells left empty with no tags.
"""

import argparse
import ast
import json
import os
import re
import sys
import time
from pathlib import Path

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}
CELL_TIMEOUT = 300

# Per-cell metadata that changes on every run or every viewer, never authored.
VOLATILE_CELL_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime", "papermill", "vscode",
                          "pycharm", "executionInfo", "outputId")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# Output text that must never be committed: it names the machine that ran the notebook.
MACHINE_PATHS = ("/tmp/ipykernel_", "/home/", "/root/", "/work/", "/Users/", "C:\\Users\\")
HEADER = re.compile(r"^#\s?%%(?P<rest>.*)$")
NUMBERED = re.compile(r"^(\d\d)_")
# What an exercise cell may not show: its answer lives in course_lib/answers/, out of the learner's sight.
ANSWER_LITERALS = ("Exercise(", "close_to(", "one_of(", "equals(", "hint=", "solution=")
EXERCISE_ID = re.compile(r"""exercise\(\s*["']([^"']+)["']""")


# --------------------------------------------------------------------------- py2nb
def parse_percent(text):
    """Parse percent-format source into ``[(cell_type, source, tags), ...]``.

    Raises ValueError, naming the line, for a malformed header or markdown line.
    """
    cells = []
    kind, tags, body, start = "code", [], [], 1

    def flush():
        lines = list(body)
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
        if kind == "markdown":
            stripped = []
            for offset, line in enumerate(body):
                if line == "#" or line.startswith("# "):
                    continue
                if line.strip():
                    raise ValueError(
                        f"line {start + 1 + offset}: a markdown cell's lines must start with '# ' "
                        f"(or be a bare '#'), got {line!r}"
                    )
            for line in lines:
                stripped.append("" if line.strip() in ("", "#") else line[2:])
            lines = stripped
        if lines or tags:
            cells.append((kind, "\n".join(lines), tags))

    for number, line in enumerate(text.splitlines(), 1):
        match = HEADER.match(line)
        if not match:
            body.append(line)
            continue
        flush()
        rest = match.group("rest").strip()
        kind, tags, body, start = "code", [], [], number
        type_match = re.match(r"^\[(\w+)\]\s*", rest)
        if type_match:
            name = type_match.group(1)
            if name in ("markdown", "md"):
                kind = "markdown"
            else:
                raise ValueError(f"line {number}: unknown cell type [{name}]; use '# %%' or '# %% [markdown]'")
            rest = rest[type_match.end():]
        tag_match = re.search(r"tags\s*=\s*(\[.*\])", rest)
        if tag_match:
            try:
                tags = json.loads(tag_match.group(1))
            except json.JSONDecodeError as err:
                raise ValueError(f"line {number}: tags must be a JSON list like tags=[\"parameters\"] ({err.msg})") from None
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                raise ValueError(f"line {number}: tags must be a list of strings, got {tags!r}")
    flush()
    return cells


def build_notebook(cells):
    """A v4.5 notebook from ``parse_percent`` output, with stable ids ``cell-00``, ``cell-01``, ..."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)}
    for index, (kind, source, tags) in enumerate(cells):
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        cell = make(source=source, id=f"cell-{index:02d}")
        if tags:
            cell.metadata["tags"] = list(tags)
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def py2nb(src, dest):
    import nbformat

    nb = build_notebook(parse_percent(Path(src).read_text(encoding="utf-8")))
    nbformat.write(nb, str(dest))
    print(f"wrote {dest} ({len(nb.cells)} cells)")
    return nb


def to_percent(nb):
    """The percent-format script of a notebook's sources and tags (outputs are left out): py2nb's inverse."""
    lines = []
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        header = "# %% [markdown]" if cell.cell_type == "markdown" else "# %%"
        lines.append(header + (f" tags={json.dumps(tags)}" if tags else ""))
        if cell.cell_type == "markdown":
            lines += [f"# {line}" if line else "#" for line in cell.source.split("\n")]
        else:
            lines += cell.source.split("\n")
        lines.append("")
    return "\n".join(lines)


def nb2py(src, dest):
    """Write the percent-format script of notebook ``src`` to ``dest`` (to go on editing it as a script)."""
    import nbformat

    nb = nbformat.read(str(src), as_version=4)
    Path(dest).write_text(to_percent(nb), encoding="utf-8")
    print(f"wrote {dest} ({len(nb.cells)} cells)")


# --------------------------------------------------------------------------- clean
def clean_notebook(nb):
    """Strip what changes between runs and machines; keep sources, outputs and cell tags."""
    nb.metadata = {
        "kernelspec": dict(nb.metadata.get("kernelspec") or KERNELSPEC),
        "language_info": dict(LANGUAGE_INFO),
    }
    nb.nbformat, nb.nbformat_minor = 4, max(5, nb.get("nbformat_minor", 5))
    for index, cell in enumerate(nb.cells):
        if "id" not in cell:
            cell["id"] = f"cell-{index:02d}"
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if "tags" in cell.metadata and not cell.metadata["tags"]:
            del cell.metadata["tags"]
        if cell.cell_type == "code" and not cell.source.strip():
            cell.execution_count, cell.outputs = None, []  # the kernel skips empty cells
        for output in cell.get("outputs", []):
            data = output.get("data")
            # Widget views point at widget state, which is not kept: keep their text form only.
            if data and WIDGET_VIEW in data and len(data) > 1:
                del data[WIDGET_VIEW]
    return nb


def clean(path):
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    nbformat.write(clean_notebook(nb), str(path))


# --------------------------------------------------------------------------- execute
def kernel_env():
    """The kernel's environment: quiet progress bars; no MPLBACKEND, so plots are inline as in JupyterLab."""
    env = dict(os.environ)
    env["COURSE_QUIET"] = "1"
    env.pop("MPLBACKEND", None)  # ipykernel picks the inline backend only when it is unset
    return env


def execute(path, timeout=CELL_TIMEOUT):
    """Execute ``path`` in place with a fresh python3 kernel; return the wall time in seconds.

    On a cell error the file is left untouched and ``nbclient.exceptions.CellExecutionError`` raised.
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", record_timing=False,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    start = time.perf_counter()
    client.execute(env=kernel_env(), cwd=str(path.parent.resolve()))
    seconds = time.perf_counter() - start
    nbformat.write(clean_notebook(nb), str(path))
    return seconds


# --------------------------------------------------------------------------- check
def _output_text(output):
    parts = []
    if output.get("output_type") == "stream":
        parts.append(output.get("text", ""))
    elif output.get("output_type") == "error":
        parts.extend(output.get("traceback", []))
        parts.append(output.get("evalue", ""))
    for mime, value in (output.get("data") or {}).items():
        if mime.startswith("text/") or mime.endswith("json"):
            parts.append(value if isinstance(value, str) else json.dumps(value))
    return "\n".join(p if isinstance(p, str) else "".join(p) for p in parts)


def _assigned_names(source):
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set(re.findall(r"^\s*([A-Za-z_]\w*)\s*(?::[^=]*)?=", source, flags=re.M))
    names = set()
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        for target in targets:
            if isinstance(target, ast.Name):
                names.add(target.id)
    return names


def check_notebook(nb, filename):
    """Return the contract problems of notebook ``nb`` (loaded from ``filename``), as strings."""
    problems = []
    cells = nb.cells
    tagged = lambda tag: [i for i, c in enumerate(cells) if tag in c.get("metadata", {}).get("tags", [])]

    params = tagged("parameters")
    if len(params) != 1:
        problems.append(f"needs exactly one cell tagged 'parameters' (papermill), found {len(params)}")
    else:
        missing = {"SEED", "FAST"} - _assigned_names(cells[params[0]].source)
        if missing:
            problems.append(f"the 'parameters' cell must set {', '.join(sorted(missing))}")
        after = [c for c in cells[params[0] + 1:] if c.cell_type == "code" and
                 "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
        if not after or "check_parameters(SEED=SEED, FAST=FAST)" not in after[0].source:
            problems.append("the first code cell after 'parameters' must call check_parameters(SEED=SEED, FAST=FAST) "
                            "(from course_lib.repro), so a wrong type from papermill stops with a clear message")
    if tagged("injected-parameters"):
        problems.append("has a papermill 'injected-parameters' cell: commit the source notebook, not a papermill output")

    code = [c for c in cells if c.cell_type == "code" and c.source.strip()]
    counts = [c.get("execution_count") for c in code]
    if counts != list(range(1, len(code) + 1)):
        shown = ", ".join(str(n) for n in counts[:12]) + (", ..." if len(counts) > 12 else "")
        problems.append(f"code cells must be executed in order 1..{len(code)} (Restart & Run All); found [{shown}]")

    for index, cell in enumerate(cells):
        where = f"cell {index} ({cell.get('id', '?')})"
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                problems.append(f"{where} has an error output: {output.get('ename')}: {output.get('evalue')}")
            text = _output_text(output)
            for marker in MACHINE_PATHS:
                if marker in text:
                    problems.append(f"{where} output shows a machine path containing {marker!r}")
        if cell.cell_type == "code":
            lines = [ln for ln in cell.source.rstrip().splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
            if lines and lines[-1].rstrip().endswith(";"):
                problems.append(f"{where} ends with ';': nbval keeps the output anyway; end plot cells with plt.show()")

    number = NUMBERED.match(Path(filename).name)
    for index, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        shown = [lit for lit in ANSWER_LITERALS if lit in cell.source]
        if shown:
            problems.append(f"cell {index} ({cell.get('id', '?')}) shows an answer ({', '.join(shown)}): move its "
                            "check, hint and solution into course_lib/answers/ and call exercise(id) here")
        for ex_id in EXERCISE_ID.findall(cell.source):
            if number and not ex_id.startswith(number.group(1) + "."):
                problems.append(f"cell {index} asks exercise({ex_id!r}), which is another notebook's: "
                                f"ids here start with '{number.group(1)}.'")
    if number and int(number.group(1)) >= 1 and not tagged("lesson-check"):
        problems.append("notebooks numbered 01 and up need a cell tagged 'lesson-check'")

    markdown = [c for c in cells if c.cell_type == "markdown"]
    if not markdown or "Run time" not in markdown[0].source:
        problems.append("the first markdown cell (the header) must state the 'Run time'")
    key_points = [c.source for c in markdown if "## Key points" in c.source]
    if not key_points or "**Toy vs world:**" not in key_points[-1].split("## Key points", 1)[-1]:
        problems.append("the '## Key points' must end with a '**Toy vs world:**' line: how this miniature differs "
                        "from a real project for this lesson, and the published result behind it")
    if (nb.metadata.get("kernelspec") or {}).get("name") != "python3":
        problems.append("kernelspec metadata must name the 'python3' kernel (papermill needs it)")
    return problems


def check(path):
    import nbformat

    return check_notebook(nbformat.read(str(path), as_version=4), path)


# --------------------------------------------------------------------------- student copies
def student_notebook(nb):
    """A copy for learners in a room: every output and execution count cleared, nothing else changed.

    The answers are not in the notebooks (they live in ``course_lib/answers/``), so
    clearing the outputs leaves nothing that gives a result or a solution away
    before the learner runs the cell.
    """
    nb = clean_notebook(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.execution_count, cell.outputs = None, []
    return nb


def student(paths, out):
    """Write ``out/NN_slug.ipynb`` for every notebook in ``paths``; return the written paths."""
    import nbformat

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        nb = nbformat.read(str(path), as_version=4)
        target = out / Path(path).name
        nbformat.write(student_notebook(nb), str(target))
        written.append(target)
    return written


# --------------------------------------------------------------------------- CLI
def main(argv=None):
    parser = argparse.ArgumentParser(prog="nbtools", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("py2nb", help="convert a percent-format .py script to a notebook")
    p.add_argument("src")
    p.add_argument("dest")
    p = sub.add_parser("nb2py", help="write a notebook's sources and tags as a percent-format .py script")
    p.add_argument("src")
    p.add_argument("dest")
    for name, text in (("execute", "execute notebooks in place, then clean them"),
                       ("clean", "strip volatile metadata"),
                       ("check", "verify the notebook contract"),
                       ("student", "write copies for learners (outputs cleared) into --out")):
        p = sub.add_parser(name, help=text)
        p.add_argument("notebooks", nargs="+")
        if name == "student":
            p.add_argument("--out", default="student", help="folder for the copies (default %(default)s/)")
        if name == "execute":
            p.add_argument("--timeout", type=int, default=CELL_TIMEOUT, help="seconds per cell (default %(default)s)")
    args = parser.parse_args(argv)

    if args.command == "py2nb":
        try:
            py2nb(args.src, args.dest)
        except ValueError as err:
            print(f"{args.src}: {err}", file=sys.stderr)
            return 1
        return 0

    if args.command == "nb2py":
        nb2py(args.src, args.dest)
        return 0

    if args.command == "student":
        missing = [p for p in args.notebooks if not Path(p).is_file()]
        if missing:
            print(f"{', '.join(missing)}: no such notebook", file=sys.stderr)
            return 1
        for target in student(args.notebooks, args.out):
            print(f"wrote {target}")
        return 0

    status = 0
    for path in args.notebooks:
        if not Path(path).is_file():
            print(f"{path}: no such notebook", file=sys.stderr)
            status = 1
            continue
        if args.command == "clean":
            clean(path)
            print(f"cleaned {path}")
        elif args.command == "execute":
            from nbclient.exceptions import CellExecutionError

            print(f"executing {path} ...", flush=True)
            try:
                seconds = execute(path, timeout=args.timeout)
            except CellExecutionError as err:
                print(f"FAILED {path} (file left unchanged):\n{err}", file=sys.stderr)
                status = 1
                continue
            print(f"executed {path} in {seconds:.1f} s")
        else:
            problems = check(path)
            for problem in problems:
                print(f"{path}: {problem}")
            if problems:
                status = 1
            else:
                print(f"{path}: OK")
    return status


if __name__ == "__main__":
    sys.exit(main())
