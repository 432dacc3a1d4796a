"""Data: load the canned data world, verify it, split it, and feed it to torch.

Taught in ``00_welcome_first_transfer`` (loading, labels per class) and in the
leakage notebook (the splitters).  Every file in ``data/`` has a SHA-256
checksum in ``data/MANIFEST.json``; a file is checked before its first use, and
a missing or damaged file is reported with the command that rebuilds it.

>>> from course_lib import data
>>> clinic = data.load("clinic")
>>> clinic.n_classes, clinic.images.shape[1:]
(5, (20, 20))
>>> few = clinic.take_per_class(10, seed=0)
>>> few.class_counts()
[10, 10, 10, 10, 10]
>>> train, val = data.split(clinic, how="group", seed=0)
>>> set(train.groups) & set(val.groups)
set()
"""

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._checks import (check_choice, check_fraction, check_images, check_keywords, check_labels, check_pixels,
                      check_positive, check_same_length, check_seed)

REBUILD = "make data   (or: python -m course_lib.build)"
RESTORE = f"Restore it with `git checkout data/` or rebuild it with: {REBUILD}"
MANIFEST = "MANIFEST.json"

# The domains of the data world.  DATASHEET.md tells the story behind each one.
DOMAINS = {
    "scans": dict(file="scans.npz", summary="lab scans, 10 glyph classes: the near source domain"),
    "scans_test": dict(file="scans_test.npz", summary="held-out lab scans (near source)"),
    "photos": dict(file="photos.npz", summary="everyday photos, 10 shape classes: the far source domain"),
    "photos_test": dict(file="photos_test.npz", summary="held-out everyday photos (far source)"),
    "clinic": dict(file="clinic.npz",
                   summary="the target task: the clinic's scans of 5 new glyphs, in acquisition order, "
                           "3 scans per specimen"),
    "clinic_test": dict(file="clinic_test.npz",
                        summary="held-out clinic scans: new specimens over the same period"),
    "field": dict(file="field.npz",
                  summary="a field station's scans of 6 glyphs not seen before, from a hand-held kit (notebook 09)"),
    "field_test": dict(file="field_test.npz", summary="held-out field station scans"),
}


class DataFileError(RuntimeError):
    """A data file is missing or does not match its checksum."""


def data_dir():
    """The folder holding the data world (``data/`` in the repository, or ``$COURSE_DATA_DIR``)."""
    env = os.environ.get("COURSE_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "data"


def sha256(path):
    """SHA-256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_manifest(folder=None):
    folder = Path(folder) if folder is not None else data_dir()
    path = folder / MANIFEST
    if not path.exists():
        raise DataFileError(f"The data manifest {path} is missing. Rebuild the data world with: {REBUILD}")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataFileError(f"The data manifest {path} is damaged ({e}). {RESTORE}") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not all(isinstance(v, dict) and isinstance(v.get("sha256"), str)
                                              for v in files.values()):
        if not isinstance(manifest, dict):
            got = f"it holds a {type(manifest).__name__}"
        elif "files" not in manifest:
            got = "it has no 'files' entry"
        else:
            got = f"its 'files' entry is a {type(files).__name__}"
        raise DataFileError(f"The data manifest {path} is damaged: it should map 'files' to one {{'sha256': ...}} "
                            f"per data file, but {got}. {RESTORE}")
    return manifest


def expected_files():
    """Every data file the course loads: the domains of ``DOMAINS`` and the bases of ``models.BASES``."""
    from .lm import BASE_FILE
    from .models import BASES
    from .text import FILES

    return sorted({info["file"] for info in DOMAINS.values()} | {card.file for card in BASES.values()}
                  | {entry[0] for entry in FILES.values()} | {BASE_FILE})


_VERIFIED = {}


def data_path(relname):
    """Path of a data file after checking it exists and matches its checksum.

    Raises :class:`DataFileError` naming the file and the rebuild command.
    """
    folder = data_dir()
    path = folder / relname
    entry = read_manifest(folder)["files"].get(relname)
    if entry is None:
        raise DataFileError(f"{relname} is not listed in {folder / MANIFEST}, so it cannot be checked. Restore the "
                            f"manifest with `git checkout data/` or rebuild with: {REBUILD}")
    if not path.exists():
        raise DataFileError(f"The data file {path} is missing. {RESTORE}")
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if _VERIFIED.get(key) != entry["sha256"]:
        digest = sha256(path)
        if digest != entry["sha256"]:
            raise DataFileError(
                f"The data file {path} is corrupted: its SHA-256 checksum is {digest[:12]}..., "
                f"the manifest expects {entry['sha256'][:12]}.... {RESTORE}")
        _VERIFIED[key] = digest
    return path


def verify_all():
    """Check every file in the manifest and every file the course loads; ``[(file, ok, message), ...]``, never raises.

    A file the course loads but the manifest does not list fails here, not
    later when a notebook loads it.
    """
    try:
        files = read_manifest()["files"]
    except DataFileError as e:
        return [(MANIFEST, False, str(e))]
    results = []
    for relname in sorted(set(files) | set(expected_files())):
        try:
            data_path(relname)
            results.append((relname, True, "ok"))
        except DataFileError as e:
            results.append((relname, False, str(e)))
    return results


# --------------------------------------------------------------------------- ImageSet
@dataclass
class ImageSet:
    """A labelled set of small grayscale images, with optional group ids and acquisition times.

    Taught in ``00_welcome_first_transfer``.
    ``images``: uint8 array (N, H, W) (floats in 0..1 are kept as they are,
    floats in 0..255 divided by 255 by :meth:`tensors`; NaN, colour axes and
    values outside 0..255 are refused); ``labels``: int array (N,), one class
    id in ``0 .. len(class_names) - 1`` per image; ``groups``: the
    underlying object each image shows (several images can show one object);
    ``times``: acquisition order.  Slice it with :meth:`subset`.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: list
    name: str = "images"
    groups: np.ndarray = None
    times: np.ndarray = None
    summary: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        if isinstance(self.class_names, str) or not hasattr(self.class_names, "__len__"):
            raise TypeError(f"class_names must be a list of names, one per class (such as ['cat', 'dog']), got "
                            f"{self.class_names!r}.")
        what = "images" if self.name == "images" else f"{self.name!r} images"
        check_images(self.images, name=what)
        check_pixels(self.images, name=what)
        check_same_length(images=self.images, labels=self.labels, groups=self.groups, times=self.times)
        labels = np.asarray(self.labels)
        if labels.dtype.kind == "f" and np.isfinite(labels).all() and (labels == np.round(labels)).all():
            labels = labels.astype(np.int64)            # whole numbers stored as floats, as before
        self.labels = np.asarray(check_labels(labels, name="labels" if self.name == "images" else
                                              f"{self.name!r} labels"), dtype=np.int64)
        if self.labels.min() < 0 or self.labels.max() >= len(self.class_names):
            raise ValueError(f"{self.name}: labels must lie in 0..{len(self.class_names) - 1} "
                             f"(one per class name), found {self.labels.min()}..{self.labels.max()}.")

    def __len__(self):
        return len(self.labels)

    @property
    def n_classes(self):
        return len(self.class_names)

    def __repr__(self):
        extra = "".join(f", {k}" for k in ("groups", "times") if getattr(self, k) is not None)
        return (f"ImageSet({self.name!r}: {len(self)} images of {self.images.shape[1]}x{self.images.shape[2]}, "
                f"{self.n_classes} classes{extra})")

    def class_counts(self):
        """Number of images of each class, in class order."""
        return np.bincount(self.labels, minlength=self.n_classes).tolist()

    def subset(self, index, name=None):
        """A new ImageSet with the items at ``index`` (integer positions or a boolean mask)."""
        index = np.asarray(index)
        if index.dtype == bool:
            if len(index) != len(self):
                raise ValueError(f"A boolean mask must have one entry per image ({len(self)}), got {len(index)}.")
            index = np.flatnonzero(index)
        if index.size == 0:
            raise ValueError(f"That selection of {self.name!r} is empty; a dataset needs at least one image.")
        pick = lambda a: None if a is None else a[index]
        return self.replace(images=self.images[index], labels=self.labels[index], name=name or self.name,
                            groups=pick(self.groups), times=pick(self.times))

    def replace(self, **changes):
        """A new ImageSet with the fields named in ``changes`` replaced and every other field kept.

        Taught in ``01_leaky_splits``.  The new set is checked like any other
        (labels against class names, one group and time per image); arrays
        not changed are shared, ``class_names`` and ``meta`` are copied.

        >>> clinic = load("clinic")
        >>> flipped = clinic.replace(images=255 - clinic.images, name="clinic B")
        >>> flipped.name, flipped.n_classes, flipped.groups is clinic.groups
        ('clinic B', 5, True)
        >>> clinic.replace(label=clinic.labels)
        Traceback (most recent call last):
        ...
        TypeError: replace() got an unexpected keyword argument 'label'. Did you mean labels=...?
        """
        fields = list(self.__dataclass_fields__)
        check_keywords("replace", {k: v for k, v in changes.items() if k not in fields}, fields)
        kept = {f: getattr(self, f) for f in fields}
        kept.update(class_names=list(self.class_names), meta=dict(self.meta))
        kept.update(changes)
        return ImageSet(**kept)

    def take_per_class(self, n, seed=0, name=None):
        """Exactly ``n`` labelled examples of each class, drawn at random.

        When the set has group ids, the ``n`` examples of a class come from ``n``
        different groups (one scan per specimen), so ``n`` really is the number of
        independent labels per class.
        """
        check_positive("n", n, integer=True)
        rng = np.random.default_rng(check_seed(seed))
        chosen = []
        for c in range(self.n_classes):
            idx = np.flatnonzero(self.labels == c)
            if self.groups is not None:
                groups = np.unique(self.groups[idx])
                if len(groups) < n:
                    raise ValueError(f"{self.name!r} has only {len(groups)} specimens of class "
                                     f"{self.class_names[c]!r}; ask for n <= {len(groups)}.")
                picked = rng.choice(groups, size=n, replace=False)
                idx = np.array([rng.choice(idx[self.groups[idx] == g]) for g in picked])
            else:
                if len(idx) < n:
                    raise ValueError(f"{self.name!r} has only {len(idx)} images of class "
                                     f"{self.class_names[c]!r}; ask for n <= {len(idx)}.")
                idx = rng.choice(idx, size=n, replace=False)
            chosen.append(np.sort(idx))
        return self.subset(np.concatenate(chosen), name or f"{self.name}[{n}/class]")

    def tensors(self):
        """``(X, y)``: float images (N, 1, H, W) scaled to 0..1 and int64 labels."""
        import torch
        if np.issubdtype(self.images.dtype, np.floating) and self.images.max() <= 1.0:
            x = torch.from_numpy(np.asarray(self.images, dtype=np.float32)).unsqueeze(1)   # already 0..1
        else:
            x = torch.from_numpy(self.images).float().div_(255.0).unsqueeze(1)
        return x, torch.from_numpy(self.labels)


def load(name):
    """Load a domain of the data world by name (see ``DOMAINS``) as an :class:`ImageSet`."""
    check_choice("data set", name, tuple(DOMAINS))
    info = DOMAINS[name]
    with np.load(data_path(info["file"]), allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    return ImageSet(arrays["images"], arrays["labels"], [str(c) for c in arrays["class_names"]], name,
                    arrays.get("groups"), arrays.get("times"), info["summary"])


# --------------------------------------------------------------------------- splits
SPLITS = ("random", "stratified", "group", "time")


def split(dataset, how="stratified", test_size=0.25, seed=0):
    """Split an ImageSet into ``(train, val)`` with scikit-learn's splitters.

    how="random":     ``train_test_split`` with no constraints.
    how="stratified": ``train_test_split(stratify=labels)``: same class mix on both sides.
    how="group":      ``GroupShuffleSplit``: every group (specimen, subject, patient)
                      lands wholly on one side.  Needs ``groups``.
    how="time":       chronological: the last ``test_size`` of the acquisition order
                      is validation (train on the past, validate on the future).  Needs ``times``.
    """
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    if not isinstance(dataset, ImageSet):
        raise TypeError(f"split needs an ImageSet (from data.load), got {type(dataset).__name__}.")
    check_choice("split", how, SPLITS)
    check_fraction("test_size", test_size)
    seed = check_seed(seed)
    idx = np.arange(len(dataset))
    if len(dataset) < 2:
        raise ValueError("A split needs at least 2 images.")
    if how == "random":
        tr, va = train_test_split(idx, test_size=test_size, random_state=seed)
    elif how == "stratified":
        tr, va = train_test_split(idx, test_size=test_size, random_state=seed, stratify=dataset.labels)
    elif how == "group":
        if dataset.groups is None:
            raise ValueError(f"{dataset.name!r} has no group ids, so a group split is impossible. "
                             "Use how='stratified', or build the ImageSet with groups=...")
        tr, va = next(GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
                      .split(idx, groups=dataset.groups))
    else:
        if dataset.times is None:
            raise ValueError(f"{dataset.name!r} has no acquisition times, so a time split is impossible. "
                             "Use how='stratified', or build the ImageSet with times=...")
        order = np.argsort(dataset.times, kind="stable")
        cut = int(round(len(order) * (1 - test_size)))
        tr, va = order[:cut], order[cut:]
    return (dataset.subset(np.sort(tr), f"{dataset.name}/train"),
            dataset.subset(np.sort(va), f"{dataset.name}/val"))
