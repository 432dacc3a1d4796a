"""course_lib.forgetting: measuring what a fine-tuned model still knows of its source task."""

import pytest
import torch

from course_lib import data, forgetting, models, recipes, repro, train


@pytest.fixture(scope="module")
def few():
    return data.load("clinic").take_per_class(5, seed=0)


@pytest.fixture(scope="module")
def overwritten(few):
    """The base fine-tuned hard (every layer, a high rate, many steps): it must have forgotten a lot."""
    repro.seed_everything(0)
    model = models.load_base("scans-s", n_classes=5)
    train.fit(model, few, epochs=40, lr=1e-2, batch_size=8, seed=0, progress=False)
    return model


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --------------------------------------------------------------------------- source_accuracy
def test_untouched_base_scores_its_model_card_accuracy():
    model = models.load_base("scans-s", n_classes=5)
    expected = data.read_manifest()["bases"]["scans-s"]["source_accuracy"]
    assert forgetting.source_accuracy(model) == pytest.approx(expected, abs=2e-3)


def test_source_accuracy_falls_after_aggressive_fine_tuning(overwritten):
    base = forgetting.source_accuracy(models.load_base("scans-s", n_classes=5))
    assert forgetting.source_accuracy(overwritten) < base - 0.1


def test_a_frozen_backbone_forgets_nothing(few):
    model = models.load_base("scans-s", n_classes=5)
    before = forgetting.source_accuracy(model)
    recipes.feature_extract(model, few, epochs=3, progress=False)
    assert forgetting.source_accuracy(model) == before


def test_source_accuracy_leaves_the_model_as_it_was(overwritten):
    before = _weights(overwritten)
    overwritten.train()
    forgetting.source_accuracy(overwritten)
    assert overwritten.training and _same(before, _weights(overwritten))
    assert overwritten.head.out_features == 5


def test_test_per_class_scores_a_fixed_balanced_subset():
    model = models.load_base("scans-s", n_classes=5)
    acc = forgetting.source_accuracy(model, test_per_class=7)
    assert acc == forgetting.source_accuracy(model, test_per_class=7)
    assert round(acc * 70) == pytest.approx(acc * 70)       # 7 images x 10 classes


def test_source_accuracy_explains_bad_input():
    with pytest.raises(TypeError, match="course model"):
        forgetting.source_accuracy(torch.nn.Linear(3, 2))
    with pytest.raises(ValueError, match="not loaded from a pretrained base"):
        forgetting.source_accuracy(models.build("small", n_classes=5))
    with pytest.raises(ValueError, match="Unknown base 'imagenet'"):
        forgetting.source_accuracy(models.load_base("scans-s", 5), base="imagenet")
    with pytest.raises(ValueError, match="does not have the shape of base 'photos-l'"):
        forgetting.source_accuracy(models.load_base("scans-s", 5), base="photos-l")
    with pytest.raises(ValueError, match="test_per_class must be greater than zero"):
        forgetting.source_accuracy(models.load_base("scans-s", 5), test_per_class=0)


def test_a_model_built_from_scratch_can_name_the_base_to_compare_with():
    scratch = models.build("small", n_classes=5)
    assert forgetting.source_accuracy(scratch, base="scans-s") < 0.5   # random features: the old head is lost


# --------------------------------------------------------------------------- source_probe_accuracy
def test_reprobe_of_the_base_reads_the_source_classes():
    model = models.load_base("scans-s", n_classes=5)
    assert forgetting.source_probe_accuracy(model) > 0.85


def test_reprobe_of_random_features_is_much_worse():
    repro.seed_everything(0)
    base = forgetting.source_probe_accuracy(models.load_base("scans-s", n_classes=5), labels_per_class=10)
    scratch = forgetting.source_probe_accuracy(models.build("small", n_classes=5), source="scans", labels_per_class=10)
    assert scratch < base - 0.2


def test_reprobe_leaves_model_and_random_stream_untouched(overwritten):
    before = _weights(overwritten)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    forgetting.source_probe_accuracy(overwritten, labels_per_class=5, epochs=2)
    assert torch.equal(torch.rand(3), expected)
    assert _same(before, _weights(overwritten))
    assert all(p.requires_grad for p in overwritten.parameters())   # the copy was frozen, not the model


def test_reprobe_is_deterministic_for_a_seed(overwritten):
    a = forgetting.source_probe_accuracy(overwritten, labels_per_class=5, epochs=5, seed=1)
    assert a == forgetting.source_probe_accuracy(overwritten, labels_per_class=5, epochs=5, seed=1)


def test_reprobe_explains_bad_input():
    model = models.load_base("scans-s", n_classes=5)
    with pytest.raises(ValueError, match="Unknown source task 'clinic'"):
        forgetting.source_probe_accuracy(model, source="clinic")
    with pytest.raises(ValueError, match="lr must be greater than zero"):
        forgetting.source_probe_accuracy(model, lr=-1.0)
    with pytest.raises(TypeError, match="epochs must be an integer"):
        forgetting.source_probe_accuracy(model, epochs=2.5)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        forgetting.source_probe_accuracy(model, seed=-1)
    with pytest.raises(ValueError, match="labels_per_class must be greater than zero"):
        forgetting.source_probe_accuracy(model, labels_per_class=0)
    with pytest.raises(ValueError, match="not loaded from a pretrained base"):
        forgetting.source_probe_accuracy(models.build("small", n_classes=5))


# --------------------------------------------------------------------------- track_source
def test_track_source_records_one_value_per_epoch_and_does_not_change_the_run(few):
    losses = []
    for callbacks in ([], [forgetting.track_source(test_per_class=10)]):
        repro.seed_everything(0)
        model = models.load_base("scans-s", n_classes=5)
        hist = train.fit(model, few, epochs=3, lr=3e-3, batch_size=8, seed=0, progress=False, callbacks=callbacks)
        losses.append(hist.train_loss)
    assert losses[0] == losses[1]
    assert len(hist.extra["source_acc"]) == 3
    assert all(0.0 <= v <= 1.0 for v in hist.extra["source_acc"])
    assert hist.extra["source_acc"][-1] == forgetting.source_accuracy(model, test_per_class=10)


def test_track_source_by_reprobe_and_with_another_name(few):
    model = models.load_base("scans-s", n_classes=5)
    cb = forgetting.track_source(how="probe", name="reprobe", labels_per_class=5, epochs=2)
    hist = recipes.feature_extract(model, few, epochs=2, progress=False, callbacks=[cb])
    assert len(hist.extra["reprobe"]) == 2 and "source_acc" not in hist.extra


def test_track_source_explains_bad_input():
    with pytest.raises(ValueError, match="Unknown way of measuring the source task 'knn'"):
        forgetting.track_source(how="knn")
    with pytest.raises(TypeError, match="unknown option.*labels_per_class.*accepts: base, test_per_class"):
        forgetting.track_source(how="head", labels_per_class=5)
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        forgetting.track_source(name="")


# --------------------------------------------------------------------------- block_drift
def test_block_drift_is_zero_for_the_base_and_positive_after_fine_tuning(overwritten):
    assert forgetting.block_drift(models.load_base("scans-s", n_classes=5)) == {b: 0.0 for b in models.BLOCKS}
    drift = forgetting.block_drift(overwritten)
    assert list(drift) == list(models.BLOCKS)
    assert all(value > 0.01 for value in drift.values())


def test_block_drift_sees_only_the_blocks_that_trained(few):
    model = models.load_base("scans-s", n_classes=5)
    models.freeze_up_to(model, 1)                 # only block3 and the head train
    train.fit(model, few, epochs=3, lr=3e-3, batch_size=8, seed=0, progress=False)
    drift = forgetting.block_drift(model)
    assert drift["block1"] == drift["block2"] == 0.0 and drift["block3"] > 0


def test_block_drift_explains_bad_input():
    with pytest.raises(TypeError, match="course model"):
        forgetting.block_drift("scans-s")
    with pytest.raises(ValueError, match="does not have the shape of base 'photos-l'"):
        forgetting.block_drift(models.load_base("scans-s", 5), base="photos-l")


# --------------------------------------------------------------------------- block_change
def test_block_change_is_zero_for_the_base_and_positive_after_fine_tuning(overwritten):
    base = models.load_base("scans-s", n_classes=5)
    still = forgetting.block_change(base)
    assert list(still) == list(models.BLOCKS)
    for block, numbers in still.items():
        assert numbers["weight_change"] == 0.0 and numbers["output_change"] == 0.0
        w0 = torch.cat([p.detach().flatten() for p in base.backbone[models.BLOCKS.index(block)].parameters()])
        assert numbers["weight_size"] == pytest.approx(float(w0.pow(2).mean().sqrt()), abs=1e-6)
    moved = forgetting.block_change(overwritten)
    assert all(moved[b]["weight_change"] > 1e-3 and moved[b]["output_change"] > 1e-3 for b in models.BLOCKS)
    assert all(moved[b]["weight_size"] == still[b]["weight_size"] for b in models.BLOCKS)


def test_block_change_measures_weights_in_absolute_terms():
    model = models.load_base("scans-s", n_classes=5)
    with torch.no_grad():
        for block in (model.backbone[0], model.backbone[2]):      # every weight of block1 and block3 moves by 0.01
            for p in block.parameters():
                p.add_(0.01)
    change = forgetting.block_change(model)
    assert change["block1"]["weight_change"] == pytest.approx(0.01, abs=1e-6)
    assert change["block3"]["weight_change"] == pytest.approx(0.01, abs=1e-6)
    assert change["block2"]["weight_change"] == 0.0
    drift = forgetting.block_drift(model)                         # the relative measure ranks them by weight size
    assert drift["block1"] < drift["block3"]
    for b in ("block1", "block3"):
        assert change[b]["weight_change"] / change[b]["weight_size"] == pytest.approx(drift[b], abs=1e-3)


def test_block_change_gives_each_block_only_its_own_output_change():
    model = models.load_base("scans-s", n_classes=5)
    with torch.no_grad():
        model.backbone[0][0].weight.mul_(1.5)                      # change block1 alone
    change = forgetting.block_change(model)
    assert change["block1"]["output_change"] > 0.1
    assert change["block2"]["output_change"] == 0.0 == change["block3"]["output_change"]   # not accumulated
    with torch.no_grad():
        features_moved = (model.features(forgetting._images(None, "scans-s")) -
                          models.load_base("scans-s", 5).features(forgetting._images(None, "scans-s"))).abs().max()
    assert features_moved > 0                                      # although the features downstream did change


def test_block_change_sees_only_the_blocks_that_trained(few):
    model = models.load_base("scans-s", n_classes=5)
    models.freeze_up_to(model, 1)                                  # only block3 and the head train
    train.fit(model, few, epochs=3, lr=3e-3, batch_size=8, seed=0, progress=False)
    change = forgetting.block_change(model)
    for b in ("block1", "block2"):
        assert change[b]["weight_change"] == 0.0 == change[b]["output_change"]
    assert change["block3"]["weight_change"] > 0 and change["block3"]["output_change"] > 0


def test_block_change_on_other_images_and_leaves_the_model_as_it_was(overwritten, few):
    before = _weights(overwritten)
    overwritten.train()
    on_source = forgetting.block_change(overwritten)
    on_target = forgetting.block_change(overwritten, images=few)                    # an ImageSet
    on_array = forgetting.block_change(overwritten, images=few.tensors()[0].numpy())  # or an array of images
    assert on_target == on_array
    assert on_target["block3"]["output_change"] != on_source["block3"]["output_change"]
    assert on_target["block3"]["weight_change"] == on_source["block3"]["weight_change"]
    assert overwritten.training and _same(before, _weights(overwritten))


def test_block_change_of_a_lora_model_equals_that_of_its_merge(few):
    import copy
    from course_lib import lora
    repro.seed_everything(0)
    model = models.load_base("scans-s", n_classes=5)
    lora.add_lora(model, rank=2)
    train.fit(model, few, epochs=3, lr=1e-2, batch_size=8, seed=0, progress=False)
    change = forgetting.block_change(model)
    assert lora.lora_layers(model)                                 # measured without merging the model itself
    merged = forgetting.block_change(lora.merge_lora(copy.deepcopy(model)))
    for b in models.BLOCKS:
        assert change[b]["weight_change"] > 0
        assert change[b]["weight_change"] == pytest.approx(merged[b]["weight_change"], abs=1e-5)
        assert change[b]["output_change"] == pytest.approx(merged[b]["output_change"], abs=1e-4)


def test_block_change_explains_bad_input():
    with pytest.raises(TypeError, match="course model"):
        forgetting.block_change("scans-s")
    with pytest.raises(ValueError, match="does not have the shape of base 'photos-l'"):
        forgetting.block_change(models.load_base("scans-s", 5), base="photos-l")
    with pytest.raises(ValueError, match="not loaded from a pretrained base"):
        forgetting.block_change(models.build("small", n_classes=5))
    with pytest.raises(ValueError, match="at least 2 images"):
        forgetting.block_change(models.load_base("scans-s", 5), images=torch.rand(1, 1, 20, 20))
    with pytest.raises(ValueError, match="images shaped"):
        forgetting.block_change(models.load_base("scans-s", 5), images=torch.rand(20, 20))


# --------------------------------------------------------------------------- docs
def test_docstring_examples_run_and_name_the_notebook():
    assert "Taught in ``02_too_high_learning_rate``" in forgetting.__doc__
    for name in forgetting.__all__:
        assert "02_too_high_learning_rate" in getattr(forgetting, name).__doc__


def test_source_accuracy_leaves_the_random_stream_untouched():
    forgetting._CACHE.clear()                       # the first call loads (and builds) the source model
    torch.manual_seed(0)
    forgetting.source_accuracy(models.load_base("scans-s", n_classes=5), test_per_class=5)
    after = torch.rand(3)
    torch.manual_seed(0)
    models.load_base("scans-s", n_classes=5)
    assert torch.equal(after, torch.rand(3))
