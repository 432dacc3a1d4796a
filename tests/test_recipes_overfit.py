"""recipes.head_then_unfreeze: the head alone, then the top blocks; remedies act in phase 2 only (notebook 06)."""

import pytest
import torch

from course_lib import data, models, recipes
from course_lib.repro import seed_everything


@pytest.fixture(scope="module")
def tiny():
    return data.load("clinic").take_per_class(3, seed=0)


def _backbone(model):
    return [p.detach().clone() for p in model.backbone.parameters()]


def test_the_head_trains_alone_first_then_the_blocks_thaw(tiny):
    seed_everything(0)
    model = models.load_base("scans-s", n_classes=5)
    seen = []
    watch = lambda m, h: seen.append(tuple(models.trainable_parts(m)))
    hist = recipes.head_then_unfreeze(model, tiny, tiny, head_epochs=2, epochs=3, callbacks=[watch], progress=False)
    assert hist.extra["phase"] == [1, 1, 2, 2, 2] and len(hist.val_loss) == 5
    assert seen[:2] == [("head",)] * 2 and seen[2:] == [("block1", "block2", "block3", "head")] * 3
    assert hist.label == "head, then unfreeze"


def test_blocks_zero_keeps_the_backbone_as_it_was(tiny):
    model = models.load_base("scans-s", n_classes=5)
    start = _backbone(model)
    recipes.head_then_unfreeze(model, tiny, head_epochs=1, epochs=2, n_blocks=0, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(start, _backbone(model)))
    assert models.trainable_parts(model) == ["head"]


def test_the_head_phase_is_the_same_with_or_without_a_remedy(tiny):
    """The remedies act in phase 2 only: phase 1 is identical, phase 2 differs."""
    runs = {}
    for name, extra in (("plain", {}), ("decay", {"weight_decay": 0.5}), ("penalty", {"regularizer": None})):
        seed_everything(0)
        model = models.load_base("scans-s", n_classes=5)
        if name == "penalty":
            extra = {"regularizer": lambda m: 0.1 * sum((p ** 2).sum() for p in m.backbone.parameters())}
        runs[name] = recipes.head_then_unfreeze(model, tiny, tiny, head_epochs=2, epochs=2, lr=1e-2, seed=0,
                                                progress=False, **extra)
    for name in ("decay", "penalty"):
        assert runs[name].train_loss[:2] == runs["plain"].train_loss[:2]
        assert runs[name].train_loss[2:] != runs["plain"].train_loss[2:]


def test_early_stopping_watches_phase_2_only(tiny):
    seed_everything(0)
    model = models.load_base("scans-s", n_classes=5)
    hist = recipes.head_then_unfreeze(model, tiny, tiny, head_epochs=3, epochs=40, lr=1e-2, early_stopping=1,
                                      seed=0, progress=False)
    assert hist.extra["phase"][:3] == [1, 1, 1]          # the head phase always runs in full
    assert hist.stopped_early and len(hist) < 3 + 40
    assert hist.best_epoch > 3                           # an epoch of phase 2, counted over the whole run


def test_bad_arguments_say_what_to_do(tiny):
    model = models.load_base("scans-s", n_classes=5)
    with pytest.raises(ValueError, match="n_blocks must be a whole number from 0 to 3"):
        recipes.head_then_unfreeze(model, tiny, n_blocks=4)
    with pytest.raises(ValueError, match="n_blocks must be a whole number"):
        recipes.head_then_unfreeze(model, tiny, n_blocks=True)
    with pytest.raises(ValueError, match="early_stopping needs validation data"):
        recipes.head_then_unfreeze(model, tiny, early_stopping=5)
    with pytest.raises(ValueError, match="head_epochs must be greater than zero"):
        recipes.head_then_unfreeze(model, tiny, head_epochs=0)
    with pytest.raises(ValueError, match="lr must be greater than zero"):
        recipes.head_then_unfreeze(model, tiny, lr=0)


def test_blocks_as_a_count_is_refused_with_the_right_name(tiny):
    """`blocks=` names blocks (lora_fine_tune); the unfreezing recipes count them with n_blocks=."""
    for recipe in (recipes.head_then_unfreeze, recipes.gradual_unfreeze):
        with pytest.raises(TypeError, match="counts the blocks to thaw with n_blocks="):
            recipe(models.load_base("scans-s", n_classes=tiny.n_classes), tiny, blocks=2)
