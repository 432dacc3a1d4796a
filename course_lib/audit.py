"""The audit: run the course's checks on your split, your base and your runs, in one call.

Taught in ``09_capstone_decision_path``.  Each failure the course reproduced
has a check here, and each check gives one row: its status (``ok``, ``risk``,
or ``skipped`` when the input it needs was not given), one sentence with the
number it measured, and the notebook that teaches the fix.

============================  =====================================================  ==========================
check                         what it measures                                       the fix is taught in
============================  =====================================================  ==========================
leaks (train -> val)          copies of val images in train, shared groups           01_leaky_splits
class balance                 smallest / largest class, in train and in val          03_class_imbalance
labels per class              how many labels the smallest class has                 05_skipped_baseline
distance from the base        ``domains.feature_distance`` of train to the source    04_wrong_domain_base
frozen baseline               a frozen-base run among ``runs``                       05_skipped_baseline
fine-tuning vs frozen         does fine-tuning beat the frozen baseline?             02_too_high_learning_rate
non-transfer control          a from-scratch run among ``runs``                      07_negative_transfer
transfer vs control           ``compare.transfer_verdict`` of each run vs control    07_negative_transfer
train-validation gap          final train minus validation accuracy (Histories)      06_tiny_dataset_overfitting
per-class recall              the class the model finds least often                  03_class_imbalance
preprocessing vs the base     train's pixel range and polarity against the source's  11_batchnorm_and_preprocessing
frozen BatchNorm              frozen BatchNorm layers left in training mode          11_batchnorm_and_preprocessing
============================  =====================================================  ==========================

The last two rows appear only where they apply: "preprocessing vs the base"
when a base is given and either its model card states its preprocessing
(``BaseCard.preprocessing``) or train's images differ from its source in range
or polarity; "frozen BatchNorm" when the model given has BatchNorm layers.

The checks reuse the course's diagnostics (``leaks.find_leaks``,
``domains.feature_distance``, ``compare.transfer_verdict``,
``train.evaluate``); every threshold is a module constant below, with how it
was chosen.  An audit that finds nothing is not a proof that all is well:
it only means that none of these known failures showed up.  (Time order is
not checked: a random split of data that drift is a leak only you can judge,
from how the data were collected; notebook 01 shows it.)

>>> from course_lib import data, leaks
>>> from course_lib.audit import audit
>>> clinic = data.load("clinic")
>>> train, val = data.split(clinic, how="group", seed=0)
>>> report = audit(train.take_per_class(10), val.take_per_class(10))
>>> report.ok
True
>>> copies = leaks.augmented_copies(train.take_per_class(10), copies=1, seed=1)   # val = copies of train
>>> leaky = audit(train.take_per_class(10), copies)
>>> [row.check for row in leaky.risks]
['leaks (train -> val)']
>>> print(leaky.risks[0].notebook)
01_leaky_splits
"""

import html
import numbers
import os
import unicodedata
from dataclasses import dataclass

import numpy as np

from . import compare, data, domains, folders, leaks, models
from ._checks import check_positive, check_scores, is_imageset

__all__ = ["AuditRow", "AuditReport", "audit", "pixel_profile", "NOTEBOOKS"]

# The notebook that teaches the fix of each risk.
NOTEBOOKS = {
    "leaks": "01_leaky_splits",
    "forgetting": "02_too_high_learning_rate",
    "imbalance": "03_class_imbalance",
    "distance": "04_wrong_domain_base",
    "baseline": "05_skipped_baseline",
    "overfitting": "06_tiny_dataset_overfitting",
    "control": "07_negative_transfer",
    "batchnorm": "11_batchnorm_and_preprocessing",
    "preprocessing": "11_batchnorm_and_preprocessing",
}
STATUSES = ("ok", "risk", "skipped")

# --- thresholds, and how each was chosen ---------------------------------------------------------------
# Share of the validation images allowed to have a copy in train.  find_leaks's threshold sits at two
# thirds of the 1st percentile of distances between genuinely different scans, so a look-alike pair is
# rare but possible; 2% tolerates one or two such pairs in a hundred.  Augmenting before splitting
# copies nearly every image (over 90% in notebook 01).
MAX_LEAKED_FRACTION = 0.02
# The near-duplicate threshold is calibrated on train (see _leak_threshold): leaks.DEFAULT_THRESHOLD, set on the
# course's scans, is the ceiling; images that sit closer together (real handwritten digits, say) get a lower one,
# at LOOK_ALIKE_SAFETY times the 1st percentile of train's nearest-neighbour distances, or the distance a light
# augmentation moves an image (its COPY_QUANTILE quantile), whichever is larger.  Measured on scikit-learn's digits
# (20x20, clean stratified splits of 10 to 60 per class, 8 seeds each): at most 0.7% of clean validation images
# flagged, at least 83% of planted copies found, and at least 20% of the images of an augment-then-split pool
# without group ids.  On the course's own data the ceiling holds (LEAK_SAFETY times the percentile stays above it).
LEAK_SAFETY = 0.67
LOOK_ALIKE_SAFETY = 0.5
COPY_QUANTILE = 0.9
CALIBRATION_IMAGES = 300
# Said in the rows whose threshold is one of the course's rules of thumb (the row names the notebook).
RULE_OF_THUMB = " (Threshold: a rule of thumb from the course's data, explained in the notebook named.)"
# Smallest class / largest class, below which the set counts as imbalanced: the rare class then has
# less than half the weight of the common one in the loss.  Notebook 03's screening task is 5 / 95 (0.05).
MIN_CLASS_RATIO = 0.5
# Labels in the smallest class below which the data count as few.  Between the course's two regimes:
# at 10 labels per class a frozen probe matches full fine-tuning, at 50 fine-tuning wins (LESSON_ANCHORS).
FEW_LABELS = 25
# feature_distance above which the target sits outside the base's source.  domains reads 0 as "looks
# like the source" and values well above 1 as outside it; measured on the clinic's scans: scans-s
# 0.27 (the near base), photos-l 2.1 (the far base).
FAR_DISTANCE = 1.0
# Final train accuracy minus validation accuracy (mean over seeds) above which a run overfits.
# Measured at 10 labels per class on the clinic (one seed): the frozen probe and the fine-tune recipe
# end near 0.18, a small CNN trained from scratch near 0.35.
MAX_GAP = 0.25
# A class whose recall is below this share of the mean recall over classes is neglected by the model:
# halfway between ignoring the class (0) and treating it like the others (1).
MIN_RECALL_SHARE = 0.5
# The names the audit reads as the frozen baseline and the non-transfer control in ``runs`` unless told
# otherwise (audit(..., frozen=..., control=...)): the names strategies.run_strategies gives them.
FROZEN_RUN, CONTROL_RUN = "frozen baseline", "from scratch"
# Polarity: the share of images whose mean pixel is above their median pixel (bright marks on a darker
# background).  Measured: the course's scans 1.00 (clinic 0.97, field station 0.99), scikit-learn's digits 1.00,
# each of them inverted 0.00-0.03; the photos 0.49 (no clear polarity, so not checked).  A source counts as having
# a polarity when its share lies outside CLEAR_POLARITY..1-CLEAR_POLARITY, and train's images as the other
# polarity when their share lies beyond CLEAR_POLARITY on the other side (in between: no clear polarity, no alarm).
CLEAR_POLARITY = 0.2
# Range: train's 99th-percentile pixel (after ImageSet.tensors scales to 0..1) divided by the source's.  Measured:
# clinic 1.00, field station 0.93, digits 1.10 against the scans (0.89); images divided by 255 twice read 0.004.
MAX_RANGE_RATIO = 2.0
# A running mean that moved by more than this many of the base's standard deviations (largest over the channels
# of a frozen layer) counts as moved: the base's statistics are float32 numbers copied exactly, so any real update
# moves them far more (measured in notebook 11).
STATS_MOVED = 1e-4


# --------------------------------------------------------------------------- the report
@dataclass(frozen=True)
class AuditRow:
    """One check of :func:`audit`: ``check``, ``status`` (ok / risk / skipped), ``finding``, ``notebook``.

    Taught in ``09_capstone_decision_path``.

    >>> print(AuditRow("class balance", "ok", "train: every class has 10 images.", "03_class_imbalance"))
    [ok]      class balance: train: every class has 10 images.  (03_class_imbalance)
    """

    check: str
    status: str
    finding: str
    notebook: str

    def __str__(self):
        return f"{'[' + self.status + ']':<9} {self.check}: {self.finding}  ({self.notebook})"


@dataclass
class AuditReport:
    """What :func:`audit` found: ``rows`` (one :class:`AuditRow` per check), ``risks`` and ``ok``.

    Taught in ``09_capstone_decision_path``.  ``print(report)`` (or
    ``report.text()``) gives plain text for logs; in a notebook the report
    shows as a table.

    >>> report = AuditReport("demo", [AuditRow("leaks (train -> val)", "risk", "96% leaked.", "01_leaky_splits")])
    >>> report.ok, len(report.risks)
    (False, 1)
    >>> print(report)
    Audit of demo: 1 risk in 1 check (leaks (train -> val))
    [risk]    leaks (train -> val): 96% leaked.  (01_leaky_splits)
    """

    title: str
    rows: list

    @property
    def risks(self):
        """The rows whose status is ``"risk"``."""
        return [row for row in self.rows if row.status == "risk"]

    @property
    def ok(self):
        """True when no check found a risk (skipped checks do not count)."""
        return not self.risks

    def summary(self):
        n, risks = len(self.rows), self.risks
        checks = f"{n} check{'s' if n != 1 else ''}"
        skipped = sum(row.status == "skipped" for row in self.rows)
        skipped = f", {skipped} skipped" if skipped else ""
        if not risks:
            return f"Audit of {self.title}: no risk found in {checks}{skipped}"
        names = ", ".join(row.check for row in risks)
        plural = "s" if len(risks) != 1 else ""
        return f"Audit of {self.title}: {len(risks)} risk{plural} in {checks}{skipped} ({names})"

    def text(self):
        """The report as plain text: a summary line, then one line per check."""
        return "\n".join([self.summary()] + [str(row) for row in self.rows])

    __str__ = text

    def __repr__(self):
        return self.text()

    def _repr_html_(self):
        colours = {"ok": "#e6f4ea", "risk": "#fde7e9", "skipped": "#f1f3f4"}
        cell = 'style="text-align:left; padding:3px 8px; vertical-align:top"'
        rows = "".join(
            f'<tr style="background:{colours[r.status]}"><td {cell}><b>{html.escape(r.status)}</b></td>'
            f"<td {cell}>{html.escape(r.check)}</td><td {cell}>{html.escape(r.finding)}</td>"
            f"<td {cell}><code>{html.escape(r.notebook)}</code></td></tr>" for r in self.rows)
        head = "".join(f"<th {cell}>{h}</th>" for h in ("status", "check", "finding", "read"))
        return (f"<p><b>{html.escape(self.summary())}</b></p>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")


# --------------------------------------------------------------------------- argument checks
def _as_set(value, what):
    """An ImageSet, or a folder path read with folders.load_image_folder."""
    if isinstance(value, (str, os.PathLike)):
        return folders.load_image_folder(value)
    if not is_imageset(value):
        raise TypeError(f"{what} must be an ImageSet (from course_lib.data) or the path of an image folder "
                        f"(root/<class name>/<image>.png), got {type(value).__name__}.")
    return value


def _same_task(train, other, what):
    """``other`` with the labels in train's class order; raises when its classes or image size differ."""
    if other.images.shape[1:] != train.images.shape[1:]:
        (h, w), (h2, w2) = train.images.shape[1:], other.images.shape[1:]
        raise ValueError(f"train images are {h}x{w} but {what} images are {h2}x{w2}: resize them to one size "
                         "before auditing (the course's bases take 20x20), for example as you read them: "
                         "folders.load_image_folder(root, size=(20, 20)).")
    names = [unicodedata.normalize("NFC", str(c)) for c in train.class_names]
    other_names = [unicodedata.normalize("NFC", str(c)) for c in other.class_names]
    if other_names == names:
        return other
    if set(other_names) != set(names):
        extra, missing = sorted(set(other_names) - set(names)), sorted(set(names) - set(other_names))
        raise ValueError(f"{what} has other classes than train: train has {names}, {what} has {other_names} "
                         f"(not in train: {extra}; missing from {what}: {missing}). Both sides of a split must "
                         "hold the same classes.")
    relabel = np.array([names.index(c) for c in other_names])   # same classes in another order: use train's
    return other.replace(labels=relabel[other.labels], class_names=names)


def _check_base(base, train):
    """The base's name, after checking that train's images have the size it was pretrained on."""
    name = models.base_name(base)
    size = data.load(models.BASES[name].source + "_test").images.shape[1:]
    if train.images.shape[1:] != size:
        raise ValueError(f"The base {name!r} was pretrained on {size[0]}x{size[1]} images but train images are "
                         f"{train.images.shape[1]}x{train.images.shape[2]}: resize them to {size[0]}x{size[1]} as "
                         f"you read them: folders.load_image_folder(root, size=({size[0]}, {size[1]})).")
    return name


def _is_history(value):
    return all(hasattr(value, a) for a in ("train_acc", "val_acc", "final_val_acc"))


def _check_runs(runs, frozen, control):
    """``({name: (scores, histories or None)}, roles)`` from ``runs``; raises on a bad shape.

    ``roles`` maps each name to "frozen" (the run named ``frozen``), "control"
    (the run named ``control``) or "transfer" (every other run).
    """
    example = "{'fine-tune': [0.81, 0.79, 0.84], 'frozen baseline': [...], 'from scratch': [...]}"
    if not isinstance(runs, dict) or not runs:
        raise TypeError(f"runs must be a non-empty dict of run name -> one score (or History) per seed, such as "
                        f"{example}; got {runs!r:.80}.")
    out = {}
    for name, values in runs.items():
        if not isinstance(name, str) or not name.strip():
            raise TypeError(f"The names in runs must be short strings such as 'fine-tune', got {name!r}.")
        if isinstance(values, (str, bytes, numbers.Number)) or _is_history(values) or not hasattr(values, "__iter__"):
            raise TypeError(f"runs[{name!r}] must be a list with one score or History per seed (the same seeds "
                            f"for every run), got {type(values).__name__}. Example: {example}.")
        values = values.tolist() if hasattr(values, "tolist") else list(values)   # NumPy arrays, tensors
        if len(values) < 2:
            raise ValueError(f"runs[{name!r}] has {len(values)} seed(s); the audit compares runs seed by seed and "
                             "needs at least 2 (3 is the course's habit).")
        kinds = {_is_history(v) for v in values}
        if kinds == {True}:
            for h in values:
                if not h.val_acc or not h.train_acc:
                    raise ValueError(f"A History in runs[{name!r}] has no validation accuracy: train with val=... "
                                     "so the audit can read its final score and its train-validation gap.")
            out[name] = ([float(h.final_val_acc) for h in values], values)
        elif kinds == {False}:
            out[name] = (check_scores(f"runs[{name!r}]", values, fix="Pass each run's final validation accuracy, "
                                      "or its History.").tolist(), None)
        else:
            raise TypeError(f"runs[{name!r}] mixes Histories and plain scores: give one kind per run.")
    seeds = {name: len(scores) for name, (scores, _) in out.items()}
    if len(set(seeds.values())) > 1:
        raise ValueError(f"Every run needs the same seeds, got {seeds} scores per run: run each one with the "
                         "same list of seeds so they can be compared pair by pair.")
    roles = {name: "frozen" if name == frozen else "control" if name == control else "transfer" for name in out}
    return out, roles


def _check_roles(frozen, control):
    """Raise unless ``frozen`` and ``control`` are two different run names (or None: no such run)."""
    for what, name in (("frozen", frozen), ("control", control)):
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise TypeError(f"{what} must be the name of a run in runs (such as {FROZEN_RUN!r} or {CONTROL_RUN!r}), "
                            f"or None when there is no such run; got {name!r}.")
    if frozen is not None and frozen == control:
        raise ValueError(f"frozen and control both name {frozen!r}: one run cannot be the frozen baseline and the "
                         "non-transfer control. Name each with its own run.")


# --------------------------------------------------------------------------- the checks
def _max_shift(train):
    """The largest shift the pixel distance looks through: 4 px on the course's 20x20 images, less on smaller ones."""
    return max(0, min(leaks.MAX_SHIFT, min(train.images.shape[1:]) // 5))


def _leak_threshold(train, given=None):
    """``(threshold, how it was set)`` for the near-duplicate check of train's images.

    ``given``: the learner's own threshold, used as it is.  Otherwise it is
    calibrated on train, from ``q``, the 1st percentile of the distance from
    each image to its nearest other image of another specimen (images without
    group ids count as distinct; exact copies are left out, the byte check
    finds them).  When ``LEAK_SAFETY * q`` reaches ``leaks.DEFAULT_THRESHOLD``,
    train's images are as far apart as the course's scans and the course's
    threshold is used.  Otherwise the images sit closer together (real
    handwritten digits do) and the threshold is the larger of
    ``LOOK_ALIKE_SAFETY * q`` and the ``COPY_QUANTILE`` quantile of the
    distance from a lightly augmented copy (``leaks.augmented_copies``) of
    each image to the image: so that such copies are still found when train
    itself holds copies (augmenting before splitting), which would pull ``q``
    down.  At most ``CALIBRATION_IMAGES`` images of train are used (a seeded
    sample).
    """
    if given is not None:
        return float(given), "set by you (leak_threshold)"
    sample = train
    if len(train) > CALIBRATION_IMAGES:
        pick = np.sort(np.random.default_rng(0).choice(len(train), CALIBRATION_IMAGES, replace=False))
        sample = train.subset(pick)
    shift = _max_shift(train)
    q = np.inf
    if len(sample) >= 2:
        dist = leaks.pairwise_distances(sample.images, sample.images, max_shift=shift)
        np.fill_diagonal(dist, np.inf)
        if sample.groups is not None:
            dist[np.asarray(sample.groups)[:, None] == np.asarray(sample.groups)[None, :]] = np.inf
        nearest = dist.min(axis=1)
        nearest = nearest[np.isfinite(nearest) & (nearest > 0)]
        if len(nearest):
            q = float(np.quantile(nearest, 0.01))
    if LEAK_SAFETY * q >= leaks.DEFAULT_THRESHOLD:
        return leaks.DEFAULT_THRESHOLD, ("the course's threshold: calibrated on train, whose images are as far "
                                         "apart as the course's scans")
    plain = data.ImageSet(sample.images, sample.labels, list(sample.class_names), "calibration")
    copies = leaks.augmented_copies(plain, copies=1, seed=0)
    moved = [leaks.pairwise_distances(copies.images[i:i + 1], sample.images[i:i + 1], max_shift=shift)[0, 0]
             for i in range(len(sample))]
    scale = min(leaks.DEFAULT_THRESHOLD, max(LOOK_ALIKE_SAFETY * q, float(np.quantile(moved, COPY_QUANTILE))))
    return scale, (f"calibrated on train, below the course's {leaks.DEFAULT_THRESHOLD:g} since its images sit "
                   "closer together; leak_threshold=... sets your own")


def _leak_row(train, other, what, groups=True, threshold=None):
    """Copies of ``other``'s images in train; shared groups too when ``groups`` (ids of one data set)."""
    check = f"leaks (train -> {what})"
    threshold, how = threshold if threshold is not None else _leak_threshold(train)
    shift = _max_shift(train)
    found = (leaks.find_leaks(train, other, threshold=threshold, max_shift=shift) if groups
             else leaks.find_leaks(train.images, other.images, threshold=threshold, max_shift=shift))
    frac, n = found.fraction_of_val_leaked, len(found.leaked_val)
    near = f"near copy: distance at most {threshold:.3g}, {how}"
    if frac > MAX_LEAKED_FRACTION:
        return AuditRow(check, "risk", f"{n} of {found.n_val} {what} images ({frac:.0%}) have an exact or near copy "
                        f"in train (more than {MAX_LEAKED_FRACTION:.0%}; {near}): split first, then augment, and "
                        "keep each specimen on one side.", NOTEBOOKS["leaks"])
    if found.shared_groups:
        return AuditRow(check, "risk", f"{len(found.shared_groups)} groups (specimens) have images on both sides, "
                        f"holding {found.val_in_shared_groups:.0%} of the {what} images: split with "
                        "data.split(..., how='group').", NOTEBOOKS["leaks"])
    if not groups:
        groups = "group ids not compared (a separate test set numbers its own specimens)"
    elif found.shared_groups is not None:
        groups = "no group is shared"
    else:
        groups = "no group ids, so shared specimens could not be checked"
    return AuditRow(check, "ok", f"{n} of {found.n_val} {what} images ({frac:.0%}) have a copy in train "
                    f"(at most {MAX_LEAKED_FRACTION:.0%} allowed; {near}); {groups}.", NOTEBOOKS["leaks"])


def _balance_row(sets):
    parts, risky = [], False
    for what, ds in sets:
        counts = np.array(ds.class_counts())
        low, high = int(counts.argmin()), int(counts.argmax())
        ratio = counts[low] / counts[high]
        risky |= ratio < MIN_CLASS_RATIO
        if counts[low] == counts[high]:
            parts.append(f"{what}: every class has {counts[low]} images")
            continue
        parts.append(f"{what}: smallest class {ds.class_names[low]!r} {counts[low]} images "
                     f"({counts[low] / counts.sum():.0%}), largest {ds.class_names[high]!r} {counts[high]} "
                     f"({counts[high] / counts.sum():.0%}), ratio {ratio:.2f}")
    advice = (f" (below {MIN_CLASS_RATIO}): judge by per-class recall and balanced accuracy, and weight the loss "
              "or adjust the logits." if risky else f" (at least {MIN_CLASS_RATIO} on each side).") + RULE_OF_THUMB
    return AuditRow("class balance", "risk" if risky else "ok", "; ".join(parts) + advice, NOTEBOOKS["imbalance"])


def _labels_row(train):
    counts = np.array(train.class_counts())
    low = int(counts.argmin())
    if counts[low] < FEW_LABELS:
        finding = (f"the smallest class, {train.class_names[low]!r}, has {counts[low]} labels (under {FEW_LABELS}): "
                   "few labels, so start with the base frozen (feature extraction) and fine-tune only if that "
                   "beats it.")
    else:
        finding = (f"every class has at least {counts[low]} labels ({FEW_LABELS} or more): enough to try "
                   "fine-tuning, after the frozen baseline.")
    finding += RULE_OF_THUMB
    return AuditRow("labels per class", "ok", finding, NOTEBOOKS["baseline"])


def _distance_row(base, base_name, train):
    check = "distance from the base"
    if base is None:
        return AuditRow(check, "skipped", "no base given: pass base='scans-s' (or a model from models.load_base) "
                        "to measure how far your images sit from its source data.", NOTEBOOKS["distance"])
    d = domains.feature_distance(base, train)
    if d <= FAR_DISTANCE:
        return AuditRow(check, "ok", f"your images sit at {d:.2f} from the source of {base_name!r} "
                        f"(feature distance; up to {FAR_DISTANCE:g} reads as close to it).{RULE_OF_THUMB}",
                        NOTEBOOKS["distance"])
    # Never recommend a base the course made to fail on purpose (notebook 07's conflicting base).
    ranked = domains.rank_bases(train, bases=models.OFFERED_BASES)
    closest, closest_d = ranked[0]
    if closest != base_name and closest_d < d:
        advice = f"try {closest!r} first (distance {closest_d:.2f})"
    else:
        advice = "no course base is closer, so expect little help from transfer and check it against a control"
    return AuditRow(check, "risk", f"your images sit at {d:.2f} from the source of {base_name!r} (feature "
                    f"distance; above {FAR_DISTANCE:g} means outside what it was pretrained on): {advice}."
                    f"{RULE_OF_THUMB}",
                    NOTEBOOKS["distance"])


RUN_CHECKS = ("frozen baseline", "fine-tuning vs frozen", "non-transfer control", "transfer vs control",
              "train-validation gap")


def _run_rows(runs):
    """The five rows about ``runs``: the frozen baseline, fine-tuning against it, the control, transfer against
    it, and the train-validation gap."""
    where = [NOTEBOOKS[k] for k in ("baseline", "forgetting", "control", "control", "overfitting")]
    if runs is None:
        return [AuditRow(c, "skipped", "no runs given: pass runs={'fine-tune': [...], 'frozen baseline': [...], "
                         "'from scratch': [...]}, one score or History per seed.", nb)
                for c, nb in zip(RUN_CHECKS, where)]
    runs, roles = runs
    frozen = next((n for n, r in roles.items() if r == "frozen"), None)
    control = next((n for n, r in roles.items() if r == "control"), None)
    tuned = [n for n, r in roles.items() if r == "transfer"]
    rows = [AuditRow(*row, nb) for row, nb in zip(_frozen_rows(runs, frozen, tuned) + _control_rows(runs, control)
                                                  + [_gap_row(runs, control)], where)]
    return rows


def _frozen_rows(runs, frozen, tuned):
    """``(check, status, finding)`` of the frozen-baseline row and of fine-tuning against it."""
    names = list(runs)
    if frozen is None:
        first = (RUN_CHECKS[0], "risk", f"no frozen-base run among {names}: train the head alone on the frozen base "
                 "(recipes.feature_extract) with the same seeds and add it as 'frozen baseline' (or name yours: "
                 "audit(..., frozen='its name')); with few labels it often matches fine-tuning.")
    else:
        first = (RUN_CHECKS[0], "ok", f"{frozen!r} is the frozen baseline.")
    if frozen is None or not tuned:
        missing = "no frozen baseline" if frozen is None else "no fine-tuned run besides the frozen baseline"
        return [first, (RUN_CHECKS[1], "skipped", f"{missing} to compare.")]
    verdicts = {n: compare.transfer_verdict(runs[n][0], runs[frozen][0]) for n in tuned}
    hurt = [n for n, v in verdicts.items() if v.verdict == "hurt"]
    words = {"helped": "higher on every seed", "hurt": "lower on every seed", "unclear": "the seeds disagree"}
    said = "; ".join(f"{n!r} minus {frozen!r}: {v.mean:+.3f} on average ({words[v.verdict]})"
                     for n, v in verdicts.items())
    if hurt:
        return [first, (RUN_CHECKS[1], "risk", f"{said}. {hurt[0]!r} scored below the frozen base on every seed, so "
                        "fine-tuning damaged its features: lower the learning rate (recipes.LR_FINETUNE) or keep the "
                        "base frozen.")]
    return [first, (RUN_CHECKS[1], "ok", said + ".")]


def _control_rows(runs, control):
    """``(check, status, finding)`` of the control row and of every other run against it."""
    names = list(runs)
    if control is None:
        return [(RUN_CHECKS[2], "risk", f"no from-scratch run among {names}: without it nobody can tell whether the "
                 "base helped at all; train the same model from scratch with the same seeds and add it as 'from "
                 "scratch' (or name yours: audit(..., control='its name'))."),
                (RUN_CHECKS[3], "skipped", "no non-transfer control to compare with.")]
    first = (RUN_CHECKS[2], "ok", f"{control!r} is the non-transfer control.")
    others = [n for n in names if n != control]
    if not others:
        return [first, (RUN_CHECKS[3], "skipped", "no transfer run to compare with the control.")]
    verdicts = {n: compare.transfer_verdict(runs[n][0], runs[control][0]) for n in others}
    hurt = [n for n, v in verdicts.items() if v.verdict == "hurt"]
    said = "; ".join(f"{n!r}: {v}" for n, v in verdicts.items())
    if hurt:
        return [first, (RUN_CHECKS[3], "risk", f"negative transfer: {said}. {hurt[0]!r} lost to {control!r} on "
                        "every seed: pick a closer base, or train from scratch.")]
    return [first, (RUN_CHECKS[3], "ok", said + ".")]


def _gap_row(runs, control):
    """``(check, status, finding)`` of the train-validation gap of the runs given as Histories (not the control)."""
    gaps = {n: float(np.mean([h.final_gap for h in runs[n][1]])) for n in runs
            if runs[n][1] is not None and n != control}
    if not gaps:
        return (RUN_CHECKS[4], "skipped", "no Histories among the runs (the control is not checked): pass the "
                "Histories that train.fit returns to check the train-validation gap.")
    worst = max(gaps, key=gaps.get)
    said = f"{worst!r} ends with train accuracy {gaps[worst]:.2f} above validation accuracy (mean over seeds)"
    if gaps[worst] > MAX_GAP:
        return (RUN_CHECKS[4], "risk", f"{said}, more than {MAX_GAP:g}: it memorises its training set; stop early, "
                "freeze more of the base, or pull the weights toward it (L2-SP)." + RULE_OF_THUMB)
    return (RUN_CHECKS[4], "ok", f"the largest gap: {said}, at most {MAX_GAP:g}.{RULE_OF_THUMB}")


def _recall_row(model, evalset, what):
    check = "per-class recall"
    if model is None:
        return AuditRow(check, "skipped", "no model given: pass model=... (the one you trained) to see how often "
                        "it finds each class.", NOTEBOOKS["imbalance"])
    from .train import evaluate

    ev = evaluate(model, evalset)
    present = [i for i, r in enumerate(ev.per_class) if r["support"] > 0]
    recalls = {ev.per_class[i]["name"]: ev.per_class[i]["recall"] for i in present}
    mean = float(np.mean(list(recalls.values())))
    worst = min(recalls, key=recalls.get)
    said = (f"on {what} the model finds {recalls[worst]:.0%} of class {worst!r}, against {mean:.0%} per class on "
            f"average (accuracy {ev.accuracy:.2f})")
    if recalls[worst] < MIN_RECALL_SHARE * mean:
        return AuditRow(check, "risk", f"{said}: it neglects that class; weight the loss or adjust the logits, and "
                        "report balanced accuracy.", NOTEBOOKS["imbalance"])
    return AuditRow(check, "ok", f"{said}: no class left behind (at least {MIN_RECALL_SHARE:g} of the average).",
                    NOTEBOOKS["imbalance"])


def pixel_profile(images):
    """``(polarity, level)`` of an ImageSet's images: what the preprocessing row compares.

    Taught in ``11_batchnorm_and_preprocessing``.  ``polarity`` is the share of
    images whose mean pixel is above their median pixel (near 1: bright marks
    on a dark background; near 0: dark marks on a light one); ``level`` is the
    99th percentile of the pixels as the model sees them (0..1).

    >>> from course_lib import data
    >>> scans = data.load("scans_test")
    >>> [round(v, 2) for v in pixel_profile(scans)], [round(v, 2) for v in pixel_profile(scans.replace(images=255 - scans.images))]
    ([1.0, 0.89], [0.0, 1.0])
    """
    x = images.tensors()[0].numpy().reshape(len(images), -1)
    polarity = float(np.mean(x.mean(1) > np.median(x, 1)))
    return polarity, float(np.percentile(x, 99))


def _preprocessing_row(base_name, train):
    """Train's images against the base's source: polarity and pixel range; None when there is nothing to say."""
    if base_name is None:
        return None
    card = models.BASES[base_name]
    source = data.load(card.source + "_test")
    (pol, level), (pol_src, level_src) = pixel_profile(train), pixel_profile(source)
    check, nb, said = "preprocessing vs the base", NOTEBOOKS["preprocessing"], []
    clear = not CLEAR_POLARITY <= pol_src <= 1 - CLEAR_POLARITY
    other = pol < CLEAR_POLARITY if pol_src > 0.5 else pol > 1 - CLEAR_POLARITY     # clearly the other side
    unclear = clear and not other and CLEAR_POLARITY <= pol <= 1 - CLEAR_POLARITY
    if clear and other:
        said.append(f"{pol:.0%} of your images have their mean pixel above their median pixel against "
                    f"{pol_src:.0%} of the source's ({card.source!r}): the other polarity, so invert them "
                    "(255 - images) before the base sees them")
    ratio = level / level_src if level_src > 0 else float("inf")
    if not 1 / MAX_RANGE_RATIO <= ratio <= MAX_RANGE_RATIO:
        said.append(f"your brightest pixels reach {level:.3g} (99th percentile, in the 0..1 the model sees) against "
                    f"{level_src:.3g} in the source: another range (scaled twice, or not at all?), so scale them as "
                    "the base's source was")
    wanted = f" The model card asks for: {card.preprocessing['how']}." if card.preprocessing else ""
    if said:
        return AuditRow(check, "risk", "; ".join(said) + "." + wanted, nb)
    if unclear:
        return AuditRow(check, "ok", f"your images have no clear polarity ({pol:.0%} have their mean pixel above "
                        f"their median pixel, against {pol_src:.0%} of the source's, {card.source!r}), so no flip is "
                        "called for; if they are not the kind of images the base was trained on, "
                        f"see notebook 04. Range: 99th percentile {level:.2f}, source {level_src:.2f}.{wanted}", nb)
    if card.preprocessing is None:
        return None
    return AuditRow(check, "ok", f"your images match the source of {base_name!r} in polarity ({pol:.0%} with their "
                    f"mean pixel above their median, source {pol_src:.0%}) and range (99th percentile {level:.2f}, "
                    f"source {level_src:.2f}).{wanted}", nb)


def _batchnorm_row(model):
    """The model's frozen BatchNorm layers: left in training mode, or moved from the base; None without BatchNorm."""
    layers = models.batchnorm_layers(model) if model is not None else []
    if not layers:
        return None
    check, nb = "frozen BatchNorm", NOTEBOOKS["batchnorm"]
    frozen = [i for i, layer in enumerate(layers) if not any(p.requires_grad for p in layer.parameters())]
    training = [i for i in frozen if layers[i].training]
    moved = _stats_moved(model, layers)
    moved_frozen = {i: m for i, m in moved.items() if i in frozen and m > STATS_MOVED}
    since = (f"; their running means have moved from the base's by up to {max(moved_frozen.values()):.2f} of "
             "the base's standard deviations" if moved_frozen else "")
    if training:
        updating = [i for i in training if layers[i].momentum != 0]
        what = ("every training pass normalises by the batch and updates their running statistics" if updating else
                "momentum 0 keeps the running statistics, but every training pass still normalises by the batch")
        return AuditRow(check, "risk", f"{len(training)} of {len(layers)} BatchNorm layers have frozen weights but "
                        f"are in training mode: {what}{since}. Call models.freeze_batchnorm(model) before "
                        "training.", nb)
    if moved_frozen:
        return AuditRow(check, "risk", f"{len(moved_frozen)} frozen BatchNorm layers are in eval mode now, but{since[1:]}: "
                        "they were trained in training mode. Reload the base, call models.freeze_batchnorm(model), "
                        "and train again.", nb)
    if frozen:
        return AuditRow(check, "ok", f"{len(frozen)} of {len(layers)} BatchNorm layers are frozen and in eval mode "
                        "(their running statistics stay the base's).", nb)
    return AuditRow(check, "ok", f"the {len(layers)} BatchNorm layers are trained with the rest of the model, "
                    "so their statistics may follow the new data.", nb)


def _stats_moved(model, layers):
    """``{layer index: largest change of its running mean, in the base's standard deviations}`` (empty: no base)."""
    name = getattr(model, "base_name", None)
    if name not in models.BASES:
        return {}
    with np.load(data.data_path(models.BASES[name].file), allow_pickle=False) as f:
        stored = {k: f[k] for k in f.files}
    prefix = {id(m): k for k, m in model.named_modules()}
    out = {}
    for i, layer in enumerate(layers):
        key = prefix[id(layer)]
        if key + ".running_mean" not in stored:
            continue
        mean0, var0 = stored[key + ".running_mean"], stored[key + ".running_var"]
        change = np.abs(layer.running_mean.detach().cpu().numpy() - mean0) / np.sqrt(var0 + layer.eps)
        out[i] = float(change.max())
    return out


# --------------------------------------------------------------------------- audit
def audit(train, val, *, base=None, runs=None, frozen=FROZEN_RUN, control=CONTROL_RUN, model=None, test=None,
          leak_threshold=None):
    """Run the course's checks on a split, a base and some runs; return an :class:`AuditReport`.

    Taught in ``09_capstone_decision_path``.  Give what you have: the checks
    whose input is missing are reported as ``skipped``.

    Parameters
    ----------
    train, val : ImageSet or folder path
        The two sides of your split; a path is read with
        ``folders.load_image_folder`` (``root/<class name>/<image>.png``).  Both
        must hold the same classes (in any order: val is relabelled in train's
        order) and images of one size.
    base : str or model, optional
        The base you start from (``"scans-s"``, ``"photos-l"``, or a model from
        ``models.load_base``): how far train's images sit from its source.
    runs : dict, optional
        Run name -> one final validation score per seed, or one ``History``
        per seed (the same seeds for every run), for example
        ``{"fine-tune": [...], "frozen baseline": [...], "from scratch": [...]}``
        (the names ``strategies.run_strategies`` gives its runs).
    frozen, control : str or None
        The names in ``runs`` of the frozen baseline (default ``"frozen
        baseline"``) and of the non-transfer control (default ``"from
        scratch"``); every other run is a transfer run.  Name yours, for
        example ``frozen="linear probe", control="no transfer"``; a name not
        in ``runs`` (or None) counts as that run missing, and its row says so.
    model : course model, optional
        Your trained model, for the per-class recall on ``test`` (or on ``val``).
    test : ImageSet or folder path, optional
        A held-out set: also checked for copies of train images (copies
        only: a separate test file numbers its specimens on its own, so its
        group ids are not compared with train's).
    leak_threshold : float, optional
        The distance (``leaks.find_leaks``'s pixel distance) at or below which
        an image counts as a near copy of a train image.  By default it is
        calibrated on train: the course's ``leaks.DEFAULT_THRESHOLD`` on data
        like the course's, lower for images that sit closer together; the
        leak row says which.  Measure your own with
        ``leaks.calibrate_threshold`` on images you know are distinct.

    The thresholds of the other rows (class ratio, labels per class, feature
    distance, train-validation gap, recall share) are the course's rules of
    thumb, measured on its data; each row names the notebook that explains it.

    >>> from course_lib import data
    >>> train, val = data.split(data.load("clinic"), how="group", seed=0)
    >>> runs = {"fine-tune": [0.82, 0.80, 0.84], "from scratch": [0.55, 0.58, 0.52]}
    >>> report = audit(train.take_per_class(10), val.take_per_class(10), runs=runs)
    >>> [(row.check, row.notebook) for row in report.risks]
    [('frozen baseline', '05_skipped_baseline')]
    """
    train = _as_set(train, "train")
    val = _same_task(train, _as_set(val, "val"), "val")
    if test is not None:
        test = _same_task(train, _as_set(test, "test"), "test")
    base_name = _check_base(base, train) if base is not None else None
    _check_roles(frozen, control)
    if runs is not None:
        runs = _check_runs(runs, frozen, control)
    if model is not None:
        models.check_model(model, n_classes=train.n_classes, task="train", class_names=train.class_names)
    if leak_threshold is not None:
        check_positive("leak_threshold", leak_threshold)
    threshold = _leak_threshold(train, leak_threshold)

    rows = [_leak_row(train, val, "val", threshold=threshold)]
    if test is not None:
        rows.append(_leak_row(train, test, "test", groups=False, threshold=threshold))
    rows.append(_balance_row([("train", train), ("val", val)]))
    rows.append(_labels_row(train))
    rows.append(_distance_row(base, base_name, train))
    rows += _run_rows(runs)
    rows.append(_recall_row(model, test if test is not None else val, "test" if test is not None else "val"))
    rows += [r for r in (_preprocessing_row(base_name, train), _batchnorm_row(model)) if r is not None]
    return AuditReport(f"{train.name!r} (train) and {val.name!r} (val)", rows)
