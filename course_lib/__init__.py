"""course_lib: the small library behind the course "Transfer learning, by failure".

One concern per module, each small enough to read top to bottom:

========== ==========================================================
world      the deterministic generator of the data world
build      rebuilds ``data/`` bit for bit (``make data``)
data       loads and verifies the data, splits it, feeds it to torch
models     the small CNN family, pretrained bases, freezing
train      ``fit`` (the one training loop) and ``evaluate``
recipes    named recipes: from scratch, feature extraction, fine-tune
domains    how far a target sits from a base's source; rank bases (notebook 04)
leaks      leaks between splits: make them, then find them (notebook 01)
forgetting how much of its source task a fine-tuned base keeps (notebook 02)
imbalance  skewed classes, class weights, logit adjustment (notebook 03)
compare    did transfer help? a per-seed verdict against the control (notebook 07)
strategies the frozen baseline, fine-tuning, scratch and LoRA side by side (notebooks 05, 08)
regularize L2-SP, augmentation and the train-validation gap, for tiny data sets (notebook 06)
layers     what a base's blocks know (filters, first-k-blocks transfer) and what a base costs (notebook 00)
lora       LoRA written out: low-rank adapters, merged back for inference (notebook 08)
audit      the capstone audit: every check on a split, base and runs (notebook 09)
folders    read and write image folders (ImageFolder layout), clear errors for bad ones (notebook 09)
text       the text world: a generated language, its verb-final dialect, their files (notebook 12)
lm         a tiny pretrained transformer: its loop, LoRA on attention, forgetting, layer probes (notebook 12)
repro      seeding and the device helper
plots      learning curves, comparisons, confusion matrices, grids
lessons    ``lesson_check``: assert a lesson's claim and record it
exercises  ``check`` / ``hint`` / ``solution`` for the exercises
notebook   the notebooks' plumbing: explorers, mean (min..max) over seeds, tables
envcheck   the set-up check run by ``make lab``
========== ==========================================================

Submodules load on first use (``course_lib.data`` or ``from course_lib import
data``), so ``import course_lib`` itself is instant.
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = ("world", "build", "data", "models", "train", "recipes", "leaks", "forgetting", "imbalance",
               "domains", "strategies", "regularize", "layers", "compare", "lora", "audit", "folders", "text", "lm", "repro", "plots", "lessons", "exercises", "notebook", "envcheck")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'course_lib' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
