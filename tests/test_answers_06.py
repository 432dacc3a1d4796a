"""The answer key of 06_tiny_dataset_overfitting: each key accepts its own answer and refuses a wrong one."""

import types

import pytest

from course_lib import exercises


def verdict(key, answer, **context):
    check_fn, _, _ = key.build(**context)
    ok, message = check_fn(answer)
    assert isinstance(message, str)
    return ok


@pytest.fixture(scope="module")
def keys():
    return exercises.answer_key("06")


def fake_run(loss=1.0, wrong_learnt=1.0, test=0.6, train_acc=1.0):
    return dict(loss=loss, wrong_learnt=wrong_learnt, test=test, overconf=0.2,
                hist=types.SimpleNamespace(train_acc=[0.3, train_acc]))


def test_ids_in_order(keys):
    assert list(keys) == ["06.p1", "06.p2", "06.1", "06.2", "06.3", "06.4", "06.5", "06.6"]
    assert [k for k in keys if keys[k].is_open] == ["06.4", "06.5", "06.6"]
    assert [k for k in keys if keys[k].predict] == ["06.p1", "06.p2"]


def test_every_key_has_hint_and_solution(keys):
    for key in keys.values():
        assert key.hint.strip()
        assert callable(key.solution) or key.solution.strip()


def test_open_solutions_quote_measured_seeds(keys):
    for id in ("06.4", "06.5", "06.6"):
        assert "seeds 0, 1, 2" in keys[id].solution and "conclude" in keys[id].solution


def test_l2sp_penalty(keys):
    key = keys["06.2"]
    assert verdict(key, key.answer)
    assert verdict(key, 0.1165)
    assert not verdict(key, 0.2330)           # forgot the 1/2
    assert not verdict(key, "0.1165")          # text, not a number


def test_weight_decay_halving(keys):
    key = keys["06.3"]
    assert verdict(key, key.answer)
    assert verdict(key, 4.62)                  # ln 2 / (150 * 1e-3), the small-rate approximation
    assert not verdict(key, 0.9985)            # the fraction left at the default, not the decay asked for
    assert not verdict(key, 0.01)


def test_block1_start_is_read_from_the_history(keys):
    key = keys["06.1"]
    hist = types.SimpleNamespace(extra={"stage": [0.0] * 20 + [1.0] * 50 + [2.0] * 50 + [3.0] * 50})
    _, solution, answer = key.build(hist=hist)
    assert answer == 120 and "120" in solution
    assert verdict(key, 120, hist=hist)
    assert not verdict(key, 121, hist=hist)
    assert not verdict(key, 70, hist=hist)
    fast = types.SimpleNamespace(extra={"stage": [0.0] * 5 + [1.0] * 10 + [2.0] * 10 + [3.0] * 10})
    assert verdict(key, 25, hist=fast)


def test_prediction_taught_or_true(keys):
    key = keys["06.p1"]
    memorised = dict(broken=[fake_run(wrong_learnt=1.0)] * 3, probe=[fake_run(wrong_learnt=0.8)] * 3)
    assert verdict(key, "taught", **memorised)
    assert verdict(key, "the wrong label", **memorised)
    assert not verdict(key, "true", **memorised)
    _, solution, answer = key.build(**memorised)
    assert answer == "taught" and "100%" in solution
    seen = dict(broken=[fake_run(wrong_learnt=0.0)] * 3, probe=[fake_run(wrong_learnt=0.0)] * 3)
    assert verdict(key, "true", **seen) and not verdict(key, "taught", **seen)


def test_prediction_gradual_loss(keys):
    key = keys["06.p2"]
    higher = dict(broken=[fake_run(loss=1.8)] * 3, gradual=[fake_run(loss=2.7)] * 3)
    assert verdict(key, "higher", **higher) and not verdict(key, "lower", **higher)
    lower = dict(broken=[fake_run(loss=1.8)] * 3, gradual=[fake_run(loss=1.2)] * 3)
    assert verdict(key, "lower", **lower) and not verdict(key, "higher", **lower)


def test_prediction_flow(keys, capsys, monkeypatch):
    monkeypatch.setenv(exercises.SELF_CHECK_ENV, "1")
    ex = exercises.exercise("06.p2")
    ex.check("lower")
    exercises.exercise("06.p2").reveal(broken=[fake_run(loss=1.8)] * 3, gradual=[fake_run(loss=2.7)] * 3)
    out = capsys.readouterr().out
    assert "Prediction noted" in out and "off" in out and "2.70" in out


def test_wrong_context_is_a_sentence(keys):
    with pytest.raises(TypeError, match="needs hist=hist"):
        exercises.exercise("06.1")



def test_prediction_solutions_follow_the_measurement(keys):
    _, text, _ = keys["06.p2"].build(broken=[fake_run(loss=1.2)], gradual=[fake_run(loss=1.0)])
    assert "lower, this time" in text and "1 seed)" in text
    _, text, _ = keys["06.p1"].build(broken=[fake_run(wrong_learnt=0.2)], probe=[fake_run(wrong_learnt=0.2)])
    assert "only 20%" in text
