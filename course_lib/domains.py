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
  :func:`plot_feature_clouds` draws the two clouds.
* :func:`pixel_distance` needs no model: it compares simple image statistics
  (brightness, contrast and edge strength of each image, :func:`pixel_stats`;
  :func:`plot_pixel_stats` draws them side by side).

:func:`rank_bases` ranks candidate bases by either distance.  A small distance
is a reason to try a base first, not a guarantee: always confirm with a frozen
probe on your own labels, and :func:`rank_agreement` says whether the measured
scores put the bases in the same order as the distances did.

>>> from course_lib import data, domains
>>> clinic = data.load("clinic")
>>> [name for name, _ in domains.rank_bases(clinic, bases=["photos-l", "scans-s"])]
['scans-s', 'photos-l']
"""


import numpy as np

from . import models
from ._checks import as_gray_images, check_choice, check_integer, unit_float

__all__ = ["frechet_distance", "pixel_stats", "plot_pixel_stats", "pixel_distance", "feature_distance",
           "plot_feature_clouds", "rank_bases", "rank_agreement"]

STATS = ("brightness", "contrast", "edge strength")   # what pixel_stats measures, in this order
MEASURES = ("feature", "pixel")                      # what rank_bases can rank by

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
    identical clouds.  The distance behind :func:`feature_distance` and
    :func:`pixel_distance`, which ``04_wrong_domain_base`` teaches.

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


def _check_n(n):
    return check_integer("n", n, low=3, unit=" of images")


def pixel_stats(images, n=N_IMAGES, seed=0):
    """Three numbers per image, the ones :func:`pixel_distance` compares: ``{name: array}``.

    Taught in ``04_wrong_domain_base``.  ``brightness`` is the mean pixel value
    (0..1), ``contrast`` the standard deviation of the pixels, and ``edge strength``
    the mean size of the pixel-to-pixel gradient (sharp thin marks score high,
    smooth shading low).  Up to ``n`` images are used, drawn with ``seed``.

    >>> from course_lib import data
    >>> stats = pixel_stats(data.load("clinic"), n=100)
    >>> list(stats), len(stats["brightness"])
    (['brightness', 'contrast', 'edge strength'], 100)
    """
    x = _sample(_images("images", images), _check_n(n), seed)
    return dict(zip(STATS, _pixel_stats(x).T))


def plot_pixel_stats(image_sets, n=N_IMAGES, seed=0, axes=None, title=None):
    """Histograms of :func:`pixel_stats`, one panel per statistic, one colour per image set.

    Taught in ``04_wrong_domain_base``: the first look at how far two domains
    are apart, before any model is involved.

    Parameters
    ----------
    image_sets : dict name -> ImageSet or array of images
        For example ``{"clinic (target)": clinic, "scans (source of scans-s)": scans}``.
    axes : three matplotlib Axes, optional
        Where to draw; by default a new figure with three panels.

    >>> import matplotlib.pyplot as plt
    >>> from course_lib import data
    >>> fig = plot_pixel_stats({"clinic": data.load("clinic"), "photos": data.load("photos_test")}, n=100)
    >>> [ax.get_title() for ax in fig.axes]
    ['brightness', 'contrast', 'edge strength']
    >>> plt.close(fig)   # in a notebook, end the cell with plt.show() instead
    """
    import matplotlib.pyplot as plt

    from .plots import color

    if not isinstance(image_sets, dict) or not image_sets:
        raise TypeError("image_sets must be a non-empty dict {name: images}, for example "
                        f"{{'clinic': data.load('clinic')}}; got {type(image_sets).__name__}"
                        f"{' (empty)' if isinstance(image_sets, dict) else ''}.")
    stats = {name: pixel_stats(images, n=n, seed=seed) for name, images in image_sets.items()}
    if axes is None:
        fig, axes = plt.subplots(1, len(STATS), figsize=(12, 3.2), layout="constrained")
    axes = list(np.ravel(axes))
    if len(axes) != len(STATS):
        raise ValueError(f"axes must be {len(STATS)} Axes, one per statistic ({', '.join(STATS)}); got {len(axes)}.")
    for ax, stat in zip(axes, STATS):
        values = np.concatenate([s[stat] for s in stats.values()])
        bins = np.linspace(values.min(), values.max(), 31)
        for i, (name, s) in enumerate(stats.items()):
            ax.hist(s[stat], bins=bins, color=color(i), alpha=0.45, label=name)
        ax.set(title=stat, yticks=[])
        ax.spines[["top", "right", "left"]].set_visible(False)
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small")
    if title:
        axes[0].figure.suptitle(title)
    return axes[0].figure


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
    n = _check_n(n)
    xa, xb = _images("a", a), _images("b", b)
    if xa.shape[1:] != xb.shape[1:]:
        raise ValueError(f"pixel_distance compares images of one size, got {xa.shape[1]}x{xa.shape[2]} (a) and "
                         f"{xb.shape[1]}x{xb.shape[2]} (b): edge strength depends on the resolution. Bring both "
                         "to one size first, e.g. folders.load_image_folder(root, size=(20, 20)).")
    sa = _pixel_stats(_sample(xa, n, seed))
    sb = _pixel_stats(_sample(xb, n, seed))
    scale = np.concatenate([sa, sb]).std(axis=0) + 1e-12
    return frechet_distance(sa / scale, sb / scale)


def _base_model(base):
    """``(name, model)`` of a base given by name (loaded here) or as a model loaded with ``models.load_base``."""
    name = models.base_name(base)
    return name, (models.load_base(name, n_classes=2) if isinstance(base, str) else base)


def _source_images(name):
    """The held-out test images of the source domain base ``name`` was pretrained on."""
    from . import data
    return data.load(models.BASES[name].source + "_test")


def _embed(model, x):
    import torch

    from .train import backbone_features
    return backbone_features(model, torch.from_numpy(x).float()[:, None]).numpy().astype(np.float64)


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
    _, fs, ft = _clouds(base, target, source, n, seed)
    return _relative_distance(fs, ft)


def _clouds(base, target, source, n, seed):
    """``(name, source features, target features)``: up to ``n`` images of each side through the base's backbone."""
    name, model = _base_model(base)
    if source is None:
        source = _source_images(name)
    n = _check_n(n)
    xs, xt = _sample(_images("source", source), n, seed), _sample(_images("target", target), n, seed)
    if xs.shape[1:] != xt.shape[1:]:
        raise ValueError(f"source images are {xs.shape[1]}x{xs.shape[2]} but target images are "
                         f"{xt.shape[1]}x{xt.shape[2]}: resize them to the size the base was trained on.")
    return name, _embed(model, xs), _embed(model, xt)


def _relative_distance(fs, ft):
    """Fréchet distance between the two clouds, divided by the spread (covariance trace) of the source cloud."""
    return frechet_distance(fs, ft) / float(np.trace(np.cov(fs, rowvar=False)))


def plot_feature_clouds(base, target, source=None, n=N_IMAGES, seed=0, ax=None, title=None, target_name="target"):
    """The base's source images and ``target``, as the base's backbone sees them: two clouds of points.

    Taught in ``04_wrong_domain_base``.  Both sets are embedded with the base's
    frozen backbone and projected on the two main directions of the *source*
    features (a PCA fitted on the source cloud), so the plot shows the part of
    feature space the base learned to use.  A target that lands inside the
    source cloud is described in terms the base knows; one that lands off to the
    side, or squeezed into a corner, is not.  The title gives
    :func:`feature_distance` for the same images.

    >>> import matplotlib.pyplot as plt
    >>> from course_lib import data
    >>> fig = plot_feature_clouds("scans-s", data.load("clinic"), n=100, target_name="clinic")
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['scans (source of scans-s)', 'clinic']
    >>> plt.close(fig)   # in a notebook, end the cell with plt.show() instead
    """
    from .plots import axes_for, color

    name, fs, ft = _clouds(base, target, source, n, seed)
    distance = _relative_distance(fs, ft)
    centre = fs.mean(0)
    directions = np.linalg.svd(fs - centre, full_matrices=False)[2][:2]     # the source's two main axes
    ax = axes_for(ax, figsize=(4.6, 4))
    for i, (label, f) in enumerate(((f"{models.BASES[name].source} (source of {name})", fs), (target_name, ft))):
        xy = (f - centre) @ directions.T
        ax.scatter(xy[:, 0], xy[:, 1], s=6, alpha=0.45, color=color(i), label=label, linewidths=0)
    ax.set(xlabel="source direction 1", ylabel="source direction 2", xticks=[], yticks=[],
           title=title or f"through the eyes of {name}: feature distance {distance:.2f}")
    ax.legend(loc="best", frameon=False, fontsize="small", markerscale=3)
    return ax.figure


def rank_bases(target, bases=None, by="feature", n=N_IMAGES, seed=0):
    """Candidate bases, closest first: ``[(name, distance), ...]``.

    Taught in ``04_wrong_domain_base``.  ``bases`` defaults to every base of the
    course (``models.BASES``).  ``by="feature"`` uses :func:`feature_distance`
    (each base's own view); ``by="pixel"`` uses :func:`pixel_distance` between
    ``target`` and the base's source images (no model needed, so it also works
    for a base you have not downloaded yet, if you have samples of its data).
    The ranking says which base to *try* first; a frozen probe on your own labels
    says which one to keep (:func:`rank_agreement`).

    >>> from course_lib import data
    >>> rank_bases(data.load("photos_test"), bases=["scans-s", "photos-l"])[0][0]   # photos: closest to photos-l
    'photos-l'
    >>> [name for name, _ in rank_bases(data.load("clinic"), bases=["photos-l", "scans-s"], by="pixel")]
    ['scans-s', 'photos-l']
    """
    check_choice("by", by, MEASURES)
    if isinstance(bases, str):
        raise TypeError(f"bases must be a list of base names, such as ['scans-s', 'photos-l'], got the string "
                        f"{bases!r}; for one base write [{bases!r}].")
    names = list(models.BASES) if bases is None else list(bases)
    if not names:
        raise ValueError("bases is empty: name at least one base, such as ['scans-s', 'photos-l'].")
    if len(set(names)) != len(names):
        raise ValueError(f"bases names a base more than once: {names}. Name each candidate once.")
    for name in names:
        if not isinstance(name, str) or name not in models.BASES:
            raise ValueError(f"Unknown base {name!r} in bases. The course's bases are: {', '.join(models.BASES)}.")
    if by == "feature":
        scores = [(name, round(feature_distance(name, target, n=n, seed=seed), 4)) for name in names]
    else:
        scores = [(name, round(pixel_distance(target, _source_images(name), n=n, seed=seed), 4)) for name in names]
    return sorted(scores, key=lambda item: item[1])


def rank_agreement(ranking, scores, higher_is_better=True):
    """Does the distance ranking order the bases as their measured scores do?  A fraction, 0..1.

    Taught in ``04_wrong_domain_base``.  ``ranking`` is the output of
    :func:`rank_bases` (closest first); ``scores`` maps each base to what you
    measured with it on your own labels (a frozen probe's accuracy, say).  The
    result is the fraction of pairs of bases that the two put in the same order:
    1.0 when the closest base scored best, the next one next, and so on; 0.0 when
    the order is exactly reversed.  With two bases it is 1.0 or 0.0.  A tie (in
    the scores or the distances) counts as half.

    >>> rank_agreement([("scans-s", 0.27), ("photos-l", 2.14)], {"scans-s": 0.85, "photos-l": 0.62})
    1.0
    >>> rank_agreement([("a", 0.1), ("b", 0.5), ("c", 0.9)], {"a": 0.7, "b": 0.8, "c": 0.6})
    0.6667
    """
    if not isinstance(ranking, (list, tuple)) or not all(
            isinstance(item, (list, tuple)) and len(item) == 2 for item in ranking):
        raise TypeError("ranking must be a list of (name, distance) pairs, the output of rank_bases(...); "
                        f"got {ranking!r:.80}.")
    if not isinstance(scores, dict):
        raise TypeError("scores must be a dict {base name: measured score}, for example "
                        f"{{'scans-s': 0.85, 'photos-l': 0.62}}; got {type(scores).__name__}.")
    names = [name for name, _ in ranking]
    if len(names) < 2:
        raise ValueError(f"ranking has {len(names)} base(s); an order needs at least 2.")
    if set(names) != set(scores):
        raise ValueError(f"ranking and scores must name the same bases: ranking has {sorted(names)}, scores has "
                         f"{sorted(scores)}.")
    distance = dict(ranking)
    sign = 1.0 if higher_is_better else -1.0
    agree, pairs = 0.0, 0
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            pairs += 1
            closer_better = sign * (float(scores[a]) - float(scores[b])) * (float(distance[b]) - float(distance[a]))
            agree += 1.0 if closer_better > 0 else 0.5 if closer_better == 0 else 0.0
    return round(agree / pairs, 4)
