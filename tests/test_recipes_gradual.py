"""recipes.gradual_unfreeze: head first, then one block at a time from the top (notebook 06)."""

import pytest

from course_lib import data, models, recipes
from course_lib.repro import seed_everything


@pytest.fixture(scope="module")
def tiny():
    return data.load("clinic").take_per_class(3, seed=0)


def test_stages_are_recorded_and_blocks_thaw_from_the_top(tiny):
    seed_everything(0)
    model = models.load_base("scans-s", n_classes=5)
    seen = []
    watch = lambda m, h: seen.append(tuple(models.trainable_parts(m)))
    hist = recipes.gradual_unfreeze(model, tiny, tiny, epochs_per_stage=2, head_epochs=1, callbacks=[watch],
                                    progress=False)
    assert hist.label == "gradual unfreezing" and len(hist) == 7
    assert hist.extra["stage"] == [0, 1, 1, 2, 2, 3, 3]
    assert seen[0] == ("head",) and seen[1] == ("block3", "head") and seen[-1] == ("block1", "block2", "block3", "head")
    assert len(hist.val_acc) == 7


def test_fewer_blocks_and_a_custom_label(tiny):
    model = models.load_base("scans-s", n_classes=5)
    hist = recipes.gradual_unfreeze(model, tiny, epochs_per_stage=1, n_blocks=1, label="top only", progress=False)
    assert hist.extra["stage"] == [0, 1] and hist.label == "top only"
    assert models.trainable_parts(model) == ["block3", "head"]


def test_bad_arguments_say_what_to_do(tiny):
    model = models.load_base("scans-s", n_classes=5)
    with pytest.raises(ValueError, match="n_blocks must be a whole number from 1 to 3"):
        recipes.gradual_unfreeze(model, tiny, n_blocks=0)
    with pytest.raises(ValueError, match="epochs_per_stage must be greater than zero"):
        recipes.gradual_unfreeze(model, tiny, epochs_per_stage=0)
    with pytest.raises(ValueError, match="lr must be greater than zero"):
        recipes.gradual_unfreeze(model, tiny, lr=-1.0)
