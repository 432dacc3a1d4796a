"""Reproducibility: one call that seeds everything, and a device helper.

Taught in ``00_welcome_first_transfer``: every notebook starts with
``seed_everything(SEED)`` so that Restart & Run All gives the same numbers on
the same machine.

>>> from course_lib.repro import seed_everything, get_device
>>> seed_everything(0)
0
>>> str(get_device(prefer="cpu"))
'cpu'
>>> check_parameters(SEED=3, FAST=False)
>>> check_parameters(SEED=3, FAST="false")
Traceback (most recent call last):
...
TypeError: FAST must be True or False, got 'false' (a str). ...
"""

import os
import random

import numpy as np
import torch

from ._checks import check_choice, check_integer, check_seed

# One torch thread per notebook: on two busy cores two threads spin waiting for each other and a notebook runs
# many times slower; one thread costs little when the cores are idle (docs/BENCHMARKS.md, "Under load").
DEFAULT_THREADS = 1


def seed_everything(seed, threads=None):
    """Seed Python, NumPy and torch, and fix torch's CPU thread count.

    Results on a CPU are bit-identical only for the same machine *and* the same
    thread count, so the course pins it: one thread, or the value of the
    environment variable ``COURSE_THREADS``.  One thread holds its speed when
    other programs (a browser, a video call, other learners' kernels) use the
    cores, where two threads can run many times slower; on idle cores it costs
    little (both measured in docs/BENCHMARKS.md, "Under load").
    Returns the seed, for printing.
    """
    if threads is None:
        threads = os.environ.get("COURSE_THREADS", DEFAULT_THREADS)
        try:
            threads = int(threads)
        except ValueError:
            raise ValueError(f"COURSE_THREADS must be a whole number such as 1 or 2, got {threads!r}.") from None
    seed = check_seed(seed)
    check_integer("threads", threads, low=1)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.set_num_threads(min(threads, os.cpu_count() or 1))
    return seed


def check_parameters(*, SEED, FAST):
    """Check a notebook's ``SEED`` and ``FAST`` parameters before anything runs.

    Every notebook calls it in the cell after its ``parameters`` cell, so a value
    of the wrong type from papermill (``-r FAST false`` passes the *text*
    "false", which Python treats as true) stops with a clear message instead of
    quietly running a smoke run.  ``SEED`` must be a whole number, 0 or more;
    ``FAST`` must be ``True`` or ``False``.  Taught in ``00_welcome_first_transfer``.
    """
    how = "With papermill, pass it with -p (typed), not -r (raw text): -p FAST True, -p SEED 3."
    if not isinstance(FAST, bool):
        raise TypeError(f"FAST must be True or False, got {FAST!r} (a {type(FAST).__name__}). "
                        f"Set FAST = True for a quick smoke run, FAST = False for the full lesson. {how}")
    if isinstance(SEED, bool) or not isinstance(SEED, (int, np.integer)):
        raise TypeError(f"SEED must be a whole number such as 0 or 3, got {SEED!r} (a {type(SEED).__name__}). {how}")
    if SEED < 0:
        raise ValueError(f"SEED must be 0 or more, got {SEED}. Any whole number from 0 up works, e.g. SEED = 3.")


def get_device(prefer="auto"):
    """Return the torch device to train on.

    ``prefer="auto"`` picks a CUDA GPU, then Apple silicon (``mps``), then the
    CPU.  The course is written and tested for the CPU, which is also what
    ``prefer="cpu"`` forces; on a GPU numbers differ in the last digits.
    """
    if isinstance(prefer, torch.device):
        return prefer
    check_choice("device preference", prefer, ("auto", "cpu", "cuda", "mps"))
    if prefer == "cpu":
        return torch.device("cpu")
    if prefer in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if prefer in ("auto", "mps") and mps is not None and mps.is_available():
        return torch.device("mps")
    if prefer != "auto":
        raise ValueError(f"No {prefer!r} device is available here; use prefer='auto' or 'cpu'.")
    return torch.device("cpu")
