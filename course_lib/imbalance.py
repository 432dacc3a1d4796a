"""Class imbalance: skew a data set on purpose, then weight the loss or adjust the logits.

Taught in ``03_class_imbalance``.  When one class is rare, a model can score
high accuracy while it misses most of that class (the *accuracy paradox*).
This module builds skewed versions of a data set, measures the do-nothing
baseline that every score must beat, and holds the two fixes the notebook
compares:

* a class-weighted loss: ``train.fit(..., class_weights=class_weights(labels))``,
  which retrains the model so that each class counts equally;
* logit adjustment (Menon et al., ICLR 2021): subtract ``tau * log(prior)`` from
  the trained model's logits, which needs no retraining.  For two classes and
  ``tau=1`` it is the same as predicting the rare class whenever its probability
  exceeds its share of the training set, instead of 0.5.

>>> import numpy as np
>>> from course_lib import data, imbalance
>>> scans = data.load("clinic_test")                        # 200 scans of each of 5 marks
>>> screen = imbalance.one_vs_rest(scans, "flag")             # "flag" against the other four
>>> screen.class_names, screen.class_counts()
(['other', 'flag'], [800, 200])
>>> skewed = imbalance.make_imbalanced(screen, "flag", fraction=0.05, seed=0)
>>> skewed.class_counts()                                     # 42 of 842 is 5%
[800, 42]
>>> imbalance.class_weights(skewed.labels)                    # each class then weighs the same in the loss
[0.52625, 10.023809523809524]
>>> prior = imbalance.class_prior(skewed.labels)
>>> logits = np.array([[4.0, 0.0], [1.0, 0.5]])               # the model says "other" for both
>>> imbalance.logit_adjust(logits, prior).argmax(axis=1)      # adjusted: the second becomes "flag"
array([0, 1])
"""

import copy
import numbers

import numpy as np

from ._checks import (check_choice, check_fraction, check_imageset, check_integer, check_labels, check_positive,
                      check_seed)

__all__ = ["one_vs_rest", "make_imbalanced", "oversample", "class_counts", "class_prior", "class_weights",
           "logit_adjust", "logit_adjusted", "majority_baseline", "precision_recall_plot", "threshold_for_recall",
           "load_digits_imageset"]

WEIGHT_KINDS = ("inverse", "sqrt", "effective")


# --------------------------------------------------------------------------- building skewed data
def _class_id(dataset, cls):
    """A class given by id or by name, as an id; unknown classes get a message listing the valid ones."""
    names = list(dataset.class_names)
    listed = ", ".join(f"{i} ({n!r})" for i, n in enumerate(names))
    if isinstance(cls, str):
        if cls not in names:
            raise ValueError(f"Unknown class {cls!r} in {dataset.name!r}. Its classes are: {listed}.")
        return names.index(cls)
    if isinstance(cls, bool) or not isinstance(cls, numbers.Integral):
        raise TypeError(f"A class must be given by its id (an int) or its name (a str), got {cls!r}.")
    if not 0 <= cls < len(names):
        raise ValueError(f"Unknown class id {cls} in {dataset.name!r}. Its classes are: {listed}.")
    return int(cls)


def _class_ids(dataset, classes):
    items = [classes] if isinstance(classes, (str, numbers.Integral)) else list(classes)
    if not items:
        raise ValueError("Name at least one minority class, for example minority='flag' or minority=[3, 4].")
    ids = [_class_id(dataset, c) for c in items]
    if len(set(ids)) != len(ids):
        raise ValueError(f"A class is listed twice in {classes!r}; list each minority class once.")
    return ids


def one_vs_rest(dataset, positive, name=None):
    """Relabel a data set into two classes: ``positive`` (label 1) against all the others (label 0).

    Taught in ``03_class_imbalance``: a screening task ("is this the rare kind?")
    built from a multi-class one.  ``positive`` is a class id or name; the new
    class names are ``["other", <positive's name>]``.  Groups and times are kept.

    >>> from course_lib import data
    >>> screen = one_vs_rest(data.load("clinic_test"), 4)
    >>> screen.class_names, screen.class_counts()
    (['other', 'flag'], [800, 200])
    """
    check_imageset(dataset, "one_vs_rest")
    pos = _class_id(dataset, positive)
    pos_name = str(dataset.class_names[pos])
    labels = (np.asarray(dataset.labels) == pos).astype(np.int64)
    if labels.min() == labels.max():
        missing = "no" if labels.max() == 0 else "only"
        raise ValueError(f"{dataset.name!r} has {missing} images of class {pos_name!r}, so a one-vs-rest "
                         "task would have a single class. Use a data set that holds both.")
    return type(dataset)(dataset.images, labels, ["other", pos_name], name or f"{dataset.name}: {pos_name} vs rest",
                         dataset.groups, dataset.times, dataset.summary, dict(dataset.meta))


def make_imbalanced(dataset, minority, fraction, seed=0, name=None):
    """A skewed copy of ``dataset`` in which each ``minority`` class makes up ``fraction`` of the images.

    Taught in ``03_class_imbalance``.  Every image of the other classes is kept;
    the minority class(es) are subsampled at random (``seed``) until each one is
    ``fraction`` of the result: ``fraction=0.05`` on a two-class set gives the
    95/5 split of a screening task.

    Parameters
    ----------
    dataset : ImageSet
    minority : int, str or list of them
        The class id(s) or name(s) to make rare.
    fraction : float, 0 < fraction < 1
        The share of the result that *each* minority class gets.  With ``k``
        minority classes, ``k * fraction`` must stay below 1.
    seed : int
        Which minority images are kept.

    Raises a ValueError that says what to change when a class is unknown, when
    the fraction is out of range, when there are too few minority images for
    it, or when it would keep no minority image at all.

    >>> from course_lib import data
    >>> clinic = data.load("clinic_test")
    >>> make_imbalanced(clinic, ["knee", "flag"], fraction=0.02, seed=0).class_counts()
    [200, 200, 200, 12, 12]
    """
    check_imageset(dataset, "make_imbalanced")
    ids = _class_ids(dataset, minority)
    check_seed(seed)
    try:
        check_fraction("fraction", fraction)
    except ValueError as err:
        raise ValueError(f"{err} It is the share of each minority class in the result: 0.05 gives a 95/5 "
                         "split.") from None
    k = len(ids)
    if k * fraction >= 1:
        raise ValueError(f"{k} minority classes at fraction={fraction} each would fill {k * fraction:.0%} of the "
                         f"data set, leaving nothing for the majority. Use fraction < {1 / k:.3g}.")
    labels = np.asarray(dataset.labels)
    majority = ~np.isin(labels, ids)
    n_major = int(majority.sum())
    if n_major == 0:
        raise ValueError(f"Every image of {dataset.name!r} belongs to a minority class {ids}, so nothing is "
                         "left to be the majority. Make fewer classes rare.")
    # each minority class gets n such that n / (n_major + k n) = fraction
    n_min = int(round(fraction * n_major / (1 - k * fraction)))
    if n_min == 0:
        one_each = 1 / (n_major + k)  # the fraction that keeps exactly one image of each minority class
        raise ValueError(f"fraction={fraction} of {dataset.name!r} ({n_major} majority images) keeps 0 images "
                         f"of each minority class: an empty class. Use fraction >= {one_each:.3g} (one image "
                         "each) or a bigger data set.")
    rng = np.random.default_rng(int(seed))
    keep = [np.flatnonzero(majority)]
    for c in ids:
        have = np.flatnonzero(labels == c)
        if len(have) < n_min:
            most = len(have) / (n_major + k * len(have))
            raise ValueError(f"fraction={fraction} needs {n_min} images of class {dataset.class_names[c]!r} "
                             f"but {dataset.name!r} has only {len(have)}. Ask for fraction <= {most:.3f}, "
                             "or start from a bigger data set.")
        keep.append(rng.choice(have, size=n_min, replace=False))
    index = np.sort(np.concatenate(keep))
    label = name or f"{dataset.name} ({fraction:g} each: {', '.join(str(dataset.class_names[c]) for c in ids)})"
    return dataset.subset(index, label)


def oversample(dataset, seed=0, name=None):
    """A balanced copy of ``dataset``: every class repeated at random up to the size of the largest one.

    Taught in ``03_class_imbalance`` (an exercise): random oversampling, the data
    side of "balance the classes".  The rare images are only repeated, not new,
    so with a handful of them the model can memorise them.

    >>> from course_lib import data
    >>> skewed = make_imbalanced(one_vs_rest(data.load("clinic_test"), "flag"), "flag", 0.05, seed=0)
    >>> oversample(skewed, seed=0).class_counts()
    [800, 800]
    """
    check_imageset(dataset, "oversample")
    counts = np.bincount(np.asarray(dataset.labels), minlength=len(dataset.class_names))
    if (counts == 0).any():
        empty = [str(dataset.class_names[i]) for i in np.flatnonzero(counts == 0)]
        raise ValueError(f"{dataset.name!r} has no images of {empty}: oversampling cannot invent a class. "
                         "Drop the class or add examples of it.")
    rng = np.random.default_rng(seed)
    top = counts.max()
    parts = []
    for c, n in enumerate(counts):
        idx = np.flatnonzero(dataset.labels == c)
        parts.append(np.concatenate([idx, rng.choice(idx, size=top - n, replace=True)]))
    index = np.sort(np.concatenate(parts))
    return dataset.subset(index, name or f"{dataset.name} (oversampled)")


# --------------------------------------------------------------------------- priors and weights
def _labels(labels, n_classes):
    arr = check_labels(getattr(labels, "labels", labels), name="labels")
    if n_classes is None:
        n_classes = len(labels.class_names) if hasattr(labels, "class_names") else int(arr.max()) + 1
    check_positive("n_classes", n_classes, integer=True)
    return check_labels(arr, n_classes, name="labels"), int(n_classes)


def class_counts(labels, n_classes=None):
    """Number of examples of each class (``labels``: an array of class ids or an ImageSet).

    >>> class_counts([0, 0, 0, 1])
    [3, 1]
    """
    arr, n_classes = _labels(labels, n_classes)
    return np.bincount(arr, minlength=n_classes).tolist()


def _counts_without_gaps(labels, n_classes, what):
    arr, n_classes = _labels(labels, n_classes)
    counts = np.bincount(arr, minlength=n_classes).astype(float)
    if (counts == 0).any():
        missing = np.flatnonzero(counts == 0).tolist()
        raise ValueError(f"Class(es) {missing} have no examples in these labels, so {what}. Check the split "
                         "that produced them, or build the task without those classes.")
    return counts


def class_prior(labels, n_classes=None):
    """The share of each class in ``labels``: the class prior that ``logit_adjust`` uses.

    Taught in ``03_class_imbalance``.  Estimate it on the *training* labels.

    >>> class_prior([0, 0, 0, 1]).tolist()
    [0.75, 0.25]
    """
    counts = _counts_without_gaps(labels, n_classes, "their prior would be 0 (and its log minus infinity)")
    return counts / counts.sum()


def class_weights(labels, n_classes=None, kind="inverse", beta=0.999):
    """Loss weights, one per class, that make rare classes count more: pass them to ``fit(class_weights=...)``.

    Taught in ``03_class_imbalance``.  The weights have a mean, over the
    examples, of 1, so the loss keeps its usual size.

    kind="inverse":   proportional to 1 / count (scikit-learn's ``"balanced"``):
                      every class then carries the same total weight.
    kind="sqrt":      proportional to 1 / sqrt(count): a gentler correction.
    kind="effective": Cui et al. (CVPR 2019), proportional to (1 - beta) / (1 - beta**count),
                      the "effective number" of examples; ``beta`` near 1 approaches
                      "inverse", ``beta=0`` gives no weighting.

    >>> class_weights([0, 0, 0, 1])
    [0.6666666666666666, 2.0]
    >>> [round(w, 3) for w in class_weights([0, 0, 0, 1], kind="sqrt")]
    [0.845, 1.464]
    """
    check_choice("kind of class weights", kind, WEIGHT_KINDS)
    counts = _counts_without_gaps(labels, n_classes, "their weight would be infinite")
    if kind == "inverse":
        raw = 1.0 / counts
    elif kind == "sqrt":
        raw = 1.0 / np.sqrt(counts)
    else:
        check_fraction("beta", beta, low=0.0, high=1.0)
        raw = (1.0 - beta) / (1.0 - beta ** counts)
    raw = raw * counts.sum() / (raw * counts).sum()
    return [float(w) for w in raw]


# --------------------------------------------------------------------------- logit adjustment
def _prior_array(class_prior, n_classes):
    prior = np.asarray(class_prior.detach().cpu() if hasattr(class_prior, "detach") else class_prior,
                       dtype=float)
    if prior.ndim != 1 or prior.size != n_classes:
        raise ValueError(f"class_prior must hold one share per class ({n_classes} numbers for these logits), "
                         f"got shape {prior.shape}. Compute it with class_prior(train.labels).")
    if not np.isfinite(prior).all() or (prior <= 0).any():
        raise ValueError(f"class_prior must be positive shares such as [0.95, 0.05], got {prior.tolist()}. "
                         "A class with prior 0 has no training examples: drop it or add some.")
    if abs(prior.sum() - 1) > 1e-3:
        raise ValueError(f"class_prior must sum to 1 (it is a share per class), got a sum of {prior.sum():.4g}. "
                         "If these are counts, divide by their total, or use class_prior(train.labels).")
    return prior


def logit_adjust(logits, class_prior, tau=1.0):
    """Post-hoc logit adjustment (Menon et al., ICLR 2021): ``logits - tau * log(class_prior)``.

    Taught in ``03_class_imbalance``.  A model trained on skewed data has the
    skew built into its logits (roughly ``+ log prior``); subtracting it
    scores every class as if the classes had been equally common, so the
    argmax stops favouring the majority.  No retraining is needed.
    ``tau=0`` changes nothing; ``tau=1`` is the standard choice; larger values
    push further toward the rare classes.

    ``logits``: (N, n_classes) NumPy array or torch tensor; the result has the
    same type.  ``class_prior``: the training share of each class (see
    :func:`class_prior`).

    >>> import numpy as np
    >>> logit_adjust(np.array([[1.0, 0.0]]), [0.9, 0.1]).round(3)
    array([[1.105, 2.303]])
    """
    check_positive("tau", tau, allow_zero=True)
    shape = tuple(getattr(logits, "shape", np.shape(logits)))
    if len(shape) != 2 or shape[0] == 0 or shape[1] < 2:
        raise ValueError(f"logits must be shaped (N, n_classes) with N >= 1 and at least 2 classes, got shape "
                         f"{shape}. Get them with train.predict_logits(model, data).")
    prior = _prior_array(class_prior, shape[1])
    shift = tau * np.log(prior)
    if hasattr(logits, "detach"):  # a torch tensor
        import torch
        return logits - torch.as_tensor(shift, dtype=logits.dtype, device=logits.device)
    return np.asarray(logits, dtype=float) - shift


def logit_adjusted(model, class_prior, tau=1.0):
    """A copy of ``model`` whose predictions are logit-adjusted; the original is left as it is.

    Taught in ``03_class_imbalance``.  Subtracting ``tau * log(prior)`` from
    every logit is the same as subtracting it from the head's bias, so the copy
    has only its ``head.bias`` changed and works everywhere a model does
    (``train.evaluate``, ``train.predict_logits``).

    >>> import torch
    >>> from course_lib import models
    >>> model = models.build("small", n_classes=2)
    >>> fixed = logit_adjusted(model, [0.95, 0.05])
    >>> x = torch.rand(3, 1, 20, 20)
    >>> torch.allclose(fixed(x), logit_adjust(model(x), [0.95, 0.05]))
    True
    """
    import torch

    head = getattr(model, "head", None)
    if not isinstance(head, torch.nn.Linear) or head.bias is None:
        raise TypeError("logit_adjusted needs a course model with a linear `head` that has a bias "
                        f"(models.build or models.load_base), got {type(model).__name__}. For any other model, "
                        "adjust its logits with logit_adjust(logits, prior).")
    check_positive("tau", tau, allow_zero=True)
    prior = _prior_array(class_prior, head.out_features)
    adjusted = copy.deepcopy(model)
    with torch.no_grad():
        adjusted.head.bias -= torch.as_tensor(tau * np.log(prior), dtype=adjusted.head.bias.dtype)
    return adjusted


# --------------------------------------------------------------------------- the do-nothing baseline
def majority_baseline(train, test):
    """Evaluate the do-nothing model that always predicts the most common class of ``train``.

    Taught in ``03_class_imbalance``: the first number to compare any accuracy
    with.  On a 95/5 test set it scores 0.95 accuracy while finding none of the
    rare class.  Returns a ``train.Evaluation`` (print it, or plot it with
    ``plots.confusion_matrix``).

    >>> from course_lib import data
    >>> test = make_imbalanced(one_vs_rest(data.load("clinic_test"), "flag"), "flag", 0.05, seed=0)
    >>> ev = majority_baseline(test, test)
    >>> round(ev.accuracy, 3), ev.recall.tolist()
    (0.95, [1.0, 0.0])
    """
    from sklearn.metrics import balanced_accuracy_score, confusion_matrix, precision_recall_fscore_support

    from .train import Evaluation

    for what, ds in (("train", train), ("test", test)):
        check_imageset(ds, f"majority_baseline ({what})")
    n_classes = len(train.class_names)
    if list(test.class_names) != list(train.class_names):
        raise ValueError(f"train has classes {list(train.class_names)} but test has {list(test.class_names)}: "
                         "compare sets of the same task.")
    y_true = check_labels(test.labels, n_classes, name="test labels")
    majority = int(np.argmax(np.bincount(np.asarray(train.labels), minlength=n_classes)))
    y_pred = np.full_like(y_true, majority)
    labels = np.arange(n_classes)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    probs = np.zeros((len(y_true), n_classes))
    probs[:, majority] = 1.0
    per_class = [dict(name=str(train.class_names[i]), precision=float(p[i]), recall=float(r[i]),
                      f1=float(f[i]), support=int(s[i])) for i in labels]
    return Evaluation(
        accuracy=float((y_true == y_pred).mean()),
        balanced_accuracy=float(balanced_accuracy_score(y_true, y_pred)) if len(set(y_true)) > 1 else float("nan"),
        loss=float("nan"), per_class=per_class,
        confusion=confusion_matrix(y_true, y_pred, labels=labels),
        y_true=y_true, y_pred=y_pred, probs=probs,
    )


# --------------------------------------------------------------------------- precision and recall
def precision_recall_plot(evaluation, positive=1, thresholds=None, ax=None, title=None):
    """Plot the precision-recall curve of one class and mark the operating points of chosen thresholds.

    Taught in ``03_class_imbalance``.  Every threshold on the model's
    probability for class ``positive`` gives one (recall, precision) point
    (scikit-learn's ``precision_recall_curve``); predicting with argmax is only
    one of them (0.5 for two classes).  The dashed line is the class's share of
    the test set: the precision of guessing at random.

    Parameters
    ----------
    evaluation : Evaluation
        What ``train.evaluate`` returned (its ``probs`` and ``y_true`` are used).
    positive : int
        The class whose curve is drawn (the rare one).
    thresholds : dict name -> float, optional
        Thresholds on the probability of ``positive`` to mark on the curve,
        for example ``{"default (0.5)": 0.5, "training share": 0.05}``.

    Returns the Figure; the operating points are in ``fig.operating_points``
    as ``{name: (threshold, precision, recall)}``.

    >>> import matplotlib.pyplot as plt
    >>> from course_lib.train import Evaluation
    >>> ev = Evaluation(accuracy=0.9, balanced_accuracy=0.7, loss=0.3, per_class=[], confusion=None,
    ...                 y_true=np.array([0, 0, 0, 1, 1]), y_pred=np.array([0, 0, 0, 0, 1]),
    ...                 probs=np.array([[.9, .1], [.8, .2], [.6, .4], [.7, .3], [.2, .8]]))
    >>> fig = precision_recall_plot(ev, thresholds={"0.5": 0.5, "0.25": 0.25})
    >>> fig.operating_points
    {'0.5': (0.5, 1.0, 0.5), '0.25': (0.25, 0.6666666666666666, 1.0)}
    >>> plt.close(fig)   # in a notebook, end the cell with plt.show() instead
    """
    from sklearn.metrics import precision_recall_curve

    from . import plots

    probs = getattr(evaluation, "probs", None)
    y_true = getattr(evaluation, "y_true", None)
    if probs is None or y_true is None:
        raise TypeError("precision_recall_plot needs an Evaluation from train.evaluate(model, test), "
                        f"got {type(evaluation).__name__}.")
    probs = np.asarray(probs)
    n_classes = probs.shape[1]
    check_integer("positive", positive, low=0, high=n_classes - 1, kind="a class id")
    is_pos = np.asarray(y_true) == positive
    if is_pos.all() or not is_pos.any():
        raise ValueError(f"The test set has {'only' if is_pos.all() else 'no'} examples of class {positive}, "
                         "so precision and recall are undefined. Evaluate on a set with both.")
    thresholds = dict(thresholds or {})
    for name, t in thresholds.items():
        check_fraction(f"threshold {name!r}", t, inclusive=True)
    score = probs[:, positive]
    precision, recall, _ = precision_recall_curve(is_pos, score)
    ax = plots.axes_for(ax, figsize=(5.5, 4))
    ax.plot(recall, precision, color=plots.color(0), lw=2, label="every threshold")
    ax.axhline(is_pos.mean(), ls="--", color=plots.BASELINE_COLOR, lw=1.2,
               label=f"random guessing ({is_pos.mean():.2f})")
    points = {}
    for i, (name, t) in enumerate(thresholds.items()):
        flagged = score >= t
        hits = int((flagged & is_pos).sum())
        prec = hits / flagged.sum() if flagged.any() else 1.0
        rec = hits / is_pos.sum()
        points[name] = (float(t), float(prec), float(rec))
        ax.plot([rec], [prec], ls="none", marker="o", ms=10, color=plots.color(i + 1), markeredgecolor="white",
                label=f"{name}: threshold {t:.2f}", zorder=4)
    ax.set(xlabel="recall (share of the class found)", ylabel="precision (share of alarms that are right)",
           xlim=(0, 1.02), ylim=(0, 1.05), title=title or "Precision against recall, one point per threshold")
    plots.legend_outside(ax)
    plots.tidy(ax)
    ax.figure.operating_points = points
    return ax.figure


def threshold_for_recall(evaluation, recall, positive=1):
    """The highest threshold on p(``positive``) that finds at least ``recall`` of that class in ``evaluation``.

    Taught in ``03_class_imbalance``.  Choose a decision threshold on a
    *validation* set, from the recall the task needs, then report precision and
    recall at that threshold on the test set: a threshold read off the test
    set's own curve would make its scores optimistic.  It assumes the
    probabilities rank the examples well; it does not need them calibrated.

    >>> from course_lib.train import Evaluation
    >>> ev = Evaluation(accuracy=0.9, balanced_accuracy=0.7, loss=0.3, per_class=[], confusion=None,
    ...                 y_true=np.array([0, 0, 0, 1, 1]), y_pred=np.array([0, 0, 0, 0, 1]),
    ...                 probs=np.array([[.9, .1], [.8, .2], [.6, .4], [.7, .3], [.2, .8]]))
    >>> threshold_for_recall(ev, 0.5), threshold_for_recall(ev, 1.0)
    (0.8, 0.3)
    """
    check_fraction("recall", recall, inclusive=True)
    probs, y_true = getattr(evaluation, "probs", None), getattr(evaluation, "y_true", None)
    if probs is None or y_true is None:
        raise TypeError("threshold_for_recall needs an Evaluation from train.evaluate(model, validation), "
                        f"got {type(evaluation).__name__}.")
    probs = np.asarray(probs)
    check_integer("positive", positive, low=0, high=probs.shape[1] - 1, kind="a class id")
    is_pos = np.asarray(y_true) == positive
    if not is_pos.any():
        raise ValueError(f"The validation set has no example of class {positive}, so no threshold can be chosen "
                         "for its recall. Validate on a set that has some.")
    scores = np.sort(probs[is_pos, positive])[::-1]          # the positives' scores, highest first
    needed = max(1, int(np.ceil(recall * len(scores) - 1e-9)))
    return float(scores[needed - 1])


# --------------------------------------------------------------------------- real data
def load_digits_imageset(size=20):
    """scikit-learn's bundled handwritten digits (1797 real images, no download) as an ImageSet.

    Taught in ``03_class_imbalance`` (the real-data track).  The 8x8 images
    (ink 0..16) are enlarged to ``size`` x ``size`` by bilinear interpolation
    and scaled to 0..255, bright ink on a dark ground like the course's scans,
    so the course's models take them as they are.

    >>> digits = load_digits_imageset()
    >>> digits.images.shape, digits.images.dtype, digits.class_names[:3]
    ((1797, 20, 20), dtype('uint8'), ['0', '1', '2'])
    """
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits

    from .data import ImageSet

    check_positive("size", size, integer=True)
    if size < 8:
        raise ValueError(f"size must be at least 8 (the digits are 8x8 pixels), got {size}. "
                         "The course's models take 20.")
    raw = load_digits()
    x = torch.from_numpy(raw.images.astype(np.float32) / 16.0)[:, None]
    if size != 8:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    images = (x[:, 0].clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    return ImageSet(images, raw.target.astype(np.int64), [str(d) for d in range(10)], "digits",
                    summary="scikit-learn's handwritten digits (UCI), enlarged from 8x8")
