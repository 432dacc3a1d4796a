"""The answer key of 11_batchnorm_and_preprocessing: each key accepts its own answer and refuses a wrong one."""

import numpy as np
import pytest

from course_lib import data, exercises, models
from course_lib.answers import nb11


def verdict(key, answer, **context):
    check_fn, _, _ = key.build(**context)
    ok, message = check_fn(answer)
    assert isinstance(message, str) and message
    return ok, message


@pytest.fixture(scope="module")
def keys():
    return exercises.answer_key("11")


def runs_of(*accuracies):
    return [dict(test=a) for a in accuracies]


def test_ids_in_order(keys):
    assert list(keys) == ["11.p1", "11.p2", "11.1", "11.2", "11.3", "11.4"]
    assert [k for k in keys if keys[k].is_open] == ["11.3", "11.4"]
    assert [k for k in keys if keys[k].predict] == ["11.p1", "11.p2"]


def test_every_key_has_hint_and_solution(keys):
    for key in keys.values():
        assert key.hint.strip()
        assert callable(key.solution) or key.solution.strip()
    for k in ("11.3", "11.4"):
        assert "seeds 0, 1, 2" in keys[k].solution and "conclude" in keys[k].solution


def test_prediction_1_follows_the_measurement(keys):
    naive, fixed = runs_of(0.25, 0.22, 0.29), runs_of(0.77, 0.75, 0.66)
    assert verdict(keys["11.p1"], "below", naive=naive, fixed=fixed)[0]
    assert not verdict(keys["11.p1"], "above", naive=naive, fixed=fixed)[0]
    assert verdict(keys["11.p1"], "level", naive=runs_of(0.74, 0.75), fixed=runs_of(0.75, 0.76))[0]


def test_prediction_2_follows_the_measurement(keys):
    prep = {"probe as they come": [0.5, 0.48], "fine-tuned": [0.36, 0.49], "matched probe": [0.77, 0.80]}
    assert verdict(keys["11.p2"], "matched probe", prep=prep)[0]
    assert not verdict(keys["11.p2"], "fine-tuned", prep=prep)[0]
    assert "0.785" in keys["11.p2"].solution(prep=prep)
    # the better fine-tuning is the one compared: here freeze_batchnorm's, above the matched probe
    prep = dict(prep, **{"fine-tuned + freeze_batchnorm": [0.80, 0.82]})
    assert verdict(keys["11.p2"], "fine-tuned", prep=prep)[0]
    assert not verdict(keys["11.p2"], "matched probe", prep=prep)[0]
    assert "fine-tuned + freeze_batchnorm 0.810" in keys["11.p2"].solution(prep=prep)


def test_exercise_1_counts_the_running_statistics(keys):
    model = models.build("small-bn", n_classes=5)
    assert verdict(keys["11.1"], 224, model=model)[0]
    assert not verdict(keys["11.1"], 112, model=model)[0]          # the means only
    assert not verdict(keys["11.1"], 23408, model=model)[0]        # the parameters


def test_exercise_2_reference_passes_and_wrong_functions_fail(keys):
    key = keys["11.2"]
    _, _, answer = key.build()
    assert verdict(key, answer)[0]
    assert not verdict(key, lambda images: 255 - images)[0]                  # flips every set
    assert not verdict(key, lambda images: images)[0]                         # never flips
    assert not verdict(key, lambda images: None)[1].startswith("Right")
    assert "raised" in verdict(key, lambda images: images.nope)[1]
    per_image = lambda x: np.stack([255 - i if i.mean() < np.median(i) else i for i in x])
    assert verdict(key, per_image)[0] in (True, False)                       # allowed either way, never a crash


def test_reference_keeps_scans_and_flips_clinic_b():
    scans = data.load("scans_test").images[:20]
    assert np.array_equal(nb11.reference_to_card(scans), scans)
    assert np.array_equal(nb11.reference_to_card(255 - scans), scans)
