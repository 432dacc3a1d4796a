"""The answer key of 07_negative_transfer: each key accepts its own answer and refuses a wrong one."""

import pytest

from course_lib import exercises
from course_lib.answers import nb07


def verdict(key, answer, **context):
    check_fn, _, _ = key.build(**context)
    ok, message = check_fn(answer)
    assert isinstance(message, str) and message
    return ok, message


@pytest.fixture(scope="module")
def keys():
    return exercises.answer_key("07")


def runs_of(*accuracies):
    return [dict(test=a) for a in accuracies]


def test_ids_in_order(keys):
    assert list(keys) == ["07.p1", "07.p2", "07.1", "07.2", "07.3", "07.4"]
    assert [k for k in keys if keys[k].is_open] == ["07.3", "07.4"]
    assert [k for k in keys if keys[k].predict] == ["07.p1", "07.p2"]


def test_every_key_has_hint_and_solution(keys):
    for key in keys.values():
        assert key.hint.strip()
        assert callable(key.solution) or key.solution.strip()
    assert "seeds 0, 1, 2" in keys["07.4"].solution and "conclude" in keys["07.4"].solution


def test_open_solution_3_quotes_what_the_lines_print(keys):
    from course_lib.compare import transfer_verdict
    text = keys["07.3"].solution
    assert str(transfer_verdict([0.71, 0.69, 0.74], [0.66, 0.70, 0.62])) in text
    assert str(transfer_verdict([0.71, 0.69, 0.74], [0.66, 0.70, 0.62], margin=0.02)) in text


def test_verdict_function_right(keys):
    key = keys["07.1"]
    _, _, answer = key.build()
    assert verdict(key, answer)[0]

    def written(transfer, control, margin=0.0):
        d = [t - c for t, c in zip(transfer, control)]
        return "helped" if min(d) > margin else "hurt" if max(d) < -margin else "unclear"

    assert verdict(key, written)[0]


def test_verdict_function_wrong(keys):
    key = keys["07.1"]

    def by_mean(transfer, control, margin=0.0):
        m = sum(transfer) / len(transfer) - sum(control) / len(control)
        return "helped" if m > margin else "hurt" if m < -margin else "unclear"

    def tie_wins(transfer, control, margin=0.0):
        d = [t - c for t, c in zip(transfer, control)]
        return "helped" if min(d) >= margin else "hurt" if max(d) <= -margin else "unclear"

    def no_margin(transfer, control, margin=0.0):
        d = [t - c for t, c in zip(transfer, control)]
        return "helped" if min(d) > 0 else "hurt" if max(d) < 0 else "unclear"

    def two_args(transfer, control):
        return "unclear"

    def crashes(transfer, control, margin=0.0):
        return 1 / 0

    def unfinished(transfer, control, margin=0.0):
        ...

    for wrong in (by_mean, tie_wins, no_margin):
        ok, message = verdict(key, wrong)
        assert not ok and "the rule says" in message
    assert "mean is higher" in verdict(key, by_mean)[1]
    assert "margin=0.0" in verdict(key, two_args)[1]
    assert "ZeroDivisionError" in verdict(key, crashes)[1]
    assert "returned None" in verdict(key, unfinished)[1]
    assert "no brackets" in verdict(key, "helped")[1]


def test_fraction_recovered(keys):
    key = keys["07.2"]
    runs = {nb07.FINE_TUNED: runs_of(0.40, 0.40, 0.40), nb07.SCRATCH_RECIPE: runs_of(0.70, 0.72, 0.74),
            nb07.CONTROL: runs_of(0.76, 0.76, 0.76)}
    _, solution, answer = key.build(runs=runs)
    assert answer == pytest.approx(0.32 / 0.36) and "0.89" in solution
    assert verdict(key, 0.89, runs=runs)[0]
    assert not verdict(key, 0.32, runs=runs)[0]          # the recovered accuracy, not the fraction
    assert not verdict(key, 0.11, runs=runs)[0]          # the part left, not the part recovered


def test_prediction_above_or_below(keys):
    key = keys["07.p1"]
    negative = dict(control=runs_of(0.73, 0.80, 0.76), transfer=runs_of(0.37, 0.40, 0.43))
    assert verdict(key, "above", **negative)[0] and not verdict(key, "below", **negative)[0]
    _, solution, _ = key.build(**negative)
    assert "negative transfer" in solution
    flipped = dict(control=runs_of(0.3, 0.3), transfer=runs_of(0.4, 0.4))
    assert verdict(key, "below", **flipped)[0]
    assert "not that test" in key.build(**flipped)[1]


def test_prediction_closer_or_as_far(keys):
    key = keys["07.p2"]
    closer = dict(fine_tuned=runs_of(0.40, 0.40), scratch_recipe=runs_of(0.70, 0.72), control=runs_of(0.76, 0.76))
    assert verdict(key, "closer", **closer)[0] and not verdict(key, "as far", **closer)[0]
    far = dict(fine_tuned=runs_of(0.40, 0.40), scratch_recipe=runs_of(0.45, 0.45), control=runs_of(0.76, 0.76))
    assert verdict(key, "As far", **far)[0]


def test_prediction_flow(capsys, monkeypatch):
    monkeypatch.setenv(exercises.SELF_CHECK_ENV, "1")
    exercises.exercise("07.p1").check("below")
    exercises.exercise("07.p1").reveal(control=runs_of(0.76, 0.76), transfer=runs_of(0.4, 0.4))
    out = capsys.readouterr().out
    assert "Prediction noted" in out and "off" in out and "0.760" in out


def test_reference_matches_transfer_verdict():
    from course_lib.compare import transfer_verdict
    for transfer, control, margin, _ in nb07.VERDICT_CASES:
        assert nb07.reference_verdict(transfer, control, margin) == \
            transfer_verdict(transfer, control, margin=margin).verdict


def test_prediction_2_solution_when_the_base_overtakes(keys):
    over = dict(fine_tuned=runs_of(0.30, 0.30), scratch_recipe=runs_of(0.50, 0.52), control=runs_of(0.40, 0.40))
    assert "even ends above the control" in keys["07.p2"].build(**over)[1]
    under = dict(fine_tuned=runs_of(0.40, 0.40), scratch_recipe=runs_of(0.70, 0.72), control=runs_of(0.76, 0.76))
    assert "not all the way" in keys["07.p2"].build(**under)[1]
