"""Plots for the course: learning curves, run comparisons, confusion matrices, image grids.

Taught in ``00_welcome_first_transfer``.  Every helper draws on ``ax`` when you
give one, otherwise on a new small figure, and returns the matplotlib
``Figure``.  None of them calls ``plt.show()``: a notebook cell ends with it.

>>> import matplotlib.pyplot as plt
>>> from course_lib import plots
>>> fig = plots.compare_runs({"frozen": 0.71, "fine-tuned": [0.80, 0.83, 0.82]})
>>> plt.close(fig)   # in a notebook, end the cell with plt.show() instead

Colours are the same everywhere: the i-th run of a plot gets ``PALETTE[i]``
(Okabe-Ito colours, which stay distinct for colour-blind readers).  Plots drawn
by other modules share the house style through :func:`axes_for`, :func:`tidy`
and :func:`legend_outside`.
"""

import numpy as np

from ._checks import check_choice, check_images, check_labels, check_positive, check_scores

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#882255")
BASELINE_COLOR = "#555555"
FIGSIZE = (6, 3.5)
MAX_CAPTIONS = 40  # image_grid writes a class name on each tile up to this many images


def color(i):
    """The colour of the ``i``-th run, cycling through ``PALETTE``.

    Taught in ``02_too_high_learning_rate``: use it to draw your own lines in
    the same colour as a run in the course's plots.

    >>> color(0), color(len(PALETTE))
    ('#0072B2', '#0072B2')
    """
    return PALETTE[i % len(PALETTE)]


# --------------------------------------------------------------------------- the house style
def axes_for(ax, figsize=FIGSIZE):
    """The axes to draw on: ``ax`` itself, or a new figure's axes (of ``figsize``) when ``ax`` is None.

    The first step of every plot in the course (here and in ``imbalance`` and
    ``domains``), so each one accepts ``ax=`` and checks it the same way.
    Not taught in a notebook: use it when you add a plot to ``course_lib``.

    >>> import matplotlib.pyplot as plt
    >>> ax = axes_for(None, figsize=(4, 3))
    >>> ax.figure.get_size_inches().tolist()
    [4.0, 3.0]
    >>> axes_for(ax) is ax
    True
    >>> axes_for(ax.figure)
    Traceback (most recent call last):
    ...
    TypeError: ax must be a matplotlib Axes, got Figure. Make one with fig, ax = plt.subplots(), ...
    >>> plt.close(ax.figure)
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize, layout="constrained")
        return ax
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(
            f"ax must be a matplotlib Axes, got {type(ax).__name__}. "
            "Make one with fig, ax = plt.subplots(), or leave ax out to get a new figure."
        )
    return ax


def tidy(ax):
    """Give ``ax`` the course's look: no top and right frame lines, a light grid behind the data.

    The last step of most plots in the course.  Not taught in a notebook: use
    it when you add a plot to ``course_lib``.

    >>> import matplotlib.pyplot as plt
    >>> ax = axes_for(None)
    >>> tidy(ax)
    >>> ax.spines["top"].get_visible(), ax.get_axisbelow()
    (False, True)
    >>> plt.close(ax.figure)
    """
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(True, alpha=0.3, linewidth=0.6)
    ax.set_axisbelow(True)


def legend_outside(ax, handles=None):
    """Draw the legend to the right of ``ax``, outside the data, and return it.

    ``handles`` (a list of artists, for example ``Line2D`` keys) replaces the
    labelled lines and bars of ``ax``.  Not taught in a notebook: use it when
    you add a plot to ``course_lib``.

    >>> import matplotlib.pyplot as plt
    >>> ax = axes_for(None)
    >>> _ = ax.plot([0, 1], [0, 1], label="frozen")
    >>> [t.get_text() for t in legend_outside(ax).get_texts()]
    ['frozen']
    >>> plt.close(ax.figure)
    """
    kwargs = dict(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small")
    return ax.legend(handles=handles, **kwargs) if handles is not None else ax.legend(**kwargs)


def _tidy_bars(ax):
    """``tidy`` for a bar chart: the grid lines run across the bars only."""
    tidy(ax)
    ax.grid(False, axis="x")


def _xtick_names(ax, names, rotate, angle):
    """One x tick per name, slanted by ``angle`` degrees when ``rotate`` (long or many names)."""
    ax.set_xticks(range(len(names)), names,
                  rotation=angle if rotate else 0, ha="right" if rotate else "center")


def _capitalized(text):
    """``text`` with its first letter upper-case ("test accuracy" -> "Test accuracy")."""
    return text[:1].upper() + text[1:]


# --------------------------------------------------------------------------- argument checks
def _is_history(obj):
    names = ("epoch", "train_acc", "val_acc", "train_loss", "val_loss", "extra", "best_epoch")
    return all(hasattr(obj, a) for a in names)


def _is_evaluation(obj):
    return hasattr(obj, "confusion") and hasattr(obj, "per_class")


def _scores(value, where):
    """A number, or a list of numbers (one per seed), as a 1-D float array (``_checks.check_scores``)."""
    return check_scores(where, value, one_number_ok=True, fix="Re-run it, or leave it out of the plot.")


def _check_runs(runs, name, wanted, example, verb="plot"):
    """Raise unless ``runs`` is a non-empty dict (run name -> what ``wanted`` describes)."""
    if not isinstance(runs, dict):
        raise TypeError(f"{name} must be {wanted}, got {type(runs).__name__}. For example: {example}.")
    if not runs:
        raise ValueError(f"{name} is an empty dict, so there is nothing to {verb}. Add at least one run.")


def _a(word):
    """``word`` with its article: "an int", "a list"."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def _unique(labels):
    """Number repeated labels ('run', 'run' -> 'run (1)', 'run (2)') so the legend tells runs apart."""
    labels = [str(lab) for lab in labels]
    if len(set(labels)) == len(labels):
        return labels
    return [f"{lab} ({i + 1})" for i, lab in enumerate(labels)]


# --------------------------------------------------------------------------- learning curves
def learning_curves(history_or_histories, metric="acc", ax=None, title=None, extra=None):
    """Plot training (dashed) and validation (solid) curves per epoch, one colour per run.

    Taught in ``00_welcome_first_transfer``.

    Parameters
    ----------
    history_or_histories : History, list of History, or dict name -> History
        What ``train.fit`` returned.  With a dict, its keys name the runs;
        otherwise each run is named by its ``label``.
    metric : {"acc", "loss"}
        Which curves to draw.
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure.
    title : str, optional
        Defaults to a description of the plot.
    extra : str or list of str, optional
        Names of extra series recorded by callbacks (``history.extra``), for
        example ``["source_acc"]``; drawn dotted in the run's colour.

    A star marks ``best_epoch``: the epoch whose weights early stopping restored.

    >>> import matplotlib.pyplot as plt
    >>> from course_lib.train import History
    >>> h = History(label="frozen", epoch=[1, 2, 3], train_acc=[0.5, 0.7, 0.8], val_acc=[0.5, 0.6, 0.65])
    >>> fig = learning_curves(h)
    >>> fig.axes[0].get_ylabel()
    'accuracy'
    >>> plt.close(fig)   # in a notebook, end the cell with plt.show() instead
    """
    from matplotlib.ticker import MaxNLocator

    metric = {"accuracy": "acc"}.get(metric, metric)
    check_choice("metric", metric, ("acc", "loss"))
    runs = _named_histories(history_or_histories)
    extra = _check_extra(runs, extra)

    ax = axes_for(ax)
    labels = _unique(label for label, _ in runs)
    legend, marked_best = [], False
    for i, ((_, h), label) in enumerate(zip(runs, labels)):
        marked_best |= _draw_history(ax, h, label, color(i), metric, extra)
        legend.append(_run_key(h, label, color(i)))
    legend_outside(ax, legend + _style_key(runs, metric, extra, marked_best))

    word = "accuracy" if metric == "acc" else "loss"
    if title is None:
        title = f"{labels[0]}: {word} per epoch" if len(runs) == 1 else f"{_capitalized(word)} per epoch"
    ax.set(xlabel="epoch", ylabel=word, title=title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    tidy(ax)
    return ax.figure


def _named_histories(history_or_histories):
    """The runs as a list of (name, History), each checked to have at least one epoch."""
    if _is_history(history_or_histories):
        runs = [(history_or_histories.label, history_or_histories)]
    elif isinstance(history_or_histories, dict):
        runs = list(history_or_histories.items())
    elif isinstance(history_or_histories, (list, tuple)):
        runs = [(getattr(h, "label", "run"), h) for h in history_or_histories]
    else:
        raise TypeError(
            "learning_curves needs a History (what train.fit returns) or a list of them, "
            f"got {type(history_or_histories).__name__}. For example: learning_curves([hist_a, hist_b])."
        )
    if not runs:
        raise ValueError(
            "learning_curves got an empty list, so there is nothing to plot. "
            "Train a run first: hist = train.fit(...), then learning_curves(hist)."
        )
    for i, (label, h) in enumerate(runs):
        if not _is_history(h):
            raise TypeError(
                f"Run {i} ({label!r}) is {_a(type(h).__name__)}, not a History. "
                "Pass what train.fit(...) returned, for example "
                "learning_curves([hist_frozen, hist_finetuned])."
            )
        if len(h.epoch) == 0:
            raise ValueError(f"History {label!r} has no completed epochs, so there is nothing to plot. "
                             "Train it for at least one epoch.")
    return runs


def _check_extra(runs, extra):
    """The extra series' names as a list, each checked to be recorded in every run."""
    extra = [extra] if isinstance(extra, str) else list(extra or [])
    for name in extra:
        for label, h in runs:
            if name not in h.extra:
                have = ", ".join(repr(k) for k in h.extra) or "none"
                raise ValueError(
                    f"History {label!r} has no extra series {name!r} (it has: {have}). Extra series are "
                    "recorded by callbacks: train.fit(..., callbacks=[...]) with history.record(name, value)."
                )
    return extra


def _draw_history(ax, h, label, c, metric, extra):
    """Draw one run's train, validation and extra curves in colour ``c``; True when it marked a best epoch."""
    train, val = getattr(h, f"train_{metric}"), getattr(h, f"val_{metric}")
    epochs = list(h.epoch)
    ax.plot(epochs[:len(train)], train, ls="--", color=c, lw=1.5, label=f"{label} train")
    if val:
        ax.plot(epochs[:len(val)], val, ls="-", color=c, lw=2, label=f"{label} validation")
    for name in extra:
        series = h.extra[name]
        ax.plot(range(1, len(series) + 1), series, ls=":", color=c, lw=2, label=f"{label} {name}")
    if h.best_epoch is not None and val and h.best_epoch in epochs[:len(val)]:
        best = epochs.index(h.best_epoch)
        ax.plot([h.best_epoch], [val[best]], ls="none", marker="*", ms=13, color=c,
                markeredgecolor="white", label=f"{label} best epoch")
        return True
    return False


def _run_key(h, label, c):
    """The legend entry naming a run, with "(interrupted)" or "(stopped early)" when it ended so."""
    from matplotlib.lines import Line2D

    flag = " (interrupted)" if h.interrupted else (" (stopped early)" if h.stopped_early else "")
    return Line2D([], [], color=c, lw=2.5, label=label + flag)


def _style_key(runs, metric, extra, marked_best):
    """The grey legend entries that explain the line styles: train, validation, extras, best epoch."""
    from matplotlib.lines import Line2D

    key = [Line2D([], [], color="0.3", ls="--", label="train")]
    if any(getattr(h, f"val_{metric}") for _, h in runs):
        key.append(Line2D([], [], color="0.3", ls="-", label="validation"))
    key += [Line2D([], [], color="0.3", ls=":", lw=2, label=name) for name in extra]
    if marked_best:
        key.append(Line2D([], [], color="0.3", ls="none", marker="*", ms=10, label="best epoch"))
    return key


# --------------------------------------------------------------------------- comparing runs
def compare_runs(results, metric_name="accuracy", ax=None, baseline=None, title=None,
                 baseline_label="baseline"):
    """Bar chart of runs: the mean as a bar, each seed as a dot, the spread as an error bar.

    Taught in ``01_leaky_splits``.

    Parameters
    ----------
    results : dict name -> number or list of numbers
        One score per run, or one per seed.  The error bar is the standard
        deviation across seeds (``ddof=1``); a run with one score has none.
    metric_name : str
        The y-axis label, for example "test accuracy".
    baseline : number or list of numbers, optional
        Drawn as a dashed horizontal line (the mean, for a list) named
        ``baseline_label``, for example ``baseline_label="frozen baseline"``.

    >>> import matplotlib.pyplot as plt
    >>> fig = compare_runs({"frozen": [0.70, 0.72], "fine-tuned": [0.80, 0.83, 0.82]},
    ...                    baseline=0.5, baseline_label="chance")
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['0.71', '0.82']
    >>> plt.close(fig)   # in a notebook, end the cell with plt.show() instead
    """
    _check_runs(results, "results", "a dict mapping run name -> score",
                "{'frozen': 0.71, 'fine-tuned': [0.80, 0.83, 0.82]}", verb="compare")
    scores = [_scores(value, f"results[{name!r}]") for name, value in results.items()]
    if baseline is not None:
        baseline = float(_scores(baseline, "baseline").mean())

    ax = axes_for(ax)
    _draw_score_bars(ax, scores)
    if baseline is not None:
        ax.axhline(baseline, ls="--", color=BASELINE_COLOR, lw=1.2, label=baseline_label, zorder=1)
        ax.legend(frameon=False, fontsize="small", loc="best")

    names = [str(n) for n in results]
    _xtick_names(ax, names, rotate=len(names) > 4 or max(len(n) for n in names) > 12, angle=20)
    ax.margins(y=0.15)
    if title is None:
        title = f"{_capitalized(metric_name)} by run"
        if any(s.size > 1 for s in scores):
            title += "\nbar: mean over seeds, dots: seeds, whiskers: ±1 std"
    ax.set(ylabel=metric_name, title=title)
    _tidy_bars(ax)
    return ax.figure


def _draw_score_bars(ax, scores):
    """One bar per run at its mean score, written above it; seeds and whiskers for runs with several."""
    x = np.arange(len(scores))
    means = [s.mean() for s in scores]
    ax.bar(x, means, width=0.6, color=[color(i) for i in x], alpha=0.85, zorder=2)
    for i, s in enumerate(scores):
        top = _draw_seeds(ax, x[i], means[i], s) if s.size > 1 else s.max()
        ax.annotate(f"{means[i]:.2f}", (x[i], top), xytext=(0, 3), textcoords="offset points",
                    ha="center", va="bottom", fontsize=9)


def _draw_seeds(ax, x, mean, s):
    """A ±1 std whisker and a dot per seed at ``x``; returns the top of what was drawn."""
    std = s.std(ddof=1)
    ax.errorbar(x, mean, yerr=std, color="black", capsize=4, lw=1.2, zorder=3)
    ax.plot(x + np.linspace(-0.15, 0.15, s.size), s, ls="none", marker="o", ms=4,
            color="black", markerfacecolor="white", zorder=4)
    return max(s.max(), mean + std)


# --------------------------------------------------------------------------- evaluations
def confusion_matrix(evaluation_or_cm, class_names=None, ax=None, normalize=True, title=None, cmap="Blues"):
    """Heat map of a confusion matrix with the value written in each cell.

    Taught in ``03_class_imbalance``.

    Rows are the true classes, columns the predicted ones.  With
    ``normalize=True`` each row is divided by its total, so a row sums to 1 and
    the diagonal is the recall of each class; otherwise cells hold counts.

    Parameters
    ----------
    evaluation_or_cm : Evaluation or square array of counts
        What ``train.evaluate`` returned, or a matrix such as
        ``sklearn.metrics.confusion_matrix(y_true, y_pred)``.
    class_names : list of str, optional
        Axis labels; taken from the Evaluation when not given.

    >>> import matplotlib.pyplot as plt
    >>> fig = confusion_matrix([[8, 2], [5, 5]], class_names=["normal", "pneumonia"])
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['0.80', '0.20', '0.50', '0.50']
    >>> plt.close(fig)   # in a notebook, end the cell with plt.show() instead
    """
    cm, names = _confusion_table(evaluation_or_cm)
    if not isinstance(normalize, (bool, np.bool_)):
        raise TypeError(f"normalize must be True (ratios per true class) or False (counts), "
                        f"got {normalize!r}.")
    n = cm.shape[0]
    if class_names is not None:
        names = [str(c) for c in class_names]
        if len(names) != n:
            raise ValueError(f"class_names has {len(names)} names but the matrix has {n} classes: "
                             "give one name per class, in class-id order.")
    names = names or [str(i) for i in range(n)]

    values = _row_shares(cm) if normalize else cm
    side = min(8.0, 2.6 + 0.45 * n)
    ax = axes_for(ax, figsize=(side + 1.0, side))
    im = ax.imshow(values, cmap=cmap, vmin=0, vmax=1 if normalize else max(1, values.max()))
    if n <= 25:
        _write_cells(ax, im, values, normalize, fontsize=9 if n <= 10 else 7)
    _xtick_names(ax, names, rotate=max(len(s) for s in names) > 4, angle=45)
    ax.set_yticks(range(n), names)
    if title is None:
        title = ("Confusion matrix\n(each row sums to 1: the diagonal is recall)" if normalize
                 else "Confusion matrix (counts)")
    ax.set(xlabel="predicted class", ylabel="true class", title=title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04,
                       label="share of the true class" if normalize else "count")
    return ax.figure


def _confusion_table(evaluation_or_cm):
    """The matrix as a square NumPy array of counts, and the Evaluation's class names (else None)."""
    names = None
    if _is_evaluation(evaluation_or_cm):
        cm = np.asarray(evaluation_or_cm.confusion)
        names = [row["name"] for row in evaluation_or_cm.per_class]
    else:
        value = evaluation_or_cm
        cm = np.asarray(value.detach().cpu() if hasattr(value, "detach") else value)
    if cm.dtype.kind not in "iuf" or cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.size == 0:
        raise ValueError(
            "confusion_matrix needs an Evaluation (from train.evaluate) or a square table of counts, "
            f"one row and one column per class; got {type(evaluation_or_cm).__name__} "
            f"with shape {getattr(cm, 'shape', '?')}."
        )
    if (cm < 0).any() or not np.isfinite(cm).all():
        raise ValueError("A confusion matrix holds counts, which are never negative or NaN; "
                         "check the table you passed.")
    return cm, names


def _row_shares(cm):
    """Each row divided by its total (a row of zeros stays zeros)."""
    totals = cm.sum(axis=1, keepdims=True).astype(float)
    return np.divide(cm, totals, out=np.zeros(cm.shape), where=totals > 0)


def _write_cells(ax, im, values, normalize, fontsize):
    """Write each share (or count) on its cell of the heat map ``im``: white on dark, black on light cells."""
    for (r, c), v in np.ndenumerate(values):
        rgb = im.cmap(im.norm(v))[:3]
        dark = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 0.5
        ax.text(c, r, f"{v:.2f}" if normalize else f"{int(v)}", ha="center", va="center",
                fontsize=fontsize, color="white" if dark else "black")


def per_class_recall(evaluations, ax=None, title=None):
    """Grouped bars of per-class recall, one colour per run.

    Taught in ``03_class_imbalance``.

    Recall is the share of each class the model finds.  A model that ignores a
    rare class can have high accuracy and a recall of 0 for that class: this
    plot shows it at a glance.  The legend gives each run's balanced accuracy
    (the mean of the per-class recalls).

    Parameters
    ----------
    evaluations : Evaluation or dict name -> Evaluation
        What ``train.evaluate`` returned, on the same test set for every run.

    >>> import matplotlib.pyplot as plt
    >>> from course_lib.train import Evaluation
    >>> ev = Evaluation(accuracy=0.8, balanced_accuracy=0.5, loss=0.5, confusion=None,
    ...                 per_class=[dict(name="normal", recall=1.0), dict(name="rare", recall=0.0)],
    ...                 y_true=None, y_pred=None, probs=None)
    >>> fig = per_class_recall({"plain loss": ev})
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['normal', 'rare']
    >>> plt.close(fig)   # in a notebook, end the cell with plt.show() instead
    """
    runs, classes = _evaluation_runs(evaluations)

    ax = axes_for(ax)
    x = np.arange(len(classes))
    width = 0.8 / len(runs)
    for j, (name, ev) in enumerate(runs):
        recall = [row["recall"] for row in ev.per_class]
        ax.bar(x + (j - (len(runs) - 1) / 2) * width, recall, width * 0.95, color=color(j),
               label=f"{name} (balanced acc {ev.balanced_accuracy:.2f})", zorder=2)
    _xtick_names(ax, classes, rotate=len(classes) > 6 or max(len(c) for c in classes) > 10, angle=30)
    ax.set_ylim(0, 1.05)
    ax.set(xlabel="class", ylabel="recall (share found)", title=title or "Recall per class")
    legend_outside(ax)
    _tidy_bars(ax)
    return ax.figure


def _evaluation_runs(evaluations):
    """The runs as a list of (name, Evaluation), and their class names, checked to be the same for all."""
    if _is_evaluation(evaluations):
        evaluations = {"model": evaluations}
    _check_runs(evaluations, "evaluations",
                "an Evaluation (from train.evaluate) or a dict mapping run name -> Evaluation",
                "{'plain': ev_a, 'weighted': ev_b}")
    for name, ev in evaluations.items():
        if not _is_evaluation(ev):
            raise TypeError(f"evaluations[{name!r}] is {_a(type(ev).__name__)}, not an Evaluation. "
                            "Pass what train.evaluate(model, test) returned.")
    runs = list(evaluations.items())
    classes = [row["name"] for row in runs[0][1].per_class]
    for name, ev in runs[1:]:
        other = [row["name"] for row in ev.per_class]
        if other != classes:
            raise ValueError(
                f"Run {name!r} has classes {other} but {runs[0][0]!r} has {classes}. "
                "Compare evaluations made on the same test set."
            )
    return runs, classes


# --------------------------------------------------------------------------- images
def image_grid(images, labels=None, class_names=None, nrow=10, ax=None, title=None, cmap="magma"):
    """Show a batch of images as one grid (``torchvision.utils.make_grid``).

    Taught in ``00_welcome_first_transfer``.

    Parameters
    ----------
    images : array or tensor shaped (N, H, W) or (N, C, H, W)
        uint8 values 0..255, or floats 0..1; one channel (grayscale, shown
        with ``cmap``) or three (RGB).
    labels : sequence of int, optional
        One class id per image.  Each tile gets its class written in a corner
        (up to ``MAX_CAPTIONS`` images), and the title counts the classes.
    class_names : list of str, optional
        Names for the class ids in ``labels``.
    nrow : int
        Images per row.
    cmap : str
        Colormap for grayscale images: "magma" (default) or "gray".

    >>> import numpy as np, matplotlib.pyplot as plt
    >>> images = np.random.default_rng(0).integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
    >>> fig = image_grid(images, labels=[0, 1, 0, 1, 1, 1], class_names=["cat", "dog"], nrow=3)
    >>> fig.axes[0].get_title()
    'cat ×2 · dog ×4'
    >>> plt.close(fig)   # in a notebook, end the cell with plt.show() instead
    """
    from torchvision.utils import make_grid

    check_images(images)
    check_positive("nrow", nrow, integer=True)
    x = _unit_images(_image_batch(images))
    n, channels, h, w = x.shape
    labels, names = _caption_names(labels, class_names, n)

    pad = 2
    grid = make_grid(x, nrow=nrow, padding=pad, pad_value=float("nan") if channels == 1 else 1.0)
    ax = axes_for(ax, figsize=_grid_figsize(grid))
    _show_grid(ax, grid, channels == 1, cmap)
    if labels is not None:
        if n <= MAX_CAPTIONS:
            _write_captions(ax, [names[lab] for lab in labels], min(nrow, n), (h + pad, w + pad), pad)
        ids, counts = np.unique(labels, return_counts=True)
        counted = " · ".join(f"{names[i]} ×{c}" for i, c in zip(ids, counts))
        title = f"{title}\n{counted}" if title else counted
    if title:
        ax.set_title(title, fontsize="medium")
    return ax.figure


def _image_batch(images):
    """The images as a (N, C, H, W) tensor of 1 or 3 channels, in a dtype ``image_grid`` can show."""
    import torch

    x = images.detach().cpu() if torch.is_tensor(images) else torch.as_tensor(np.asarray(images))
    if x.ndim == 3:
        x = x[:, None]
    if x.shape[1] not in (1, 3):
        raise ValueError(
            f"images have {x.shape[1]} channels (shape {tuple(x.shape)}); image_grid shows 1-channel "
            "(grayscale) or 3-channel (RGB) images. If your array is (N, H, W, C), put the channels "
            "first: images.transpose(0, 3, 1, 2) for NumPy, images.permute(0, 3, 1, 2) for torch."
        )
    integers = (torch.uint8, torch.int16, torch.int32, torch.int64)
    if x.dtype == torch.bool or not (x.dtype.is_floating_point or x.dtype in integers):
        raise TypeError(f"images must be uint8 (0..255) or floats (0..1), got dtype {x.dtype}.")
    return x


def _unit_images(x):
    """Integer images 0..255 or float images 0..1 as floats 0..1; other ranges are explained."""
    if not x.dtype.is_floating_point:
        if x.min() < 0 or x.max() > 255:
            raise ValueError(f"Integer images must hold values 0..255, got {int(x.min())}..{int(x.max())}.")
        return x.float() / 255.0
    lo, hi = float(x.min()), float(x.max())
    if lo < -0.01 or hi > 1.01:
        raise ValueError(
            f"Float images must have values in 0..1, got {lo:.2f}..{hi:.2f}; they look normalised. "
            "Show the images from before normalisation, or rescale: (x - x.min()) / (x.max() - x.min())."
        )
    return x.float().clamp(0, 1)


def _caption_names(labels, class_names, n):
    """The checked labels (or None) and the name of each class id (given, or the ids as text)."""
    if labels is None:
        if class_names is not None:
            raise ValueError("class_names only names the labels: "
                             "pass labels=... too, one class id per image.")
        return None, None
    labels = check_labels(labels, name="labels", n_items=n)
    if labels.min() < 0:
        raise ValueError(f"labels must be class ids 0, 1, 2, ..., got {labels.min()}: a negative id names no class.")
    if class_names is None:
        return labels, [str(i) for i in range(labels.max() + 1)]
    names = [str(c) for c in class_names]
    if labels.min() < 0 or labels.max() >= len(names):
        raise ValueError(
            f"class_names has {len(names)} names but labels go from "
            f"{labels.min()} to {labels.max()}: "
            "give one name per class, in class-id order."
        )
    return labels, names


def _grid_figsize(grid):
    """A figure 6 inches wide with the grid's aspect ratio (and room for a title), at most 8 inches tall."""
    gh, gw = grid.shape[-2:]
    width, height = 6.0, 6.0 * gh / gw + 0.4
    if height > 8:
        width, height = width * 8 / height, 8.0
    return width, height


def _show_grid(ax, grid, gray, cmap):
    """Draw the grid of images: grayscale in ``cmap`` with white padding (NaN), or RGB as it is.

    ``make_grid`` repeats a single channel three times, so a grayscale grid is read from its first channel.
    """
    if gray:
        import matplotlib

        colormap = matplotlib.colormaps[cmap].with_extremes(bad="white")
        ax.imshow(grid[0].numpy(), cmap=colormap, vmin=0, vmax=1, interpolation="nearest")
    else:
        ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_axis_off()


def _write_captions(ax, captions, cols, step, pad):
    """Write each tile's caption in its top-left corner; tiles are ``step`` = (height, width) apart."""
    for i, text in enumerate(captions):
        row, col = divmod(i, cols)
        ax.text(col * step[1] + pad + 0.5, row * step[0] + pad + 0.5, text,
                ha="left", va="top", fontsize=6, color="white",
                bbox=dict(boxstyle="square,pad=0.15", fc="black", alpha=0.55, lw=0))


# --------------------------------------------------------------------------- label budgets
def accuracy_vs_labels(curves, ax=None, band="minmax", logx=True, title=None, metric_name="accuracy"):
    """Plot accuracy against the number of labelled examples per class, one line per run.

    Taught in ``00_welcome_first_transfer``.

    Parameters
    ----------
    curves : dict run name -> dict {labels_per_class: score or list of scores}
        For example ``{"from scratch": {5: [0.41, 0.45], 50: [0.70, 0.72]}}``,
        one score per seed.
    band : {"minmax", "std", None}
        The shaded band around the mean line: the lowest to the highest seed,
        mean ± one standard deviation, or nothing.
    logx : bool
        Spread label counts such as 1, 5, 10, 50, 500 evenly (log scale).
    metric_name : str
        The y-axis label.

    >>> import matplotlib.pyplot as plt
    >>> fig = accuracy_vs_labels({"from scratch": {5: [0.41, 0.45], 50: [0.70, 0.72]},
    ...                           "pretrained": {5: [0.66, 0.70], 50: [0.85, 0.86]}})
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['from scratch', 'pretrained']
    >>> plt.close(fig)   # in a notebook, end the cell with plt.show() instead
    """
    check_choice("band", band, ("minmax", "std", None))
    parsed = _label_curves(curves)

    ax = axes_for(ax)
    for i, (name, points) in enumerate(parsed.items()):
        _draw_label_curve(ax, points, str(name), color(i), band)
    if logx:
        _log_label_axis(ax, sorted(set().union(*parsed.values())))
    if title is None:
        spread = {"minmax": ", band: lowest to highest seed", "std": ", band: ±1 std", None: ""}[band]
        title = f"{_capitalized(metric_name)} against labels per class\nline: mean over seeds{spread}"
    ax.set(xlabel="labelled examples per class", ylabel=metric_name, title=title)
    legend_outside(ax)
    tidy(ax)
    return ax.figure


def _label_curves(curves):
    """The curves as run name -> {labels per class (int, ascending): scores (1-D float array)}."""
    _check_runs(curves, "curves", "a dict mapping run name -> {labels_per_class: scores}",
                "{'pretrained': {5: [0.66, 0.70], 50: [0.85, 0.86]}}")
    parsed = {}
    for name, points in curves.items():
        if not isinstance(points, dict) or not points:
            raise TypeError(
                f"curves[{name!r}] must be a non-empty dict mapping labels per class -> scores, "
                f"got {points!r}. For example: {{5: [0.66, 0.70], 50: [0.85, 0.86]}}."
            )
        for k in points:
            check_positive(f"labels per class in run {name!r}", k, integer=True)
        parsed[name] = {int(k): _scores(v, f"curves[{name!r}][{k!r}]") for k, v in sorted(points.items())}
    return parsed


def _draw_label_curve(ax, points, label, c, band):
    """The mean score per label count as a line, with its ``band`` shaded around it."""
    ks = np.array(list(points))
    mean = np.array([s.mean() for s in points.values()])
    ax.plot(ks, mean, marker="o", ms=4, color=c, lw=2, label=label, zorder=3)
    if band == "minmax":
        ax.fill_between(ks, [s.min() for s in points.values()], [s.max() for s in points.values()],
                        color=c, alpha=0.2, lw=0)
    elif band == "std":
        std = np.array([s.std(ddof=1) if s.size > 1 else 0.0 for s in points.values()])
        ax.fill_between(ks, mean - std, mean + std, color=c, alpha=0.2, lw=0)


def _log_label_axis(ax, ks):
    """A log x axis with one plain-number tick per label count (1, 5, 50, not 10^0)."""
    from matplotlib.ticker import NullLocator, ScalarFormatter

    ax.set_xscale("log")
    ax.set_xticks(ks)
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_locator(NullLocator())
