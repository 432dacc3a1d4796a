"""Tests for course_lib.strategies (notebooks 05 and 08): the three strategies on one label budget."""

import pytest

from course_lib import data, models, strategies


@pytest.fixture(scope="module")
def small():
    clinic, test = data.load("clinic"), data.load("clinic_test")
    return clinic.take_per_class(2, seed=0), test.take_per_class(4, seed=0)


@pytest.fixture(scope="module")
def runs(small):
    train_set, test = small
    return strategies.run_strategies(train_set, test, epochs=2, batch_size=8, seed=3, val=test, progress=False)


def test_three_strategies_in_order_with_their_costs(runs):
    assert list(runs) == list(strategies.STRATEGIES)
    frozen, tuned, scratch = runs.values()
    assert frozen.trainable == frozen.stored_per_task == 64 * 5 + 5          # the head only
    assert tuned.trainable == tuned.total == tuned.stored_per_task == frozen.total
    assert scratch.total == frozen.total                                      # same architecture
    for r in runs.values():
        assert 0.0 <= r.accuracy <= 1.0 and r.seconds > 0
        assert len(r.history) == 2 and len(r.history.val_acc) == 2


def test_fine_tune_splits_the_epochs_between_head_and_all_layers(runs):
    assert runs["fine-tune"].history.extra["phase"] == [1.0, 2.0]


def test_same_seed_same_result(small, runs):
    train_set, test = small
    again = strategies.run_strategies(train_set, test, strategies=["frozen baseline"], epochs=2, batch_size=8,
                                    seed=3, val=test, progress=False)
    assert again["frozen baseline"].accuracy == runs["frozen baseline"].accuracy


def test_bad_arguments_say_what_to_do(small):
    train_set, test = small
    with pytest.raises(ValueError, match="Unknown strategy 'probe'. Choose one of"):
        strategies.run_strategies(train_set, test, strategies=["probe"])
    with pytest.raises(TypeError, match="strategies must be a list of names"):
        strategies.run_strategies(train_set, test, strategies="fine-tune")
    with pytest.raises(ValueError, match="strategies is empty"):
        strategies.run_strategies(train_set, test, strategies=[])
    with pytest.raises(ValueError, match="at least 2 for 'fine-tune'"):
        strategies.run_strategies(train_set, test, epochs=1)
    with pytest.raises(ValueError, match="Unknown base"):
        strategies.run_strategies(train_set, test, base="imagenet")
    with pytest.raises(TypeError, match="needs an ImageSet"):
        strategies.run_strategies(train_set.images, test)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        strategies.run_strategies(train_set, test, seed=-1)
    with pytest.raises(ValueError, match="epochs must be greater than zero"):
        strategies.run_strategies(train_set, test, epochs=0)


def test_inverted_swaps_dark_and_light_and_keeps_the_rest(small):
    train_set, _ = small
    second = strategies.inverted(train_set, name="clinic B")
    assert second.name == "clinic B" and strategies.inverted(train_set).name.endswith("(inverted)")
    assert second.images.dtype == train_set.images.dtype
    assert (second.images.astype(int) + train_set.images.astype(int) == 255).all()
    assert (second.labels == train_set.labels).all() and (second.groups == train_set.groups).all()
    assert second.class_names == train_set.class_names
    assert (strategies.inverted(second).images == train_set.images).all()


def test_inverted_bad_input_says_what_to_do(small):
    train_set, _ = small
    with pytest.raises(TypeError, match="inverted needs an ImageSet"):
        strategies.inverted(train_set.images)
    with pytest.raises(TypeError, match="name must be a string"):
        strategies.inverted(train_set, name=3)


def test_decay_is_checked_and_passed_to_fine_tuning(small):
    train_set, test = small
    with pytest.raises(ValueError, match="decay"):
        strategies.run_strategies(train_set, test, strategies=["fine-tune"], decay=0)
    a = strategies.run_strategies(train_set, test, strategies=["fine-tune"], epochs=2, batch_size=8, seed=3,
                                progress=False)
    b = strategies.run_strategies(train_set, test, strategies=["fine-tune"], epochs=2, batch_size=8, seed=3,
                                decay=2.6, progress=False)
    assert a["fine-tune"].history.train_loss[0] == b["fine-tune"].history.train_loss[0]   # head phase alike


def test_lora_strategy_stores_its_adapters_and_head_and_keeps_the_source(small, runs):
    from course_lib import forgetting, lora, recipes
    train_set, test = small
    out = strategies.run_strategies(train_set, test, strategies=[strategies.LORA, "fine-tune"], epochs=4, head_epochs=1,
                                  batch_size=8, seed=3, progress=False)
    r = out[strategies.LORA]
    assert r.trainable == r.stored_per_task == 553 * 4 + 325 and r.total == 23621 + 553 * 4
    assert r.history.extra["phase"] == [1.0, 2.0, 2.0, 2.0]
    assert out["fine-tune"].history.extra["phase"] == [1.0, 2.0, 2.0, 2.0]
    assert lora.lora_layers(r.model)
    assert r.source_accuracy == forgetting.source_accuracy(r.model)
    assert runs["frozen baseline"].source_accuracy == forgetting.source_accuracy(
        models.load_base("scans-s", 5))                                   # a frozen backbone forgets nothing
    assert runs["from scratch"].source_accuracy is None
    rank2 = strategies.run_strategies(train_set, test, strategies=[strategies.LORA], epochs=2, rank=2, progress=False)
    assert rank2[strategies.LORA].trainable == 553 * 2 + 325
    assert recipes.LR_LORA == pytest.approx(10 * recipes.LR_FINETUNE)


def test_head_epochs_and_lr_are_checked(small, monkeypatch):
    train_set, test = small
    with pytest.raises(ValueError, match=r"head_epochs must be smaller than epochs \(4\)"):
        strategies.run_strategies(train_set, test, strategies=[strategies.LORA], epochs=4, head_epochs=4)
    with pytest.raises(ValueError, match="head_epochs must be greater than zero"):
        strategies.run_strategies(train_set, test, strategies=["fine-tune"], epochs=4, head_epochs=0)
    with pytest.raises(ValueError, match="lr must be greater than zero"):
        strategies.run_strategies(train_set, test, strategies=["fine-tune"], epochs=4, lr=-1e-3)
    with pytest.raises(ValueError, match="at least 2 for 'LoRA'"):
        strategies.run_strategies(train_set, test, strategies=[strategies.LORA], epochs=1)
    with pytest.raises(ValueError, match="rank=12 is larger than"):
        strategies.run_strategies(train_set, test, strategies=[strategies.LORA], epochs=2, rank=12)

    def must_not_train(*args, **kwargs):
        raise AssertionError("a strategy trained before the bad rank was reported")

    monkeypatch.setattr(strategies.recipes, "train_from_scratch", must_not_train)
    with pytest.raises(ValueError, match="rank=12 is larger than"):      # before the other strategies train
        strategies.run_strategies(train_set, test, strategies=["from scratch", strategies.LORA], epochs=2, rank=12)


def test_single_phase_strategies_run_with_one_epoch(small):
    train_set, test = small
    out = strategies.run_strategies(train_set, test, strategies=["frozen baseline", "from scratch"], epochs=1,
                                  progress=False)
    assert [len(r.history) for r in out.values()] == [1, 1]


def test_each_strategy_can_get_its_own_rate(small):
    from course_lib import recipes
    train_set, test = small
    kw = dict(epochs=2, head_epochs=1, batch_size=8, seed=3, progress=False)
    names = ["frozen baseline", "fine-tune", "from scratch", strategies.LORA]
    default = strategies.run_strategies(train_set, test, strategies=names, **kw)
    assert [default[n].history.lr for n in names] == [[recipes.LR_HEAD] * 2, [recipes.LR_HEAD, recipes.LR_FINETUNE],
                                                     [recipes.LR_SCRATCH] * 2, [recipes.LR_HEAD, recipes.LR_LORA]]
    rates = {"frozen baseline": 3e-2, "fine-tune": 1e-3, "from scratch": 1e-3, strategies.LORA: 1e-2}
    own = strategies.run_strategies(train_set, test, strategies=names, lr=rates, **kw)
    assert [own[n].history.lr for n in names] == [[3e-2] * 2, [recipes.LR_HEAD, 1e-3], [1e-3] * 2,
                                                 [recipes.LR_HEAD, 1e-2]]          # the head phase keeps LR_HEAD
    assert own["frozen baseline"].accuracy != default["frozen baseline"].accuracy or \
        own["frozen baseline"].history.train_loss != default["frozen baseline"].history.train_loss
    partial = strategies.run_strategies(train_set, test, strategies=["frozen baseline", "fine-tune"],
                                      lr={"fine-tune": 1e-3}, **kw)               # the others keep their default
    assert partial["frozen baseline"].history.lr == [recipes.LR_HEAD] * 2
    one = strategies.run_strategies(train_set, test, strategies=names, lr=2e-3, **kw)  # one rate: two-phase only
    assert [one[n].history.lr[-1] for n in names] == [recipes.LR_HEAD, 2e-3, recipes.LR_SCRATCH, 2e-3]


def test_bad_rates_say_what_to_do(small):
    train_set, test = small
    with pytest.raises(ValueError, match="Unknown strategy in lr 'probe'"):
        strategies.run_strategies(train_set, test, lr={"probe": 1e-2})
    with pytest.raises(ValueError, match="lr gives a rate for 'LoRA', which is not among the strategies"):
        strategies.run_strategies(train_set, test, strategies=["fine-tune"], lr={strategies.LORA: 1e-2})
    with pytest.raises(ValueError, match=r"lr\['fine-tune'\] must be greater than zero"):
        strategies.run_strategies(train_set, test, lr={"fine-tune": 0.0})
