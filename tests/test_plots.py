"""Tests for course_lib.plots: what each plot draws, and the errors a learner sees."""


import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_lib import plots  # noqa: E402
from course_lib.train import Evaluation, History  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def make_history(label="frozen", val=True, best_epoch=None, extra=None, **flags):
    h = History(label=label, epoch=[1, 2, 3, 4],
                train_acc=[0.5, 0.6, 0.7, 0.8], train_loss=[1.0, 0.8, 0.6, 0.5],
                val_acc=[0.45, 0.55, 0.6, 0.58] if val else [],
                val_loss=[1.1, 0.9, 0.8, 0.85] if val else [],
                extra=dict(extra or {}), best_epoch=best_epoch, **flags)
    return h


def make_evaluation(recall=(0.9, 0.5, 0.1), names=("normal", "pneumonia", "covid"), balanced=0.5):
    cm = np.array([[9, 1, 0], [3, 5, 2], [4, 5, 1]])
    per_class = [dict(name=n, precision=0.5, recall=r, f1=0.5, support=10) for n, r in zip(names, recall)]
    return Evaluation(accuracy=0.5, balanced_accuracy=balanced, loss=1.0, per_class=per_class,
                      confusion=cm[:len(names), :len(names)], y_true=None, y_pred=None, probs=None)


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def labelled_lines(ax):
    return {line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")}


# --------------------------------------------------------------------------- learning_curves
def test_learning_curves_one_history_draws_train_dashed_and_validation_solid():
    h = make_history()
    fig = plots.learning_curves(h)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    lines = labelled_lines(ax)
    assert set(lines) == {"frozen train", "frozen validation"}
    assert lines["frozen train"].get_linestyle() == "--"
    assert lines["frozen validation"].get_linestyle() == "-"
    assert list(lines["frozen validation"].get_ydata()) == h.val_acc
    assert list(lines["frozen train"].get_xdata()) == [1, 2, 3, 4]
    assert legend_texts(ax) == ["frozen", "train", "validation"]
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "accuracy"
    assert ax.get_title() == "frozen: accuracy per epoch"


def test_learning_curves_several_runs_get_one_colour_each_and_a_legend_entry():
    hs = [make_history("frozen"), make_history("fine-tuned"), make_history("scratch")]
    ax = plots.learning_curves(hs).axes[0]
    lines = labelled_lines(ax)
    assert len(lines) == 6
    runs = ("frozen", "fine-tuned", "scratch")
    colours = {name: to_hex(lines[f"{name} validation"].get_color()) for name in runs}
    assert len(set(colours.values())) == 3
    assert colours["frozen"] == to_hex(plots.PALETTE[0])
    assert to_hex(lines["frozen train"].get_color()) == colours["frozen"]
    assert legend_texts(ax)[:3] == ["frozen", "fine-tuned", "scratch"]
    assert ax.get_title() == "Accuracy per epoch"


def test_learning_curves_accepts_a_dict_and_names_runs_by_its_keys():
    ax = plots.learning_curves({"a": make_history("run"), "b": make_history("run")}).axes[0]
    assert legend_texts(ax)[:2] == ["a", "b"]


def test_learning_curves_numbers_runs_that_share_a_label():
    ax = plots.learning_curves([make_history("run"), make_history("run")]).axes[0]
    assert legend_texts(ax)[:2] == ["run (1)", "run (2)"]


def test_learning_curves_loss_metric_plots_the_loss_series():
    h = make_history()
    ax = plots.learning_curves(h, metric="loss").axes[0]
    assert list(labelled_lines(ax)["frozen validation"].get_ydata()) == h.val_loss
    assert ax.get_ylabel() == "loss"


def test_learning_curves_accepts_accuracy_as_another_name_for_acc():
    ax = plots.learning_curves(make_history(), metric="accuracy").axes[0]
    assert ax.get_ylabel() == "accuracy"


def test_learning_curves_plots_extra_series_dotted():
    hs = [make_history("a", extra={"source_acc": [0.9, 0.8, 0.7, 0.6]}),
          make_history("b", extra={"source_acc": [0.9, 0.9, 0.85, 0.85]})]
    ax = plots.learning_curves(hs, extra=["source_acc"]).axes[0]
    dotted = [line for line in ax.get_lines() if line.get_linestyle() == ":"]
    assert len(dotted) == 2
    assert list(dotted[0].get_ydata()) == [0.9, 0.8, 0.7, 0.6]
    assert "source_acc" in legend_texts(ax)
    # a single name works too
    assert "source_acc" in legend_texts(plots.learning_curves(hs[0], extra="source_acc").axes[0])


def test_learning_curves_marks_the_best_epoch_with_a_star():
    h = make_history(best_epoch=3, stopped_early=True)
    ax = plots.learning_curves(h).axes[0]
    stars = [line for line in ax.get_lines() if line.get_marker() == "*"]
    assert len(stars) == 1
    assert list(stars[0].get_xdata()) == [3] and list(stars[0].get_ydata()) == [0.6]
    assert "best epoch" in legend_texts(ax)
    assert "frozen (stopped early)" in legend_texts(ax)


def test_learning_curves_without_validation_draws_only_training():
    ax = plots.learning_curves(make_history(val=False)).axes[0]
    assert set(labelled_lines(ax)) == {"frozen train"}
    assert legend_texts(ax) == ["frozen", "train"]


def test_learning_curves_draws_on_the_axes_given():
    fig, (left, right) = plt.subplots(1, 2)
    out = plots.learning_curves(make_history(), ax=right)
    assert out is fig
    assert len(right.get_lines()) == 2 and len(left.get_lines()) == 0


@pytest.mark.parametrize("bad, error, words", [
    ([], ValueError, "empty list"),
    ([make_history(), "not a history"], TypeError, "Run 1 ('run') is a str, not a History"),
    (42, TypeError, "needs a History"),
    (History(label="empty"), ValueError, "no completed epochs"),
])
def test_learning_curves_bad_histories_get_clear_errors(bad, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        plots.learning_curves(bad)


def test_learning_curves_unknown_metric_lists_the_choices():
    with pytest.raises(ValueError, match="Unknown metric 'f1'. Choose one of: 'acc', 'loss'"):
        plots.learning_curves(make_history(), metric="f1")


def test_learning_curves_missing_extra_series_says_what_exists():
    h = make_history(extra={"source_acc": [1, 1, 1, 1]})
    with pytest.raises(ValueError, match="no extra series 'target_acc' \\(it has: 'source_acc'\\)"):
        plots.learning_curves(h, extra=["target_acc"])
    with pytest.raises(ValueError, match="it has: none"):
        plots.learning_curves(make_history(), extra="source_acc")


def test_bad_ax_is_explained():
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes, got Figure"):
        plots.learning_curves(make_history(), ax=plt.figure())


# --------------------------------------------------------------------------- compare_runs
def test_compare_runs_bars_are_means_with_seed_dots_and_std_whiskers():
    results = {"frozen": [0.70, 0.72, 0.74], "fine-tuned": 0.8}
    fig = plots.compare_runs(results)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx([0.72, 0.8])
    assert [t.get_text() for t in ax.texts] == ["0.72", "0.80"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["frozen", "fine-tuned"]
    dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert len(dots) == 1 and list(dots[0].get_ydata()) == [0.70, 0.72, 0.74]
    whiskers = [c for c in ax.collections if len(c.get_segments()) == 1]
    (segment,) = whiskers[0].get_segments()
    assert segment[:, 1] == pytest.approx([0.70, 0.74])  # mean ± std with ddof=1 (std = 0.02)
    assert len(whiskers) == 1  # the single-score run has no error bar
    assert ax.get_ylabel() == "accuracy"
    assert "mean over seeds" in ax.get_title()


def test_compare_runs_draws_a_labelled_dashed_baseline():
    ax = plots.compare_runs({"a": 0.6, "b": 0.7}, baseline=[0.5, 0.54],
                            baseline_label="frozen baseline", metric_name="test accuracy").axes[0]
    (line,) = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert list(line.get_ydata()) == pytest.approx([0.52, 0.52])
    assert legend_texts(ax) == ["frozen baseline"]
    assert ax.get_ylabel() == "test accuracy"
    assert ax.get_title() == "Test accuracy by run"


def test_compare_runs_accepts_numpy_and_torch_scores():
    ax = plots.compare_runs({"np": np.array([0.5, 0.7]), "torch": torch.tensor([0.4, 0.6])}).axes[0]
    assert [p.get_height() for p in ax.patches] == pytest.approx([0.6, 0.5])


@pytest.mark.parametrize("bad, error, words", [
    ([0.7, 0.8], TypeError, "results must be a dict"),
    ({}, ValueError, "empty dict"),
    ({"a": "0.7"}, TypeError, r"results\['a'\] must be a number or a list of numbers"),
    ({"a": True}, TypeError, "must be a number"),
    ({"a": []}, ValueError, "empty list"),
    ({"a": [[0.7, 0.8]]}, ValueError, "flat list"),
    ({"a": [0.7, float("nan")]}, ValueError, "contains nan, not a finite number"),
])
def test_compare_runs_bad_results_get_clear_errors(bad, error, words):
    with pytest.raises(error, match=words):
        plots.compare_runs(bad)


def test_compare_runs_bad_baseline_is_named():
    with pytest.raises(TypeError, match="baseline must be a number"):
        plots.compare_runs({"a": 0.7}, baseline="frozen")


# --------------------------------------------------------------------------- confusion_matrix
def test_confusion_matrix_normalises_rows_and_writes_each_cell():
    fig = plots.confusion_matrix(np.array([[8, 2], [5, 5]]), class_names=["normal", "pneumonia"])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["0.80", "0.20", "0.50", "0.50"]
    assert np.asarray(ax.images[0].get_array()).sum(axis=1).tolist() == pytest.approx([1, 1])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["normal", "pneumonia"]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert len(fig.axes) == 2  # the heat map and its colour bar


def test_confusion_matrix_counts_when_not_normalised():
    ax = plots.confusion_matrix([[8, 2], [5, 5]], normalize=False).axes[0]
    assert [t.get_text() for t in ax.texts] == ["8", "2", "5", "5"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1"]
    assert "counts" in ax.get_title()


def test_confusion_matrix_takes_class_names_from_an_evaluation():
    ax = plots.confusion_matrix(make_evaluation()).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["normal", "pneumonia", "covid"]
    assert len(ax.texts) == 9


def test_confusion_matrix_class_without_examples_shows_zeros_not_nan():
    ax = plots.confusion_matrix(np.array([[3, 1], [0, 0]])).axes[0]
    assert [t.get_text() for t in ax.texts] == ["0.75", "0.25", "0.00", "0.00"]


def test_confusion_matrix_text_is_readable_on_dark_and_light_cells():
    ax = plots.confusion_matrix([[10, 0], [0, 10]]).axes[0]
    colours = [t.get_color() for t in ax.texts]
    assert colours == ["white", "black", "black", "white"]


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(evaluation_or_cm=[[1, 2, 3], [4, 5, 6]]), ValueError, "square table"),
    (dict(evaluation_or_cm="cm"), ValueError, "square table"),
    (dict(evaluation_or_cm=[[1, -2], [3, 4]]), ValueError, "never negative"),
    (dict(evaluation_or_cm=[[1, 2], [3, 4]], class_names=["a"]), ValueError, "1 names but the matrix has 2"),
    (dict(evaluation_or_cm=[[1, 2], [3, 4]], normalize="rows"), TypeError, "normalize must be True"),
])
def test_confusion_matrix_bad_input_gets_clear_errors(kwargs, error, words):
    with pytest.raises(error, match=words):
        plots.confusion_matrix(**kwargs)


# --------------------------------------------------------------------------- per_class_recall
def test_per_class_recall_single_evaluation():
    fig = plots.per_class_recall(make_evaluation())
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == pytest.approx([0.9, 0.5, 0.1])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["normal", "pneumonia", "covid"]
    assert legend_texts(ax) == ["model (balanced acc 0.50)"]
    assert ax.get_ylim() == pytest.approx((0, 1.05))


def test_per_class_recall_groups_bars_by_class_one_colour_per_run():
    evs = {"plain": make_evaluation(), "weighted": make_evaluation((0.8, 0.7, 0.6), balanced=0.7)}
    ax = plots.per_class_recall(evs).axes[0]
    assert len(ax.patches) == 6
    assert legend_texts(ax) == ["plain (balanced acc 0.50)", "weighted (balanced acc 0.70)"]
    colours = {to_hex(p.get_facecolor()) for p in ax.patches}
    assert colours == {to_hex(plots.PALETTE[0]), to_hex(plots.PALETTE[1])}
    # within each class, the two runs' bars sit side by side around the tick
    xs = sorted(p.get_x() + p.get_width() / 2 for p in ax.patches)
    assert xs[0] < 0 < xs[1] < 1


@pytest.mark.parametrize("bad, error, words", [
    ({}, ValueError, "empty dict"),
    ([make_evaluation()], TypeError, "must be an Evaluation"),
    ({"a": 0.7}, TypeError, r"evaluations\['a'\] is a float, not an Evaluation"),
    ({"a": make_evaluation(), "b": make_evaluation(names=("x", "y", "z"))}, ValueError, "same test set"),
])
def test_per_class_recall_bad_input_gets_clear_errors(bad, error, words):
    with pytest.raises(error, match=words):
        plots.per_class_recall(bad)


# --------------------------------------------------------------------------- image_grid
def test_image_grid_uint8_grayscale_with_labels():
    images = np.full((6, 8, 8), 255, dtype=np.uint8)
    fig = plots.image_grid(images, labels=[0, 1, 1, 0, 1, 1], class_names=["cat", "dog"], nrow=3)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    (im,) = ax.images
    data = im.get_array()
    assert data.shape == (2 * 10 + 2, 3 * 10 + 2)  # 2 rows x 3 columns of 8px tiles, 2px padding
    assert np.ma.count_masked(data) > 0  # padding is NaN, drawn white
    assert data.max() == pytest.approx(1.0)
    assert im.get_cmap().name.startswith("magma")
    assert ax.get_title() == "cat ×2 · dog ×4"
    assert [t.get_text() for t in ax.texts] == ["cat", "dog", "dog", "cat", "dog", "dog"]


def test_image_grid_float_tensor_with_channel_axis_and_gray_cmap():
    images = torch.rand(4, 1, 5, 5)
    ax = plots.image_grid(images, nrow=2, cmap="gray", title="Samples").axes[0]
    assert ax.get_title() == "Samples"
    assert ax.images[0].get_cmap().name.startswith("gray")
    assert ax.images[0].get_array().shape == (2 * 7 + 2, 2 * 7 + 2)
    assert len(ax.texts) == 0


def test_image_grid_rgb_images_are_drawn_in_colour():
    ax = plots.image_grid(torch.rand(3, 3, 4, 4)).axes[0]
    assert ax.images[0].get_array().shape == (8, 3 * 6 + 2, 3)


def test_image_grid_many_images_get_counts_but_no_captions():
    n = plots.MAX_CAPTIONS + 10
    ax = plots.image_grid(np.zeros((n, 4, 4), np.uint8), labels=np.arange(n) % 2, title="All").axes[0]
    assert len(ax.texts) == 0
    assert ax.get_title() == f"All\n0 ×{n // 2} · 1 ×{n // 2}"


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(images=np.zeros((8, 8))), ValueError, r"shaped \(N, H, W\) or \(N, C, H, W\)"),
    (dict(images=np.zeros((0, 8, 8))), ValueError, "empty"),
    (dict(images=np.zeros((2, 8, 8, 3))), ValueError, "put the channels first"),
    (dict(images=torch.randn(2, 1, 8, 8) * 3), ValueError, "look normalised"),
    (dict(images=np.full((2, 8, 8), 300)), ValueError, "0..255"),
    (dict(images=np.zeros((2, 8, 8)), labels=[0, 1, 1]), ValueError, "3 entries but there are 2 images"),
    (dict(images=np.zeros((2, 8, 8)), labels=[0, 2], class_names=["a", "b"]), ValueError,
     "2 names but labels"),
    (dict(images=np.zeros((2, 8, 8)), class_names=["a", "b"]), ValueError, "pass labels=... too"),
    (dict(images=np.zeros((2, 8, 8)), nrow=0), ValueError, "nrow must be greater than zero"),
])
def test_image_grid_bad_input_gets_clear_errors(kwargs, error, words):
    with pytest.raises(error, match=words):
        plots.image_grid(**kwargs)


# --------------------------------------------------------------------------- accuracy_vs_labels
CURVES = {"from scratch": {5: [0.40, 0.44, 0.42], 50: [0.70, 0.72, 0.74], 1: [0.2, 0.3]},
          "pretrained": {1: 0.5, 5: [0.66, 0.70], 50: [0.85, 0.86]}}


def test_accuracy_vs_labels_mean_lines_with_min_max_bands_on_log_x():
    fig = plots.accuracy_vs_labels(CURVES)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    lines = labelled_lines(ax)
    assert list(lines["from scratch"].get_xdata()) == [1, 5, 50]  # sorted by label count
    assert lines["from scratch"].get_ydata() == pytest.approx([0.25, 0.42, 0.72])
    assert len(ax.collections) == 2  # one band per run
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(0.2) and band.max() == pytest.approx(0.74)
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "5", "50"]
    assert legend_texts(ax) == ["from scratch", "pretrained"]
    assert ax.get_xlabel() == "labelled examples per class"


def test_accuracy_vs_labels_std_band_none_band_and_linear_x():
    ax = plots.accuracy_vs_labels(CURVES, band="std").axes[0]
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.max() == pytest.approx(0.74)  # 0.72 + std of (0.70, 0.72, 0.74)
    plain = plots.accuracy_vs_labels(CURVES, band=None, logx=False).axes[0]
    assert len(plain.collections) == 0 and plain.get_xscale() == "linear"


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(curves=[0.5]), TypeError, "curves must be a dict"),
    (dict(curves={}), ValueError, "empty dict"),
    (dict(curves={"a": [0.5, 0.6]}), TypeError, r"curves\['a'\] must be a non-empty dict"),
    (dict(curves={"a": {0: 0.5}}), ValueError, "labels per class in run 'a' must be greater than zero"),
    (dict(curves={"a": {2.5: 0.5}}), TypeError, "must be an integer"),
    (dict(curves={"a": {5: [0.5, float("nan")]}}), ValueError, "contains nan, not a finite number"),
    (dict(curves=CURVES, band="range"), ValueError, "Unknown band 'range'"),
])
def test_accuracy_vs_labels_bad_input_gets_clear_errors(kwargs, error, words):
    with pytest.raises(error, match=words):
        plots.accuracy_vs_labels(**kwargs)


# --------------------------------------------------------------------------- the house style
def test_axes_for_makes_a_new_figure_of_the_size_asked():
    ax = plots.axes_for(None)
    assert ax.figure.get_size_inches().tolist() == list(plots.FIGSIZE)
    assert ax.figure.get_layout_engine() is not None  # constrained layout: the outside legend fits
    small = plots.axes_for(None, figsize=(4, 3))
    assert small.figure.get_size_inches().tolist() == [4, 3] and small.figure is not ax.figure


def test_axes_for_returns_the_axes_given():
    fig, (left, right) = plt.subplots(1, 2)
    assert plots.axes_for(right) is right
    assert plots.axes_for(left, figsize=(1, 1)) is left
    assert fig.get_size_inches().tolist() != [1, 1]  # figsize is only for a new figure


@pytest.mark.parametrize("bad, kind", [(plt.figure, "Figure"), (lambda: "left", "str"), (lambda: 0, "int")])
def test_axes_for_explains_what_is_not_an_axes(bad, kind):
    with pytest.raises(TypeError, match=f"ax must be a matplotlib Axes, got {kind}. Make one with"):
        plots.axes_for(bad())


def test_tidy_hides_the_top_and_right_lines_and_puts_a_grid_behind():
    ax = plots.axes_for(None)
    assert plots.tidy(ax) is None
    assert [ax.spines[side].get_visible() for side in ("top", "right", "bottom", "left")] == \
        [False, False, True, True]
    assert ax.get_axisbelow() is True
    assert all(line.get_visible() for line in ax.get_xgridlines() + ax.get_ygridlines())


def test_legend_outside_sits_right_of_the_axes():
    ax = plots.axes_for(None)
    ax.plot([0, 1], [0, 1], label="frozen")
    ax.plot([0, 1], [1, 0], label="fine-tuned")
    legend = plots.legend_outside(ax)
    assert legend is ax.get_legend()
    assert legend_texts(ax) == ["frozen", "fine-tuned"]
    assert legend.get_frame_on() is False
    ax.figure.canvas.draw()
    assert legend.get_window_extent().x0 > ax.get_window_extent().x1


def test_legend_outside_with_handles_shows_only_those():
    from matplotlib.lines import Line2D

    ax = plots.axes_for(None)
    ax.plot([0, 1], [0, 1], label="not in the key")
    plots.legend_outside(ax, [Line2D([], [], ls="--", label="train"), Line2D([], [], label="validation")])
    assert legend_texts(ax) == ["train", "validation"]


# --------------------------------------------------------------------------- with real training
class TinyNet(torch.nn.Module):
    def __init__(self, n_classes=3):
        super().__init__()
        self.head = torch.nn.Linear(16, n_classes)

    def forward(self, x):
        return self.head(x.flatten(1))


def test_plots_work_on_what_fit_and_evaluate_return():
    from course_lib import train

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(30, 4, 4), dtype=np.uint8)
    labels = np.arange(30) % 3
    torch.manual_seed(0)
    model = TinyNet()
    hist = train.fit(model, (images, labels), (images, labels), epochs=3, lr=1e-2, seed=0,
                     progress=False, label="tiny", callbacks=[lambda m, h: h.record("probe", 0.5)])
    ev = train.evaluate(model, (images, labels), class_names=["a", "b", "c"])
    ax = plots.learning_curves(hist, extra=["probe"]).axes[0]
    assert set(labelled_lines(ax)) == {"tiny train", "tiny validation", "tiny probe"}
    assert len(plots.confusion_matrix(ev).axes[0].texts) == 9
    assert len(plots.per_class_recall({"tiny": ev}).axes[0].patches) == 3
    assert len(plots.image_grid(images, labels=labels, class_names=["a", "b", "c"]).axes[0].texts) == 30


HOUSE_STYLE = ("axes_for", "tidy", "legend_outside")  # for course_lib's own plots, not taught in a notebook


def test_every_public_function_says_where_it_is_taught_and_has_an_example():
    import inspect

    public = {name: f for name, f in inspect.getmembers(plots, inspect.isfunction)
              if not name.startswith("_") and f.__module__ == plots.__name__}
    assert len(public) == 10 and set(HOUSE_STYLE) <= set(public)
    for name, f in public.items():
        assert ">>> " in f.__doc__, name
        if name in HOUSE_STYLE:
            assert "Not taught in a notebook" in f.__doc__, name
        else:
            assert "Taught in ``0" in f.__doc__, name      # which notebook: tests/test_docstrings.py


def test_image_grid_refuses_negative_labels_without_class_names():
    with pytest.raises(ValueError, match="a negative id names no class"):
        plots.image_grid(np.zeros((2, 20, 20), dtype=np.uint8), labels=[0, -1])
