"""How far is my data from what a base was pretrained on?  Measure it before you pick a base.

Taught in ``04_wrong_domain_base``.  A base model is only as useful as its
source data is close to yours: a "famous" base pretrained on everyday photos
can lose to a modest one pretrained on scans like yours.  Two measures, both a
Fréchet distance (the distance between two Gaussians fitted to two clouds of
points, as in the FID score for generated images):

* :func:`feature_distance` looks through the base's own eyes: it embeds the
  base's source images and your target images with the base's frozen backbone
  and compares the two clouds, divided by the spread of the source cloud so that
  bases with different feature sizes can be compared.  0 means "looks like my
  source data"; values well above 1 mean the target sits outside it.
* :func:`pixel_distance` needs no model: it compares simple image statistics
  (brightness, contrast and edge strength of each image).

:func:`rank_bases` ranks candidate bases by :func:`feature_distance`.  A small
distance is a reason to try a base first, not a guarantee: always confirm with a
frozen probe on your own labels (notebook 04 checks the ranking that way).

>>> from course_lib import data, domains
>>> clinic = data.load("clinic")
>>> [name for name, _ in domains.rank_bases(clinic)]
['scans-s', 'photos-l']
"""

import numbers

import numpy as np

from . import models
from ._checks import as_gray_images, unit_float

__all__ = ["frechet_distance", "pixel_distance", "feature_distance", "rank_bases"]

N_IMAGES = 500      # images drawn from each side: enough for a stable estimate, quick on a CPU


def _images(what, images):
    """``images`` (ImageSet, array or tensor) as a float64 array (N, H, W) in 0..1."""
    x = as_gray_images(images, name=what)
    if len(x) < 3:
        raise ValueError(f"{what} has {len(x)} images; a distance between two data sets needs at least 3 of "
                         "each (a few hundred give a stable number).")
    return unit_float(x)


def _sample(x, n, seed):
    if len(x) <= n:
        return x
    return x[np.sort(np.random.default_rng(seed).choice(len(x), size=n, replace=False))]


def frechet_distance(a, b):
    """Fréchet distance between Gaussians fitted to the rows of ``a`` and of ``b`` (two arrays (N, D)).

    ``|mean_a - mean_b|^2 + trace(C_a + C_b - 2 (C_a C_b)^(1/2))``; 0 for two
    identical clouds.  Taught in ``04_wrong_domain_base``.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(2000, 3))
    >>> round(frechet_distance(x, x), 6), round(frechet_distance(x, x + 2.0), 1)   # shifted by 2 in 3 dims
    (0.0, 12.0)
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"frechet_distance needs two arrays of vectors (N, D) with the same D, got shapes "
                         f"{a.shape} and {b.shape}.")
    if len(a) < 2 or len(b) < 2:
        raise ValueError("frechet_distance needs at least 2 vectors on each side to estimate a spread.")
    mean = ((a.mean(0) - b.mean(0)) ** 2).sum()
    ca, cb = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    # trace((Ca Cb)^(1/2)) = sum of sqrt(eigenvalues of Ca^(1/2) Cb Ca^(1/2)), a symmetric matrix
    w, v = np.linalg.eigh(ca)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cb @ root_a), 0, None)).sum()
    return float(max(mean + np.trace(ca) + np.trace(cb) - 2.0 * cross, 0.0))


def _pixel_stats(x):
    gy, gx = np.gradient(x, axis=(1, 2))
    return np.stack([x.mean(axis=(1, 2)), x.std(axis=(1, 2)), np.hypot(gx, gy).mean(axis=(1, 2))], axis=1)


def pixel_distance(a, b, n=N_IMAGES, seed=0):
    """Fréchet distance between the brightness, contrast and edge strength of two sets of images.

    Taught in ``04_wrong_domain_base``.  Each statistic is divided by its spread
    over both sets, so the three count alike.  No model is needed, which makes
    it a first look at any two folders of images; it cannot see *what* the images
    show, only how they look.  Up to ``n`` images of each set are used.

    >>> from course_lib import data
    >>> clinic = data.load("clinic")
    >>> near = pixel_distance(data.load("scans_test"), clinic)
    >>> far = pixel_distance(data.load("photos_test"), clinic)
    >>> bool(near < 1 < far)
    True
    """
    sa = _pixel_stats(_sample(_images("a", a), n, seed))
    sb = _pixel_stats(_sample(_images("b", b), n, seed))
    scale = np.concatenate([sa, sb]).std(axis=0) + 1e-12
    return frechet_distance(sa / scale, sb / scale)


def _base_model(base):
    if isinstance(base, str):
        if base not in models.BASES:
            raise ValueError(f"Unknown base {base!r}. The course's bases are: {', '.join(models.BASES)}.")
        return base, models.load_base(base, n_classes=2)
    name = getattr(base, "base_name", None)
    if not isinstance(base, models.SmallCNN) or name is None:
        raise TypeError("base must be a base name such as 'scans-s', or a model loaded with "
                        f"models.load_base(...); got {type(base).__name__}.")
    return name, base


def _embed(model, x):
    import torch

    from .train import _features
    return _features(model, torch.from_numpy(x).float()[:, None]).numpy().astype(np.float64)


def feature_distance(base, target, source=None, n=N_IMAGES, seed=0):
    """How far ``target`` sits from the base's source data, seen through the base's frozen backbone.

    Taught in ``04_wrong_domain_base``.  Both image sets are embedded with the
    base's backbone; the result is the Fréchet distance between the two clouds
    of features divided by the spread of the source cloud (the trace of its
    covariance), so that bases with different feature sizes are comparable.

    Parameters
    ----------
    base : str or model
        A base name (``"scans-s"``, ``"photos-l"``) or a model from
        ``models.load_base`` (its current backbone is used).
    target : ImageSet or array of images
        Your images (labels are not needed).
    source : ImageSet or array, optional
        The base's source images; by default the test set of its source domain.
    n, seed
        Up to ``n`` images of each side, drawn with ``seed``.

    >>> from course_lib import data
    >>> round(feature_distance("scans-s", data.load("scans")), 2) < 0.05    # its own source data: ~0
    True
    """
    name, model = _base_model(base)
    if source is None:
        from . import data
        source = data.load(models.BASES[name]["source"] + "_test")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 3:
        raise ValueError(f"n must be a whole number of images, 3 or more, got {n!r}.")
    xs = _sample(_images("source", source), n, seed)
    xt = _sample(_images("target", target), n, seed)
    if xs.shape[1:] != xt.shape[1:]:
        raise ValueError(f"source images are {xs.shape[1]}x{xs.shape[2]} but target images are "
                         f"{xt.shape[1]}x{xt.shape[2]}: resize them to the size the base was trained on.")
    fs, ft = _embed(model, xs), _embed(model, xt)
    return frechet_distance(fs, ft) / float(np.trace(np.cov(fs, rowvar=False)))


def rank_bases(target, bases=None, n=N_IMAGES, seed=0):
    """Candidate bases, closest first: ``[(name, feature_distance), ...]``.

    Taught in ``04_wrong_domain_base``.  ``bases`` defaults to every base of the
    course.  The ranking says which base to *try* first; a frozen probe on your
    own labels says which one to keep.

    >>> from course_lib import data
    >>> rank_bases(data.load("photos_test"))[0][0]    # photos are closest to the base pretrained on photos
    'photos-l'
    """
    names = list(models.BASES) if bases is None else list(bases)
    if not names:
        raise ValueError("bases is empty: name at least one base, such as ['scans-s', 'photos-l'].")
    scores = [(name, round(feature_distance(name, target, n=n, seed=seed), 4)) for name in names]
    return sorted(scores, key=lambda item: item[1])
