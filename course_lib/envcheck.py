"""Set-up check: is this environment able to run the course?

Run it from a terminal with ``make check-env`` (or
``python -m course_lib.envcheck``); ``make lab`` runs it before starting
JupyterLab.  It is set-up tooling rather than a lesson, but it can be called
from any notebook cell:

    from course_lib.envcheck import check_environment
    check_environment()

It imports torch *and* torchvision (a mismatched pair of builds imports torch
fine and fails only on ``import torchvision``), prints the versions of the
libraries the course uses, the CPU threads torch will use, and checks the
course data files when ``course_lib.data.verify_all`` is available.  It takes
a couple of seconds, most of it importing torch.
"""

import importlib
import os
import platform
import sys
from importlib import metadata

__all__ = ["check_environment", "main"]

FIX_TORCH = (
    'Fix: .venv/bin/python -m pip install --upgrade "torch>=2.14" "torchvision>=0.29"  '
    "(or recreate the environment from scratch: make distclean lab)"
)
FIX_INSTALL = 'Fix: .venv/bin/python -m pip install -e ".[dev]"  (or: make distclean lab)'
MIN_PYTHON = (3, 10)


def _version(dist):
    """Installed version of a distribution, or None (fast: reads metadata, imports nothing)."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _check_torch(report, problems):
    try:
        import torch
    except Exception as err:  # ImportError, or a broken native library (OSError)
        report["torch"] = None
        problems.append(f"torch cannot be imported: {err}. {FIX_INSTALL}")
        return None
    report["torch"] = torch.__version__
    report["torch_threads"] = torch.get_num_threads()
    report["device"] = "cpu"
    try:
        import torchvision
    except Exception as err:
        report["torchvision"] = None
        message = str(err)
        if "torchvision::nms does not exist" in message:
            problems.append(
                f"torchvision cannot be imported: {message!r}. This means torch ({torch.__version__}) and "
                f"torchvision ({_version('torchvision')}) are mismatched builds, for example a local "
                f"CPU-only torch wheel next to the package index's torchvision. {FIX_TORCH}"
            )
        else:
            problems.append(f"torchvision cannot be imported: {message}. {FIX_TORCH}")
        return torch
    report["torchvision"] = torchvision.__version__
    return torch


def _check_data(report, problems):
    """Call course_lib.data.verify_all() when it exists; skip quietly before it does."""
    try:
        course_data = importlib.import_module("course_lib.data")
        verify_all = course_data.verify_all
    except ModuleNotFoundError as err:
        if err.name in ("course_lib.data", "course_lib"):
            report["data"] = "skipped (course_lib.data is not available)"
            return
        report["data"] = None
        problems.append(f"course_lib.data cannot be imported: {err}. {FIX_INSTALL}")
        return
    except AttributeError:
        report["data"] = "skipped (course_lib.data has no verify_all)"
        return
    except Exception as err:  # a broken dependency surfacing at import time
        report["data"] = None
        problems.append(f"course_lib.data cannot be imported: {type(err).__name__}: {err}")
        return
    try:
        results = list(verify_all())
    except Exception as err:  # verify_all is documented to raise nothing; be safe anyway
        report["data"] = None
        problems.append(f"checking the data files failed: {type(err).__name__}: {err}. Rebuild them: make data")
        return
    bad = [(name, msg) for name, ok, msg in results if not ok]
    report["data_files"] = len(results)
    report["data_bad"] = [name for name, _ in bad]
    if bad:
        report["data"] = f"{len(bad)} of {len(results)} files failed"
        for name, msg in bad:
            hint = "" if "make data" in str(msg) else ". Rebuild the data with: make data"
            problems.append(f"data file {name}: {msg}{hint}")
    else:
        report["data"] = f"{len(results)} files OK"


def check_environment(verbose=True):
    """Check the environment and return what was found as a dict.

    The dict holds the versions found (``None`` when missing), ``problems``
    (a list of messages, each ending with what to do) and ``ok`` (True when
    there are no problems).  With ``verbose`` a short report is printed.
    """
    if not isinstance(verbose, bool):
        raise TypeError(f"verbose must be True or False, got {verbose!r} ({type(verbose).__name__}).")
    problems = []
    report = {
        "python": platform.python_version(),
        "executable": sys.executable,
        "cpu_count": os.cpu_count(),
    }
    if sys.version_info[:2] < MIN_PYTHON:
        problems.append(
            f"Python {report['python']} is too old; the course needs Python "
            f"{'.'.join(map(str, MIN_PYTHON))} or newer. Recreate the environment, e.g. "
            "PYTHON=python3.11 make distclean lab"
        )
    _check_torch(report, problems)
    for key, dist in (("numpy", "numpy"), ("sklearn", "scikit-learn"), ("matplotlib", "matplotlib"),
                      ("ipywidgets", "ipywidgets"), ("tqdm", "tqdm")):
        report[key] = _version(dist)
        if report[key] is None:
            problems.append(f"{dist} is not installed. {FIX_INSTALL}")
    _check_data(report, problems)
    report["problems"] = problems
    report["ok"] = not problems

    if verbose:
        def show(label, value):
            print(f"  {label:<12} {value if value is not None else 'MISSING'}")

        print("Course environment check")
        where = "virtual environment" if sys.prefix != sys.base_prefix else "system Python"
        show("Python", f"{report['python']} ({where})")
        torch_line = report.get("torch")
        if torch_line:
            torch_line += (f"  ({report['torch_threads']} thread{'s' if report['torch_threads'] != 1 else ''}, "
                           f"{report['cpu_count']} CPUs,"
                           f" device {report['device']})")
        show("torch", torch_line)
        show("torchvision", report.get("torchvision"))
        for key in ("numpy", "sklearn", "matplotlib", "ipywidgets", "tqdm"):
            show(key, report[key])
        show("data", report.get("data"))
        if problems:
            print(f"{len(problems)} problem(s):")
            for p in problems:
                print(f"  - {p}")
        else:
            print("All good: the course can run here.")
    return report


def main():
    report = check_environment(verbose=True)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
