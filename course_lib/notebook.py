"""The plumbing the notebooks share: an explorer, per-seed numbers in words and tables.

Used by the notebooks ``00_welcome_first_transfer`` to ``09_capstone_decision_path``
(:func:`explorer` in each from 01 on; :func:`mean_range` wherever per-seed values are
printed; :func:`seed_table` by the notebooks' ``table`` functions;
:func:`over_seeds` and :func:`scores` where a notebook repeats its ``run`` for
every seed).  Nothing here is a lesson: the recipes that differ between a
broken and a fixed run stay in the notebooks, where you can see them.

>>> mean_range([0.79, 0.812, 0.84])
'0.814 (0.790..0.840, 3 seeds)'
"""

import inspect
import numbers

import numpy as np

from ._checks import check_positive, check_scores

__all__ = ["NOTE", "explorer", "mean_range", "over_seeds", "scores", "seed_table"]

NOTE = "Run the notebook to use the controls."


# --------------------------------------------------------------------------- numbers over seeds
def _values(values, name="values"):
    """``values`` as a 1-D float array: a non-empty list of finite numbers (``_checks.check_scores``)."""
    return check_scores(name, values)


def mean_range(values, digits=3, *, signed=False, count=True):
    """The mean of per-seed ``values`` with their range: ``"0.812 (0.790..0.840, 3 seeds)"``.

    Taught in ``02_too_high_learning_rate``.  ``digits`` decimals for all three
    numbers; ``signed=True`` writes a ``+`` on positive numbers (for gains and
    gaps); ``count=False`` leaves out the number of seeds (a table says it once).

    >>> mean_range([0.1, -0.05], digits=2, signed=True)
    '+0.03 (-0.05..+0.10, 2 seeds)'
    >>> mean_range([0.5], count=False)
    '0.500 (0.500..0.500)'
    >>> mean_range([])
    Traceback (most recent call last):
    ...
    ValueError: values is an empty list. Give one score per seed, or leave the run out.
    """
    v = _values(values)
    check_positive("digits", digits, integer=True, allow_zero=True)
    f = f"{{:{'+' if signed else ''}.{digits}f}}".format
    seeds = f", {v.size} seed{'s' if v.size != 1 else ''}" if count else ""
    return f"{f(v.mean())} ({f(v.min())}..{f(v.max())}{seeds})"


def _cell(value, digits, signed):
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return f"{value:,d}"
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return f"{value:{'+' if signed else ''}.{digits}f}"
    return mean_range(value, digits, signed=signed, count=False)


def seed_table(rows, *, first="run", digits=3, signed=(), note=""):
    """A text table with one row per run and, in each cell, the mean and range over the seeds.

    Taught in ``02_too_high_learning_rate``.  ``rows`` maps a row's name to
    ``{column: value}``; a value is a list of per-seed numbers (written
    ``mean (min..max)``), one number, or a text.  ``first`` heads the name
    column, ``digits`` is an int or ``{column: int}``, the columns named in
    ``signed`` get a ``+`` sign, and ``note`` is added to the last line, which
    says over how many seeds the means are.  Returns the text: ``print`` it.

    >>> print(seed_table({"frozen": {"accuracy": [0.70, 0.74], "trainable": 325},
    ...                   "fine-tune": {"accuracy": [0.80, 0.90], "trainable": 23621}}))
    run                    accuracy  trainable
    frozen     0.720 (0.700..0.740)        325
    fine-tune  0.850 (0.800..0.900)     23,621
    mean (min..max) over 2 seeds
    >>> seed_table({"frozen": [0.7]})
    Traceback (most recent call last):
    ...
    TypeError: seed_table needs each row as {column: value}; row 'frozen' is a list.
    """
    if not isinstance(rows, dict) or not rows:
        raise TypeError("seed_table needs a dict {row name: {column: value}} with at least one row, "
                        f"got {type(rows).__name__ if not isinstance(rows, dict) else 'an empty dict'}.")
    for name, row in rows.items():
        if not isinstance(row, dict):
            raise TypeError(f"seed_table needs each row as {{column: value}}; row {name!r} is a {type(row).__name__}.")
    columns = list(dict.fromkeys(c for row in rows.values() for c in row))
    places = {c: digits.get(c, 3) if isinstance(digits, dict) else digits for c in columns}
    cells = {name: [_cell(row[c], places[c], c in signed) if c in row else "" for c in columns]
             for name, row in rows.items()}
    counts = {len(row[c]) for row in rows.values() for c in row if np.iterable(row[c]) and not isinstance(row[c], str)}
    names = [str(first)] + [str(name) for name in rows]
    widths = [max(len(n) for n in names)] + [max(len(str(c)), *(len(cells[n][i]) for n in rows))
                                             for i, c in enumerate(columns)]
    lines = ["  ".join([names[0].ljust(widths[0])] + [str(c).rjust(w) for c, w in zip(columns, widths[1:])])]
    for name in rows:
        lines.append("  ".join([str(name).ljust(widths[0])] + [t.rjust(w) for t, w in zip(cells[name], widths[1:])]))
    n = next(iter(counts)) if len(counts) == 1 else None
    seeds = (f"over {n} seed{'s' if n != 1 else ''}" if n else "over the seeds") if counts else ""
    footer = "; ".join(part for part in (f"mean (min..max) {seeds}" if seeds else "", note) if part)
    return "\n".join(lines + ([footer] if footer else []))


def over_seeds(run, *args, seeds, first=None, **kwargs):
    """``[run(*args, seed, **kwargs) for seed in seeds]``, with ``first``'s keywords added for the first seed only.

    Taught in ``02_too_high_learning_rate``.  The usual ``first`` records curves
    for one seed only (``first=dict(curves=True)``): they are drawn for one
    seed, and recording them for every seed would cost time.

    >>> over_seeds(lambda name, seed, curves=False: (name, seed, curves), "probe", seeds=[0, 1],
    ...            first=dict(curves=True))
    [('probe', 0, True), ('probe', 1, False)]
    """
    if not callable(run):
        raise TypeError(f"over_seeds needs the notebook's run function first, got {type(run).__name__}.")
    seeds = list(seeds) if np.iterable(seeds) else seeds
    if not isinstance(seeds, list) or not seeds:
        raise ValueError(f"seeds must be a non-empty list of seeds such as [0, 1, 2], got {seeds!r}.")
    first = dict(first or {})
    return [run(*args, seed, **kwargs, **(first if i == 0 else {})) for i, seed in enumerate(seeds)]


def scores(runs, key="test"):
    """One value per seed: ``runs[i][key]`` for dicts, ``runs[i].key`` for results such as a ``StrategyRun``.

    Taught in ``02_too_high_learning_rate``.

    >>> scores([{"test": 0.5}, {"test": 0.75}])
    array([0.5 , 0.75])
    >>> scores([{"test": 0.5}], "tset")
    Traceback (most recent call last):
    ...
    KeyError: "the runs have no score 'tset'; they have: test"
    """
    runs = list(runs)
    values = []
    for r in runs:
        if isinstance(r, dict):
            if key not in r:
                raise KeyError(f"the runs have no score {key!r}; they have: {', '.join(map(str, r))}")
            values.append(r[key])
        elif hasattr(r, key):
            values.append(getattr(r, key))
        else:
            known = ", ".join(k for k in getattr(r, "__dataclass_fields__", None) or vars(r) if not k.startswith("_"))
            raise KeyError(f"the runs have no score {key!r}; a {type(r).__name__} has: {known}")
    return np.array(values)


# --------------------------------------------------------------------------- the explorer
class _Explorer:
    """Controls over one Output that always holds one view; displays as the widget, or stored as the default view."""

    def __init__(self, show, controls, button, note):
        import ipywidgets as widgets

        self.show, self.controls, self.note = show, controls, note
        for control in controls.values():             # labels that fit ("unfrozen blocks", not "unfrozen ...")
            if "description_width" in getattr(getattr(control, "style", None), "keys", ()):
                control.style.description_width = "initial"
        self.output = widgets.Output()
        row = list(controls.values())
        if button:
            self.button = widgets.Button(description=button)
            self.button.on_click(lambda _: self.redraw())
            row.append(self.button)
        else:
            for control in controls.values():
                control.observe(lambda _: self.redraw(), names="value")
        self.box = widgets.VBox([widgets.HBox(row) if len(row) > 1 else row[0], self.output])
        self.default = self._draw_default()

    def values(self):
        return {name: control.value for name, control in self.controls.items()}

    def redraw(self):
        """Replace the view with the one for the controls' current values (what moving a control does)."""
        with self.output:
            self.output.clear_output(wait=True)
            self.show(**self.values())

    def _draw_default(self):
        """Draw the default view into the Output, captured, so no plot lands outside it; return what was drawn."""
        from IPython.utils.capture import capture_output

        with capture_output() as captured:
            self.show(**self.values())
        outputs = [dict(output_type="display_data", data=dict(o.data), metadata=dict(o.metadata or {}))
                   for o in captured.outputs]
        if captured.stdout:
            outputs.append(dict(output_type="stream", name="stdout", text=captured.stdout))
        self.output.outputs = tuple(outputs)
        return outputs

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The widget for a live notebook; where it is not shown (GitHub, a stored notebook) the default plot and
        a short note instead of the widget's text form ``VBox(children=...``."""
        bundle = dict(self.box._repr_mimebundle_(include=include, exclude=exclude) or {})
        images = [o["data"]["image/png"] for o in self.default if "image/png" in o.get("data", {})]
        if images:
            bundle["image/png"] = images[-1]
        bundle["text/plain"] = self.note
        return bundle


def explorer(show, *, button=None, note=NOTE, **controls):
    """Controls that redraw one view: the default view is drawn at once, and a control replaces it.

    Taught in ``01_leaky_splits``.  ``show(**values)`` draws a view for the
    controls' values and ends with ``plt.show()``; each keyword is an
    ipywidgets control whose name is a parameter of ``show``.  Moving a control
    redraws (or, with ``button="Run"``, pressing the button does, for views
    that train).  The default view is drawn inside the explorer's Output, so
    the next view replaces it.  Make it the last line of its cell: it displays
    as the controls over the view; a stored notebook keeps the default plot and
    ``note`` (not the widget's text form).

    >>> import ipywidgets as widgets
    >>> ex = explorer(lambda n: print("n =", n), n=widgets.IntSlider(value=3, description="thawed blocks"))
    >>> ex.default[0]["text"], ex.controls["n"].style.description_width
    ('n = 3\\n', 'initial')
    >>> ex._repr_mimebundle_()["text/plain"]
    'Run the notebook to use the controls.'
    >>> explorer(lambda n: None, m=widgets.IntSlider())
    Traceback (most recent call last):
    ...
    TypeError: explorer: the control 'm' is not a parameter of show(n). Name each control after the parameter it sets.
    """
    if not callable(show):
        raise TypeError(f"explorer needs a function that draws the view first, got {type(show).__name__}.")
    if not controls:
        raise TypeError("explorer needs at least one control, e.g. explorer(show, rank=widgets.IntSlider(...)).")
    for name, control in controls.items():
        if not hasattr(control, "value") or not hasattr(control, "observe"):
            raise TypeError(f"explorer: {name}= must be an ipywidgets control (a slider, a dropdown...), "
                            f"got {type(control).__name__}.")
    params = inspect.signature(show).parameters
    takes_any = any(p.kind == p.VAR_KEYWORD for p in params.values())
    for name in controls:
        if name not in params and not takes_any:
            raise TypeError(f"explorer: the control {name!r} is not a parameter of show({', '.join(params)}). "
                            "Name each control after the parameter it sets.")
    return _Explorer(show, controls, button, note)
