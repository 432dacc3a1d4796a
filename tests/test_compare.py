"""course_lib.compare: the transfer-vs-control verdict (notebook 07)."""

import numpy as np
import pytest
import torch

from course_lib.compare import transfer_verdict


@pytest.mark.parametrize("transfer, control, verdict, wins", [
    ([0.8, 0.7, 0.9], [0.5, 0.6, 0.4], "helped", 3),
    ([0.4, 0.5, 0.3], [0.6, 0.6, 0.6], "hurt", 0),
    ([0.7, 0.5, 0.6], [0.6, 0.6, 0.6], "unclear", 1),
    ([0.6, 0.6], [0.6, 0.6], "unclear", 0),          # a tie is neither
])
def test_verdicts_follow_the_per_seed_rule(transfer, control, verdict, wins):
    v = transfer_verdict(transfer, control)
    assert (v.verdict, v.wins, v.n_seeds) == (verdict, wins, len(transfer))
    assert v.mean == pytest.approx(np.mean(np.subtract(transfer, control)))
    assert v.low <= v.mean <= v.high


def test_margin_turns_small_wins_into_unclear():
    assert transfer_verdict([0.62, 0.63, 0.61], [0.60, 0.60, 0.60]).verdict == "helped"
    v = transfer_verdict([0.62, 0.63, 0.61], [0.60, 0.60, 0.60], margin=0.02)
    assert v.verdict == "unclear" and v.wins == 1
    assert "better by more than 0.02" in str(v)


def test_lower_is_better_flips_the_sign():
    v = transfer_verdict([0.9, 1.0], [1.5, 1.4], higher_is_better=False, metric="loss")
    assert v.verdict == "helped" and v.mean == pytest.approx(0.5)
    assert str(v).startswith("transfer helped: +0.500 loss")


def test_arrays_and_tensors_are_accepted():
    v = transfer_verdict(np.array([0.8, 0.9]), torch.tensor([0.5, 0.6]))
    assert v.verdict == "helped" and v.sd == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(transfer=[0.8, 0.7], control=[0.5]), ValueError, "transfer has 2 scores but control has 1"),
    (dict(transfer=[0.8], control=[0.5]), ValueError, "at least 2 seeds"),
    (dict(transfer=[], control=[]), ValueError, "transfer is an empty list"),
    (dict(transfer="0.8 0.7", control=[0.5, 0.6]), TypeError, "list of numbers, one score per seed"),
    (dict(transfer=0.8, control=[0.5, 0.6]), TypeError, "list of numbers, one score per seed"),
    (dict(transfer=[0.8, float("nan")], control=[0.5, 0.6]), ValueError, "contains nan, not a finite number"),
    (dict(transfer=[0.8, "high"], control=[0.5, 0.6]), TypeError, "must hold numbers.*'high'"),
    (dict(transfer=[0.8, 0.7], control=[0.5, 0.6], margin=-0.1), ValueError, "margin must be a number, 0 or more"),
    (dict(transfer=[0.8, 0.7], control=[0.5, 0.6], higher_is_better="yes"), TypeError, "True or False"),
    (dict(transfer=[0.8, 0.7], control=[0.5, 0.6], metric=""), ValueError, "metric must be a short name"),
])
def test_bad_input_is_explained(kwargs, error, message):
    with pytest.raises(error, match=message):
        transfer_verdict(**kwargs)
