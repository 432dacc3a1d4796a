"""Answer key for ``03_class_imbalance``.

Besides the keys, one check helper of this notebook's own: ``threshold_check`` checks the learner's
``flag_threshold(prior_flag, tau)`` (exercise 03.4) by calling it on a few cases.
"""

import math

import numpy as np

from ..exercises import Key, close_to, one_of

_DOWN = ["fall", "falls", "fell", "lower", "down", "drop", "drops", "decrease", "decreases"]
_UP = ["rise", "rises", "rose", "higher", "up", "increase", "increases"]


def _flag_recall_check(flag_recall):
    return one_of(["at most half", "half or less", "less than half", "no"] if flag_recall <= 0.5
                  else ["most", "more than half", "yes"])


def _precision_change(digit_runs):
    return float(np.mean([r["adjusted"].per_class[1]["precision"] - r["plain"].per_class[1]["precision"]
                          for r in digit_runs.values()]))


def _recall_change(digit_runs):
    return float(np.mean([r["adjusted"].recall[1] - r["plain"].recall[1] for r in digit_runs.values()]))


def _flag_share(batch):
    labels = np.asarray(batch.labels)
    return float(np.mean(labels == 1))


def reference_threshold(prior_flag, tau=1.0):
    """The probability of 'flag' above which the tau-adjusted argmax flags a scan (two classes)."""
    ratio = (prior_flag / (1 - prior_flag)) ** tau
    return ratio / (1 + ratio)


THRESHOLD_CASES = [(0.05, 1.0), (0.05, 0.0), (0.2, 2.0), (0.5, 1.5), (0.3, 0.5)]


def threshold_check(fn):
    """Check a learner's ``flag_threshold(prior_flag, tau)`` on a few cases; say which case failed."""
    if not callable(fn):
        return False, (f"got {type(fn).__name__} {fn!r:.40}, but the answer is your function itself: "
                       "pass flag_threshold, without brackets.")
    for prior_flag, tau in THRESHOLD_CASES:
        call = f"flag_threshold({prior_flag}, tau={tau})"
        try:
            got = fn(prior_flag, tau)
        except Exception as exc:   # the learner's code: feedback, not a traceback
            return False, f"{call} raised {type(exc).__name__}: {exc}"
        if got is Ellipsis or got is None:
            return False, f"{call} returned {got!r}: write the function's body so that it returns a number."
        try:
            value = float(got)
        except (TypeError, ValueError):
            return False, f"{call} returned {got!r:.40}, but it should return one probability (a number)."
        want = reference_threshold(prior_flag, tau)
        if not math.isfinite(value) or abs(value - want) > 1e-6:
            return False, (f"{call} returned {value:.4g}, which is too {'high' if value > want else 'low'}. "
                           "Try the cases you know first: tau = 0 adjusts nothing, and tau = 1 gives the "
                           "threshold of exercise 2.")
    return True, f"flag_threshold agrees with the adjusted argmax on {len(THRESHOLD_CASES)} cases."


def _p1_solution(flag_recall):
    return (f"{'At most half' if flag_recall <= 0.5 else 'Most'}. Over the seeds the plain model found {flag_recall:.0%} of the flags on average, while "
            "its accuracy stayed within a few points of the do-nothing model's. The loss is a mean over "
            "scans and 95 of every 100 say 'other', so the head learns to answer 'other' unless a scan looks "
            "very much like a flag; accuracy, which counts every scan once, barely notices the missed flags. "
            "Over the 20 seed sets of `make bench` the mean flag recall stayed below 0.5 every time "
            "(the lesson check 'most flags are missed').")


def _p2_solution(digit_runs):
    return (f"It {'falls' if _precision_change(digit_runs) < 0 else 'rises'}. Logit adjustment lowers the threshold on p(8) from 0.5 to the training share of 8s, "
            f"so more images are flagged: the recall of 8 changed by {_recall_change(digit_runs):+.2f} and its "
            f"precision by {_precision_change(digit_runs):+.2f} (means over the seeds). Most images are not 8s, "
            "so the extra alarms are mostly false ones. Lowering a threshold can only keep or raise recall; "
            "precision is not bound to fall (it rises if the newly flagged images are mostly 8s), but here they "
            "were mostly not. "
            "Over the 20 seed sets of `make bench` precision fell every time (lesson check 'and costs "
            "precision').")


def _ex2_solution(batch):
    share = _flag_share(batch)
    n_flags = int(np.sum(np.asarray(batch.labels) == 1))
    return (f"answer = {share:.4f}: the share of flags in the training batch ({n_flags} of {len(batch)} scans), "
            "also imbalance.class_prior(batch.labels)[1].\n"
            "Why: the adjusted logits are z_k - log(prior_k), so the adjusted odds are "
            "p(flag)/p(other) * prior(other)/prior(flag). They exceed 1 when p(flag)/p(other) > "
            "prior(flag)/prior(other); with p(other) = 1 - p(flag) that is p(flag) > prior(flag).")


THRESHOLD_SOLUTION = """\
def flag_threshold(prior_flag, tau=1.0):
    ratio = (prior_flag / (1 - prior_flag)) ** tau      # the odds the adjusted argmax asks p(flag) to beat
    return ratio / (1 + ratio)

Why: the adjusted logits are z_k - tau * log(prior_k), so a scan is flagged when
z_flag - z_other > tau * log(prior_flag / prior_other), that is when the odds p/(1-p) exceed
(prior_flag / prior_other) ** tau. Turning odds r back into a probability gives r / (1 + r).
tau = 0 gives 0.5 (the plain argmax), tau = 1 gives prior_flag (exercise 2), and larger tau lower it further.

Where each tau lands (the sweep: logits = train.predict_logits(plain[s], test); prior = class_prior of
batches[s]; flag when imbalance.logit_adjust(logits, prior, tau).argmax(1) == 1), flag recall / precision on
the test set, measured at seeds 0, 1, 2 with the notebook's settings (50 epochs, one thread):

    tau     0           0.5         1           1.5         2
    seed 0  0.17/0.26   0.33/0.21   0.50/0.18   0.60/0.13   0.67/0.10
    seed 1  0.17/0.78   0.29/0.41   0.55/0.27   0.74/0.18   0.88/0.14
    seed 2  0.38/0.70   0.67/0.38   0.86/0.24   0.88/0.14   0.95/0.11

At every seed a larger tau walks down the same precision-recall curve: recall rises and precision falls.
tau is a threshold knob, not a free lunch; which point is right depends on what a miss costs compared with
a false alarm, and it should be chosen on validation data, as in section 8."""


REBALANCE_SOLUTION = """\
for kind in ("inverse", "sqrt", "effective"):
    model = train_probe(batch, SEED, class_weights=imbalance.class_weights(batch.labels, kind=kind))
    print(kind, train.evaluate(model, test).balanced_accuracy)
print("oversample", train.evaluate(train_probe(imbalance.oversample(batch, seed=SEED), SEED), test).balanced_accuracy)
EPOCHS = 150      # then train_probe(...) plain and weighted again; set EPOCHS = 50 afterwards

Measured on each seed's first batch (3 flags among 67 scans), the 95/5 test set, 50 epochs, one thread;
balanced accuracy:

             plain   inverse  sqrt    effective  oversample
    seed 0   0.571   0.646    0.613   0.646      0.658
    seed 1   0.582   0.654    0.603   0.654      0.669
    seed 2   0.686   0.728    0.697   0.728      0.761

Plain model at 150 epochs: 0.625, 0.618, 0.652. Gain of the inverse-weighted loss over the plain model,
50 vs 150 epochs:
    seed 0: +0.075 -> +0.024    seed 1: +0.071 -> +0.018    seed 2: +0.042 -> +0.078

What to conclude, no more than three seeds show:
- every rebalancing raised balanced accuracy a little at all three seeds; "sqrt" is the gentlest and gains least;
- "effective" gave the same balanced accuracy as "inverse" to three decimals: with beta = 0.999 and counts of
  3 and 64, (1 - beta) / (1 - beta**n) is within 3% of 1 / n, so the two weightings nearly coincide on a batch
  this small (a flag weighs 20.7 times an 'other' scan against 21.3);
- oversampling did slightly better than the weighted loss at these seeds (repeating 3 images 20 times is
  close to weighting them 20 times, but the batches see them more often);
- longer training raised the plain model at two seeds (0.571 -> 0.625, 0.582 -> 0.618) and lowered it at the
  third (0.686 -> 0.652); the weighted loss's gain shrank at the first two and grew at the third, where the plain
  model fell. A hint, not a result, that reweighting a handful of images matters less the longer a head trains
  (as Byrd & Lipton found), perhaps because the head soon separates those few images anyway (not measured here).
  Logit adjustment (section 5) gained more than any of these at a handful of flags."""


KEYS = [
    Key("03.p1", predict=True, needs=("flag_recall",),
        check=_flag_recall_check,
        answer=lambda flag_recall: "at most half" if flag_recall <= 0.5 else "most",
        hint="Think about what the loss rewards when 95 of every 100 training scans say 'other'.",
        solution=_p1_solution),
    Key("03.p2", predict=True, needs=("digit_runs",),
        check=lambda digit_runs: one_of(_DOWN if _precision_change(digit_runs) < 0 else _UP),
        answer=lambda digit_runs: "fall" if _precision_change(digit_runs) < 0 else "rise",
        hint="Precision is the share of alarms that are right. A lower threshold adds alarms: which images are "
             "the newly flagged ones likely to be, in a set where 8s are 5%?",
        solution=_p2_solution),
    Key("03.1",
        check=close_to(0.98, tol=0.001),
        answer=0.98,
        hint="The do-nothing model is right on every negative and wrong on every positive.",
        solution="answer = 0.98: the share of negatives. Check it with imbalance.majority_baseline, or by hand: "
                 "98 of every 100 test images are negatives, and it calls all of them negative."),
    Key("03.2", needs=("batch",),
        check=lambda batch: close_to(_flag_share(batch), tol=0.002),
        answer=_flag_share,
        hint="Subtracting log(prior) from both logits changes the odds p(flag)/p(other) by a factor "
             "prior(other)/prior(flag). When do the adjusted odds exceed 1? Then count the flags of section 1.",
        solution=_ex2_solution),
    Key("03.3",
        hint="Reuse train_probe and change one thing at a time; compare balanced accuracy at all three seeds "
             "(batches[s]), not only at SEED. For the longer run, set EPOCHS and set it back afterwards.",
        solution=REBALANCE_SOLUTION),
    Key("03.4",
        check=threshold_check,
        answer=lambda: reference_threshold,     # a callable answer is called with the context: wrap it
        hint="A scan is flagged when the adjusted flag logit beats the adjusted other logit. Write that as a "
             "condition on z_flag - z_other, remember that p/(1-p) = exp(z_flag - z_other), and turn the odds "
             "back into a probability.",
        solution=THRESHOLD_SOLUTION),
]
