"""Answer key for ``11_batchnorm_and_preprocessing``.

The open exercises' solutions quote results measured with the notebook's own settings (SEED = 0, so
seeds 0, 1, 2; FAST = False; COURSE_THREADS=1).  The predictions are about claims that the notebook's
lesson checks assert, which hold at every one of the 20 seed sets of `make bench`.

``to_card_check`` is the behaviour check of exercise 11.2: it calls the learner's function on cases
and says which one failed, and why.
"""

import numpy as np

from ..exercises import Key, close_to, one_of


def _mean(runs):
    return float(np.mean([r["test"] for r in runs]))


# --------------------------------------------------------------------------- prediction 1 (section 2)
def _p1_answer(naive, fixed):
    gap = _mean(naive) - _mean(fixed)
    return "level" if abs(gap) <= 0.05 else "above" if gap > 0 else "below"


def _p1_solution(naive, fixed):
    return (f"{_p1_answer(naive, fixed).capitalize()}: freeze only scored {_mean(naive):.3f}, freeze_batchnorm "
            f"{_mean(fixed):.3f} (test accuracy, mean over {len(naive)} seeds). Every parameter was frozen in both; "
            "the naive run's BatchNorm layers were in training mode, so each scan was normalised by its own "
            "statistics while the head learned. The last BatchNorm layer sits just before the global average pool: "
            "standardising each channel over one scan's own positions leaves the pooled features nothing of how "
            "strongly the channel fired, so the head could learn almost nothing (its training accuracy stays near "
            "chance), and at test time it meets other features again (the moved running statistics). Over the 20 "
            "seed sets of `make bench`, freeze_batchnorm won by 0.25 or more every time.")


# --------------------------------------------------------------------------- prediction 2 (section 3)
def _best_tune(prep):
    """The better of the fine-tunings measured (``fine-tuned``, and ``fine-tuned + freeze_batchnorm`` when run)."""
    tunes = [k for k in ("fine-tuned", "fine-tuned + freeze_batchnorm") if k in prep]
    return max(tunes, key=lambda k: np.mean(prep[k]))


def _p2_answer(prep):
    return "matched probe" if np.mean(prep["matched probe"]) > np.mean(prep[_best_tune(prep)]) else "fine-tuned"


def _p2_solution(prep):
    m = {k: float(np.mean(v)) for k, v in prep.items()}
    tunes = ", ".join(f"{k} {m[k]:.3f}" for k in ("fine-tuned", "fine-tuned + freeze_batchnorm") if k in m)
    return (f"The {_p2_answer(prep)} scored higher: matched probe {m['matched probe']:.3f} against the better "
            f"fine-tuning, {_best_tune(prep)} {m[_best_tune(prep)]:.3f} ({tunes}; probe as they come "
            f"{m['probe as they come']:.3f}; clinic B test accuracy, mean over {len(prep['fine-tuned'])} seeds). "
            "Plain fine-tuning also trains BatchNorm on clinic B's flipped batches, a trouble of its own: "
            "with freeze_batchnorm the comparison is fair, and the flip still wins. Flipping the scans back gives "
            "the base the images it was trained on; 25 labelled scans cannot teach every layer a new polarity. "
            "Read the card before you train.")


# --------------------------------------------------------------------------- exercise 1
def _n_statistics(model):
    from ..models import batchnorm_layers
    return sum(2 * layer.num_features for layer in batchnorm_layers(model))


def _ex1_solution(model):
    from ..models import batchnorm_layers
    sizes = [layer.num_features for layer in batchnorm_layers(model)]
    return (f"answer = {_n_statistics(model)}: the three BatchNorm layers have {sizes} channels, and each channel "
            "keeps a running mean and a running variance: 2 x (" + " + ".join(map(str, sizes)) + "). They are "
            "buffers, not parameters, so requires_grad cannot freeze them: "
            "sum(2 * layer.num_features for layer in models.batchnorm_layers(model)).")


# --------------------------------------------------------------------------- exercise 2
def reference_to_card(images):
    """Bright marks on a dark background: flip a set whose images are mostly darker than their median."""
    images = np.asarray(images)
    flat = images.reshape(len(images), -1).astype(np.float64)
    bright = np.mean(flat.mean(1) > np.median(flat, 1))
    return 255 - images if bright < 0.5 else images


def _cases():
    from .. import data
    scans = data.load("scans_test").images[:50]
    clinic = data.load("clinic").images[:50]
    return [("lab scans (already as the card asks)", scans, scans),
            ("lab scans, flipped", 255 - scans, scans),
            ("clinic scans", clinic, clinic),
            ("clinic B (flipped clinic scans)", 255 - clinic, clinic)]


def to_card_check(fn):
    """Exercise 11.2: ``fn(images)`` must return bright-on-dark uint8 images, flipping only the sets that need it."""
    if not callable(fn):
        return False, f"Pass your function itself, to_card (not its result), got {type(fn).__name__}."
    for name, given, expected in _cases():
        try:
            out = fn(given.copy())
        except Exception as err:      # the learner's code: report, do not crash the notebook
            return False, f"On {name}, to_card raised {type(err).__name__}: {err}"
        if out is None:
            return False, "to_card returned None: end it with return ..."
        out = np.asarray(out)
        if out.shape != expected.shape:
            return False, f"On {name}, to_card returned shape {out.shape}, expected {expected.shape}."
        if not np.array_equal(out.astype(np.int64), expected.astype(np.int64)):
            flipped = np.array_equal(out.astype(np.int64), 255 - expected.astype(np.int64))
            why = "it is still the other polarity" if flipped else "the pixels are not the expected ones"
            return False, f"On {name}, {why}: flip (255 - images) only a set that is mostly dark marks on light."
    return True, "Right: sets already bright on dark are kept, flipped ones are flipped back."


# --------------------------------------------------------------------------- open exercises
BATCH2_SOLUTION = """\
two = [run(BASE, s, batch_size=2) for s in SEEDS], [run(BASE, s, setup=models.freeze_batchnorm, batch_size=2)
                                                   for s in SEEDS]
print(np.array(acc(two[1])) - np.array(acc(two[0])))

Measured at seeds 0, 1, 2 (5 labels per class, 10 epochs, augmentation, one thread), clinic test accuracy:

                         seed 0   seed 1   seed 2
    freeze only          0.720    0.664    0.683
    freeze_batchnorm     0.776    0.779    0.692
    difference           +0.056   +0.114   +0.009

    (section 2's table, freeze_batchnorm minus freeze only: batch 1 +0.526 / +0.536 / +0.367,
     batch 5 +0.002 / +0.027 / -0.008)

At two scans per batch the cost is already much closer to batch 5's than to batch 1's: a mean of +0.060, and
positive at every seed, but small at seed 2. The layer that matters is the last BatchNorm, just before the global
average pool (keeping only that one in eval mode already rescues most of batch 1's loss): two scans give it a mean
and variance over 2 x 25 positions per channel, which keep the difference between the two scans; one scan gives its
own statistics, which remove how strongly each channel fired in it, and with it what distinguishes the scan. Larger images (more pixels per channel) make one image's statistics steadier,
but also make them that image's own: the per-image normalisation stays. What to conclude: the naive loop is not
always a disaster, which is exactly why it is dangerous; freeze_batchnorm costs nothing at any batch size. (Three
seeds at one setting: a pattern, not a law.)"""

FINETUNE_SOLUTION = """\
def tuned(seed, setup=None):
    seed_everything(seed)
    few = clinic.take_per_class(LABELS_PER_CLASS, seed=seed)
    model = models.load_base(BASE, n_classes=5)
    if setup is not None:
        setup(model)
    recipes.fine_tune(model, few, batch_size=1, seed=seed)
    return train.evaluate(model, test).accuracy

print([tuned(s) for s in SEEDS], [tuned(s, models.freeze_batchnorm) for s in SEEDS])

Measured at seeds 0, 1, 2 (5 labels per class, the fine_tune recipe: 20 epochs of the head, then 20 of every
layer at LR_FINETUNE, batch 1, one thread), clinic test accuracy:

                                  seed 0   seed 1   seed 2
    fine-tuned                    0.814    0.794    0.648
    fine-tuned, freeze_batchnorm  0.787    0.801    0.739

The seeds disagree (-0.027, +0.007, +0.091): no clear answer here. When every layer trains, the convolutions can
adapt to whatever normalisation they get, so training-mode BatchNorm is not the failure it was with a frozen
backbone; keeping the base's statistics still protected the worst seed. What to conclude: freeze_batchnorm is the
rule for a frozen (or partly frozen) backbone; for full fine-tuning it is a choice to measure on your own data,
and with batches of one or two it is the usual choice (torchvision's detection models freeze BatchNorm for that
reason)."""


KEYS = [
    Key("11.p1", predict=True, needs=("naive", "fixed"),
        check=lambda naive, fixed: one_of([_p1_answer(naive, fixed)]),
        answer=_p1_answer,
        hint="In training mode, what does a BatchNorm layer divide one scan by, when the batch is that one scan? And "
             "what does it divide by at test time?",
        solution=_p1_solution),
    Key("11.p2", predict=True, needs=("prep",),
        check=lambda prep: one_of([_p2_answer(prep)]),
        answer=_p2_answer,
        hint="Fine-tuning has 25 scans to relearn what light and dark mean in every layer; the flip takes one line.",
        solution=_p2_solution),
    Key("11.1", needs=("model",),
        check=lambda model: close_to(_n_statistics(model), tol=0.5),
        answer=_n_statistics,
        hint="models.batchnorm_layers(model) lists the layers; each has num_features channels, and each channel "
             "keeps two running numbers.",
        solution=_ex1_solution),
    Key("11.2",
        check=to_card_check,
        answer=lambda: reference_to_card,
        hint="Per image, compare its mean with its median: bright marks on a dark background pull the mean above "
             "the median. Flip the whole set when most images say the other thing.",
        solution="def to_card(images):\n"
                 "    flat = images.reshape(len(images), -1).astype(float)\n"
                 "    bright = np.mean(flat.mean(1) > np.median(flat, 1))\n"
                 "    return 255 - images if bright < 0.5 else images\n\n"
                 "The sparse bright marks of a scan lift its mean above its median (the background); flipped, the "
                 "mean falls below it. Decide per set, not per image: a set comes from one scanner."),
    Key("11.3",
        hint="Keep everything else as in section 2 (seeds, epochs, augmentation) and change only batch_size.",
        solution=BATCH2_SOLUTION),
    Key("11.4",
        hint="Fine-tuning trains BatchNorm's scale and shift too; compare the two runs seed by seed.",
        solution=FINETUNE_SOLUTION),
]
