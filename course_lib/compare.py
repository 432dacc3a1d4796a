"""Did transfer help? Compare a transfer result with its non-transfer control, seed by seed.

Taught in ``07_negative_transfer`` (and usable on any pair of runs).  A
transfer result means nothing on its own: 0.70 accuracy is good news if a model
trained from scratch reaches 0.55 and bad news if it reaches 0.80.  So run both
with the same seeds (the same labels, the same budget) and compare them pair by
pair.  :func:`transfer_verdict` does that and says, in one line, whether
transfer helped, hurt (*negative transfer*), or whether the seeds disagree.

The rule is deliberately simple, so that a learner can check it by eye: with
``d`` the per-seed differences (transfer minus control, flipped when lower is
better),

* **helped** when every seed's ``d`` is above ``margin``;
* **hurt** when every seed's ``d`` is below ``-margin``;
* **unclear** otherwise: the seeds disagree, so run more seeds (or accept that
  the two are about the same).

>>> from course_lib.compare import transfer_verdict
>>> v = transfer_verdict([0.82, 0.79, 0.85], [0.61, 0.66, 0.58])
>>> print(v)
transfer helped: +0.203 accuracy (seeds: +0.130 .. +0.270; 3 of 3 better by more than 0)
>>> v.verdict, v.wins, round(v.mean, 3)
('helped', 3, 0.203)
>>> print(transfer_verdict([0.52, 0.55, 0.50], [0.61, 0.66, 0.58]))
transfer hurt: -0.093 accuracy (seeds: -0.110 .. -0.080; 0 of 3 better by more than 0)
"""

import numbers
import statistics
from dataclasses import dataclass

from ._checks import check_scores

__all__ = ["Verdict", "transfer_verdict"]


@dataclass(frozen=True)
class Verdict:
    """What :func:`transfer_verdict` found.  Taught in ``07_negative_transfer``.

    ``differences`` holds one value per seed (transfer minus control, in the
    direction where positive is better); ``mean``, ``sd``, ``low`` and ``high``
    summarise them; ``wins`` counts the seeds better by more than ``margin``.
    """

    verdict: str
    differences: tuple
    margin: float
    metric: str

    @property
    def n_seeds(self):
        return len(self.differences)

    @property
    def mean(self):
        return statistics.fmean(self.differences)

    @property
    def sd(self):
        return statistics.stdev(self.differences)

    @property
    def low(self):
        return min(self.differences)

    @property
    def high(self):
        return max(self.differences)

    @property
    def wins(self):
        return sum(d > self.margin for d in self.differences)

    def __str__(self):
        return (f"transfer {self.verdict}: {self.mean:+.3f} {self.metric} (seeds: {self.low:+.3f} .. "
                f"{self.high:+.3f}; {self.wins} of {self.n_seeds} better by more than {self.margin:g})")


def _scores(name, values):
    """``values`` as a list of finite floats (a list, tuple, NumPy array or 1-d tensor)."""
    return check_scores(name, values, fix="Pass the final metric of each run, for example hist.val_acc[-1].").tolist()


def transfer_verdict(transfer, control, *, margin=0.0, higher_is_better=True, metric="accuracy"):
    """Compare per-seed scores of a transfer run with its non-transfer control.

    Taught in ``07_negative_transfer``.

    Parameters
    ----------
    transfer, control : sequences of numbers
        One final score per seed, in the same seed order: ``transfer[i]`` and
        ``control[i]`` must come from runs that share seed ``i`` (the same
        labels and budget).  At least two seeds: one seed cannot show a spread.
    margin : float, default 0
        How much better (or worse) a seed must be to count; a small positive
        margin ignores differences too small to matter.
    higher_is_better : bool, default True
        False for losses and errors: the differences are then flipped so that
        positive still means "transfer did better".
    metric : str
        The name printed with the numbers.

    Returns a :class:`Verdict` whose ``verdict`` is ``"helped"``, ``"hurt"``
    or ``"unclear"`` (see the module docstring for the rule).

    >>> print(transfer_verdict([0.31, 0.35], [0.40, 0.38], higher_is_better=False, metric="loss"))
    transfer helped: +0.060 loss (seeds: +0.030 .. +0.090; 2 of 2 better by more than 0)
    """
    t, c = _scores("transfer", transfer), _scores("control", control)
    if len(t) != len(c):
        raise ValueError(f"transfer has {len(t)} scores but control has {len(c)}: give one score per seed for "
                         "both, from runs that share each seed.")
    if len(t) < 2:
        raise ValueError(f"Need at least 2 seeds to compare runs, got {len(t)}: one seed cannot tell a real "
                         "difference from luck. Repeat both runs with 3 or more seeds.")
    if isinstance(margin, bool) or not isinstance(margin, numbers.Real) or not margin >= 0:
        raise ValueError(f"margin must be a number, 0 or more, got {margin!r}.")
    if not isinstance(higher_is_better, bool):
        raise TypeError(f"higher_is_better must be True or False, got {higher_is_better!r}.")
    if not isinstance(metric, str) or not metric.strip():
        raise ValueError(f"metric must be a short name such as 'accuracy', got {metric!r}.")
    sign = 1.0 if higher_is_better else -1.0
    diffs = tuple(round(sign * (a - b), 12) for a, b in zip(t, c))
    if all(d > margin for d in diffs):
        verdict = "helped"
    elif all(d < -margin for d in diffs):
        verdict = "hurt"
    else:
        verdict = "unclear"
    return Verdict(verdict, diffs, float(margin), metric)
