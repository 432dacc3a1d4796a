"""Leaks between splits: make them on purpose, then find them.

Taught in ``01_leaky_splits``.  A validation score is only worth something if
the validation items are new to the model.  Three ways they stop being new:

* **copies**: the same image, or an augmented copy of it, on both sides of the
  split (augmenting before splitting does this);
* **shared groups**: several images of one object (a specimen, a patient) with
  some on each side;
* **time order**: a random split of data collected over time puts the
  "future" into training.

:func:`find_leaks` checks a split for all three.  Copies are found from the
pixels: exact duplicates by hashing every image, near-duplicates by the
distance from each validation image to its nearest training image (the way
cleanvision and deepchecks look for duplicates).  Groups and time order can
only be checked from metadata, so they are reported when both splits are
``ImageSet`` objects with ``groups`` / ``times``.

The distance between two images (``features=None``) is the root-mean-square
pixel difference after each image is standardised (mean 0, standard deviation
1, which cancels brightness and contrast changes) and after the best shift of
up to ``max_shift`` pixels (which cancels the small shifts augmentation
makes; two copies each shifted by up to 2 px can be 4 px apart, hence the
default of 4).  It is 0 for identical images and about 0.9 for two different
clinic scans.

How the default threshold was chosen: on ``clinic_test`` (1000 scans of 1000
different specimens) the distance from a scan to its nearest *other* scan is
almost never below 0.6 (1st percentile 0.66); two augmented copies of one
image (``augmented_copies``: shift up to 2 px, brightness and contrast
+-10%, fresh noise) lie within about 0.4 of each other, and a copy within
about 0.35 of its original.  ``DEFAULT_THRESHOLD = 0.45`` sits in that gap:
two thirds of the 1st percentile of genuinely different pairs.  For your own data,
measure that distribution on images you know are distinct with
:func:`calibrate_threshold`; with ``features=...`` you must do so, since
feature distances have another scale.

>>> import numpy as np
>>> from course_lib import data, leaks
>>> scans = data.load("clinic_test").subset(np.arange(40))
>>> pool = leaks.augmented_copies(scans, copies=4, seed=0)   # augment first ...
>>> train, val = data.split(pool, how="random", seed=0)       # ... then split: leaky
>>> report = leaks.find_leaks(train, val)
>>> report.fraction_of_val_leaked > 0.9
True
>>> train, val = data.split(scans, how="stratified", seed=0)  # split first ...
>>> honest = leaks.find_leaks(leaks.augmented_copies(train, 4), val)   # ... then augment
>>> honest.fraction_of_val_leaked
0.0
"""

import hashlib
import numbers
from dataclasses import dataclass, field

import numpy as np

from ._checks import (as_gray_images, check_imageset, check_integer, check_positive, check_seed, is_imageset,
                      unit_float)

__all__ = ["DEFAULT_THRESHOLD", "LeakReport", "find_leaks", "calibrate_threshold", "pairwise_distances",
           "augmented_copies"]

DEFAULT_THRESHOLD = 0.45   # pixel distance (see the module docstring for how it was chosen)
MAX_SHIFT = 4              # pixels; the largest shift find_leaks looks through


# --------------------------------------------------------------------------- inputs
def _as_image_array(images, name):
    """``(raw array, float64 array (N, H, W) in 0..1, ImageSet or None)`` from an ImageSet, array or tensor."""
    raw = np.ascontiguousarray(as_gray_images(images, name=name))
    if not (np.issubdtype(raw.dtype, np.number) or raw.dtype == bool):
        raise TypeError(f"{name} must hold numbers (pixel values), got dtype {raw.dtype}.")
    # float64 throughout: the distances then print the same on every machine
    return raw, unit_float(raw), (images if is_imageset(images) else None)


def _hashes(raw):
    """One SHA-1 digest per image, of its exact bytes (same dtype and shape)."""
    return [hashlib.sha1(img.tobytes()).hexdigest() for img in raw]


def _standardise(x):
    x = x - x.mean(axis=(1, 2), keepdims=True)
    return x / (x.std(axis=(1, 2), keepdims=True) + 1e-6)


# --------------------------------------------------------------------------- distances
def pairwise_distances(a, b, features=None, max_shift=MAX_SHIFT, chunk=512):
    """Distances between every image of ``a`` (rows) and every image of ``b`` (columns).

    ``features=None``: the pixel distance described in the module docstring
    (standardised images, best shift of up to ``max_shift`` pixels), computed
    with matrix products on chunks of rows, so a few thousand images take
    seconds.  Otherwise ``features`` maps images to feature vectors: a course
    model (its ``features`` method is used), a callable ``f(images) -> (N, D)``
    taking float images (N, H, W) in 0..1, or a pair ``(features_a, features_b)``
    of precomputed arrays; the distance is then the root-mean-square difference
    of the feature vectors.  Returns a float array of shape ``(len(a), len(b))``.

    >>> import numpy as np
    >>> from course_lib import data, leaks
    >>> scans = data.load("clinic_test").images[:3]
    >>> shifted = np.roll(scans, 1, axis=2)          # the same scans, moved 1 px to the right
    >>> d = leaks.pairwise_distances(shifted, scans)
    >>> bool(d[0, 0] < 0.1), bool(d[0, 1] > 0.45)     # itself (shifted) vs. another scan
    (True, True)
    """
    raw_a, xa, _ = _as_image_array(a, "a")
    raw_b, xb, _ = _as_image_array(b, "b")
    if features is not None:
        fa, fb = _feature_vectors(features, xa, xb)
        return _rms_distances(fa, fb)
    _check_same_shape(xa, xb, "a", "b")
    check_integer("max_shift", max_shift, low=0, unit=" of pixels")
    h, w = xa.shape[1:]
    if 2 * max_shift >= min(h, w):
        raise ValueError(f"max_shift={max_shift} is too large for {h}x{w} images; use at most {(min(h, w) - 1) // 2}.")
    s = int(max_shift)
    za, zb = _standardise(xa), _standardise(xb)
    core = za[:, s:h - s, s:w - s].reshape(len(za), -1)          # centre of each image of a
    n_pix = core.shape[1]
    core_sq = (core ** 2).sum(1)
    out = np.empty((len(za), len(zb)))
    for start in range(0, len(za), chunk):
        rows, rows_sq = core[start:start + chunk], core_sq[start:start + chunk]
        best = None
        for dy in range(-s, s + 1):
            for dx in range(-s, s + 1):
                win = zb[:, s + dy:h - s + dy, s + dx:w - s + dx].reshape(len(zb), -1)
                d2 = rows_sq[:, None] + (win ** 2).sum(1)[None, :] - 2.0 * rows @ win.T
                best = d2 if best is None else np.minimum(best, d2)
        out[start:start + chunk] = np.sqrt(np.maximum(best, 0.0) / n_pix)
    return out


def _rms_distances(fa, fb):
    d2 = (fa ** 2).sum(1)[:, None] + (fb ** 2).sum(1)[None, :] - 2.0 * fa @ fb.T
    return np.sqrt(np.maximum(d2, 0.0) / fa.shape[1])


def _feature_vectors(features, xa, xb):
    if isinstance(features, (tuple, list)):
        if len(features) != 2:
            raise ValueError("features as precomputed arrays must be a pair (train_features, val_features), "
                             f"got {len(features)} items.")
        fa, fb = (np.asarray(f.detach().cpu().numpy() if hasattr(f, "detach") else f, dtype=np.float64)
                  for f in features)
    elif hasattr(features, "features") and callable(features.features):      # a course model
        import torch
        from .train import backbone_features
        fa, fb = (backbone_features(features, torch.from_numpy(x.astype(np.float32))[:, None]).numpy().astype(np.float64)
                  for x in (xa, xb))
    elif callable(features):
        fa, fb = (np.asarray(_to_numpy(features(x.astype(np.float32))), dtype=np.float64) for x in (xa, xb))
    else:
        raise TypeError("features must be None (compare pixels), a course model, a callable images -> vectors, "
                        f"or a pair of precomputed arrays; got {type(features).__name__}.")
    for f, x, name in ((fa, xa, "train"), (fb, xb, "val")):
        if f.ndim != 2:
            raise ValueError(f"The {name} features must be one vector per image, shape (N, D); got shape {f.shape}.")
        if len(f) != len(x):
            raise ValueError(f"The {name} features have {len(f)} rows but there are {len(x)} {name} images: "
                             "they must match one to one.")
    if fa.shape[1] != fb.shape[1]:
        raise ValueError(f"train features have {fa.shape[1]} dimensions but val features {fb.shape[1]}: "
                         "compute both with the same model.")
    return fa, fb


def _to_numpy(v):
    return v.detach().cpu().numpy() if hasattr(v, "detach") else v


def _check_same_shape(xa, xb, name_a, name_b):
    if xa.shape[1:] != xb.shape[1:]:
        raise ValueError(f"{name_a} images are {xa.shape[1]}x{xa.shape[2]} but {name_b} images are "
                         f"{xb.shape[1]}x{xb.shape[2]}: resize them to the same size before comparing.")


# --------------------------------------------------------------------------- report
@dataclass
class LeakReport:
    """What :func:`find_leaks` found.  Taught in ``01_leaky_splits``.

    ``exact``: ``(train_index, val_index)`` pairs of byte-identical images.
    ``near``: ``(train_index, val_index, distance)`` for each validation image whose
    nearest training image is within ``threshold`` (and not an exact copy), closest first.
    ``nearest``: for every validation image, the distance to its nearest training image.
    ``shared_groups``: group ids found on both sides (``None`` without group ids).
    ``val_before_train_end``: fraction of validation items acquired before the last
    training item (``None`` without times); 0 for a chronological split.
    """

    exact: list
    near: list
    nearest: np.ndarray
    n_train: int
    n_val: int
    threshold: float
    method: str
    shared_groups: list = None
    val_in_shared_groups: float = None
    val_before_train_end: float = None
    leaked_val: np.ndarray = field(default=None, repr=False)

    @property
    def fraction_of_val_leaked(self):
        """Fraction of validation images with an exact or near copy in training."""
        return float(len(self.leaked_val)) / self.n_val

    @property
    def clean(self):
        """True when no copy, no shared group and no time overlap was found."""
        return (len(self.leaked_val) == 0 and not self.shared_groups
                and not self.val_before_train_end)

    def table(self, max_rows=8):
        """The flagged pairs as text: exact copies first, then near copies, closest first."""
        rows = [(v, t, 0.0, "exact") for t, v in self.exact] + [(v, t, d, "near") for t, v, d in self.near]
        if not rows:
            return "no copies found across the split"
        lines = [f"{'val':>6}{'train':>7}{'distance':>10}  kind"]
        for v, t, d, kind in rows[:max_rows]:
            lines.append(f"{v:>6d}{t:>7d}{d:>10.2f}  {kind}")
        if len(rows) > max_rows:
            lines.append(f"... and {len(rows) - max_rows} more pairs")
        return "\n".join(lines)

    def summary(self):
        """A few lines a person can read: what leaked, and how much."""
        n_leaked = len(self.leaked_val)
        lines = [f"LeakReport: {n_leaked} of {self.n_val} validation images ({self.fraction_of_val_leaked:.0%}) "
                 f"have a copy among the {self.n_train} training images",
                 f"  exact duplicates: {len(self.exact)} pairs",
                 f"  near-duplicates:  {len(self.near)} (distance <= {self.threshold:.2f}; {self.method})"]
        if self.shared_groups is not None:
            lines.append(f"  shared groups:    {len(self.shared_groups)} groups on both sides, "
                         f"holding {self.val_in_shared_groups:.0%} of the validation items")
        if self.val_before_train_end is not None:
            lines.append(f"  time order:       {self.val_before_train_end:.0%} of the validation items were "
                         "acquired before the last training item")
        return "\n".join(lines)

    def __repr__(self):
        return self.summary() + "\n" + self.table()


# --------------------------------------------------------------------------- find_leaks
def find_leaks(train_images, val_images, threshold=None, features=None, max_shift=MAX_SHIFT):
    """Check a split for leaks: copies of validation images in training, shared groups, time order.

    Taught in ``01_leaky_splits``.

    Parameters
    ----------
    train_images, val_images : ImageSet or array (N, H, W) / (N, 1, H, W)
        The two sides of your split.  ImageSets carrying ``groups`` or ``times``
        are also checked for shared groups and time overlap.
    threshold : float, optional
        A validation image whose nearest training image is at most this far
        away is flagged as a near-duplicate.  ``None`` uses
        ``DEFAULT_THRESHOLD`` (0.45) for the pixel distance; see the module
        docstring for how it was chosen, and :func:`calibrate_threshold` to
        choose one for your own data.  Required with ``features``.
    features : model, callable or (train_features, val_features), optional
        Compare feature vectors instead of pixels (see :func:`pairwise_distances`).
    max_shift : int
        Largest shift, in pixels, the pixel distance looks through (default 4).

    Returns a :class:`LeakReport`.

    >>> import numpy as np
    >>> from course_lib import data, leaks
    >>> scans = data.load("clinic_test").images
    >>> report = leaks.find_leaks(scans[:50], np.concatenate([scans[50:60], scans[:2]]))
    >>> report.exact, report.fraction_of_val_leaked
    ([(0, 10), (1, 11)], 0.16666666666666666)
    """
    raw_tr, x_tr, set_tr = _as_image_array(train_images, "train_images")
    raw_va, x_va, set_va = _as_image_array(val_images, "val_images")
    if features is None:
        _check_same_shape(x_tr, x_va, "train", "val")
    if threshold is None:
        if features is not None:
            raise ValueError("With features=..., give a threshold: feature distances have their own scale. "
                             "Measure one with leaks.calibrate_threshold(distinct_images, features=...).")
        threshold = DEFAULT_THRESHOLD
    check_positive("threshold", threshold)

    # exact copies: identical bytes
    index = {}
    for i, h in enumerate(_hashes(raw_tr)):
        index.setdefault(h, []).append(i)
    exact = sorted((t, v) for v, h in enumerate(_hashes(raw_va)) if raw_tr.dtype == raw_va.dtype
                   for t in index.get(h, []))
    exact_val = {v for _, v in exact}

    # near copies: nearest training image by distance
    if features is None:
        dist = pairwise_distances(x_va, x_tr, max_shift=max_shift)       # rows: validation images
    else:   # feature distances are symmetric; compute them in (train, val) order, as features are given
        dist = pairwise_distances(x_tr, x_va, features=features).T
    nearest_train = dist.argmin(axis=1)
    nearest = dist[np.arange(len(x_va)), nearest_train].astype(np.float64)
    near = [(int(nearest_train[v]), int(v), round(float(nearest[v]), 4)) for v in range(len(x_va))
            if nearest[v] <= threshold and v not in exact_val]
    near.sort(key=lambda p: (p[2], p[1]))
    leaked = np.array(sorted(exact_val | {v for _, v, _ in near}), dtype=np.int64)
    method = ("feature vectors" if features is not None
              else f"standardised pixels, best shift of up to {max_shift} px")

    report = LeakReport(exact=[(int(t), int(v)) for t, v in exact], near=near, nearest=nearest,
                        n_train=len(x_tr), n_val=len(x_va), threshold=float(threshold), method=method,
                        leaked_val=leaked)
    if set_tr is not None and set_va is not None:
        if getattr(set_tr, "groups", None) is not None and getattr(set_va, "groups", None) is not None:
            shared = np.intersect1d(set_tr.groups, set_va.groups)
            report.shared_groups = [int(g) for g in shared]
            report.val_in_shared_groups = float(np.isin(set_va.groups, shared).mean())
        if getattr(set_tr, "times", None) is not None and getattr(set_va, "times", None) is not None:
            report.val_before_train_end = float((set_va.times < set_tr.times.max()).mean())
    return report


def calibrate_threshold(distinct_images, features=None, quantile=0.01, safety=0.67, max_shift=MAX_SHIFT):
    """A near-duplicate threshold measured on images you know are all different.

    Taught in ``01_leaky_splits``.  Computes the distance from each image to
    its nearest *other* image, takes the ``quantile`` (default: the 1st
    percentile, a distance that genuinely different images almost never get
    under) and multiplies it by ``safety`` to stay clear of it.  Use the same
    ``features`` you will pass to :func:`find_leaks` (a model, a callable, or
    an array of precomputed feature vectors, one row per image).

    >>> from course_lib import data, leaks
    >>> t = leaks.calibrate_threshold(data.load("clinic_test").images)
    >>> bool(abs(t - leaks.DEFAULT_THRESHOLD) < 0.05)
    True
    """
    raw, x, _ = _as_image_array(distinct_images, "distinct_images")
    if len(x) < 2:
        raise ValueError("calibrate_threshold needs at least 2 distinct images to measure distances between them.")
    if isinstance(quantile, bool) or not isinstance(quantile, numbers.Real) or not 0 <= quantile < 0.5:
        raise ValueError(f"quantile must lie in [0, 0.5), got {quantile!r}. 0.01 means the 1st percentile.")
    if isinstance(safety, bool) or not isinstance(safety, numbers.Real) or not 0 < safety <= 1:
        raise ValueError(f"safety must lie in (0, 1], got {safety!r}: the threshold stays below what "
                         "genuinely different images reach.")
    if len(set(_hashes(raw))) < len(raw):
        raise ValueError("distinct_images contains exact duplicates, so it is not a set of distinct images. "
                         "Remove the copies first (find_leaks(images, images) lists them).")
    if isinstance(features, np.ndarray):          # precomputed feature vectors, one row per image
        features = (features, features)
    d = pairwise_distances(x, x, features=features, max_shift=max_shift)
    np.fill_diagonal(d, np.inf)
    return float(safety * np.quantile(d.min(axis=1), quantile))


# --------------------------------------------------------------------------- making the leak
def augmented_copies(dataset, copies=4, seed=0, shift=2, jitter=0.1, noise=0.1):
    """``copies`` augmented versions of every image of ``dataset``, as a new ImageSet.

    Taught in ``01_leaky_splits``.  Each copy is shifted by up to ``shift``
    pixels (edges repeated), its brightness and contrast are changed by up to
    ``jitter`` (fractions), and fresh uniform noise of amplitude ``noise`` is
    added: light, ordinary augmentation.  The copies of one image share a
    group id, so ``data.split(copies, how="group")`` keeps them together: the
    original's own group (its specimen) when ``dataset`` has ``groups``, else
    the position of the original in ``dataset``.  Keeping the specimen ids
    means a split made *before* augmenting still shares no group afterwards.

    >>> from course_lib import data, leaks
    >>> few = data.load("clinic").take_per_class(2, seed=0)
    >>> aug = leaks.augmented_copies(few, copies=3, seed=0)
    >>> len(few), len(aug), bool((aug.groups[:3] == few.groups[0]).all())
    (10, 30, True)
    >>> plain = data.ImageSet(few.images, few.labels, few.class_names, "no groups")
    >>> leaks.augmented_copies(plain, copies=3, seed=0).groups[:6].tolist()
    [0, 0, 0, 1, 1, 1]
    """
    check_imageset(dataset, "augmented_copies")
    check_positive("copies", copies, integer=True)
    check_positive("shift", shift, integer=True, allow_zero=True)
    check_positive("jitter", jitter, allow_zero=True)
    check_positive("noise", noise, allow_zero=True)
    check_seed(seed)
    from .data import ImageSet

    rng = np.random.default_rng(seed)
    x = dataset.images.astype(np.float64) / 255.0
    n, h, w = x.shape
    src = np.repeat(np.arange(n), copies)
    padded = np.pad(x, ((0, 0), (shift, shift), (shift, shift)), mode="edge")
    dy, dx = (rng.integers(-shift, shift + 1, size=len(src)) for _ in range(2))
    out = np.stack([padded[i, shift + a:shift + a + h, shift + b:shift + b + w] for i, a, b in zip(src, dy, dx)])
    mean = out.mean(axis=(1, 2), keepdims=True)
    contrast = 1.0 + rng.uniform(-jitter, jitter, size=(len(src), 1, 1))
    brightness = rng.uniform(-jitter, jitter, size=(len(src), 1, 1)) * mean
    out = mean + (out - mean) * contrast + brightness + noise * (rng.random(out.shape) - 0.5)
    images = np.floor(np.clip(out, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    groups = src if dataset.groups is None else dataset.groups[src]
    return ImageSet(images, dataset.labels[src], list(dataset.class_names), f"{dataset.name}+{copies} copies",
                    groups=groups, summary=dataset.summary, meta=dict(dataset.meta, augmented_from=dataset.name))
