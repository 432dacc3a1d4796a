"""Argument checks shared by every public function of ``course_lib``.

Each check raises a ``ValueError`` or ``TypeError`` whose message says three
things, in the style of scikit-learn: what was wrong, what was received, and
what to do instead.  Learners read these messages, so they are written for
people, not for the interpreter.
"""

import difflib
import numbers

import numpy as np


def check_positive(name, value, *, integer=False, allow_zero=False):
    """Raise unless ``value`` is a positive number (an int when ``integer``)."""
    kind = "integer" if integer else "number"
    ok_type = isinstance(value, numbers.Integral) if integer else isinstance(value, numbers.Real)
    if isinstance(value, bool) or not ok_type:
        raise TypeError(f"{name} must be {'an' if kind == 'integer' else 'a'} {kind}, got {value!r} ({type(value).__name__}).")
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = "zero or more" if allow_zero else "greater than zero"
        hint = ""
        if name in ("lr", "head_lr", "learning_rate"):
            hint = (" The course trains from scratch at 3e-3 (recipes.LR_SCRATCH), fine-tunes at 3e-4"
                    " (recipes.LR_FINETUNE) and trains a head alone at 1e-2 (recipes.LR_HEAD).")
        raise ValueError(f"{name} must be {bound}, got {value!r}.{hint}")
    return value


def check_fraction(name, value, *, low=0.0, high=1.0, inclusive=False):
    """Raise unless ``low < value < high`` (or ``<=`` on both ends when ``inclusive``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number between {low} and {high}, got {value!r}.")
    inside = low <= value <= high if inclusive else low < value < high
    if not inside:
        ends = "inclusive" if inclusive else "exclusive"
        raise ValueError(f"{name} must lie between {low} and {high} ({ends}), got {value!r}.")
    return value


def check_choice(name, value, choices):
    """Raise unless ``value`` is one of ``choices``; the message lists them."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"Unknown {name} {value!r}. Choose one of: {listed}.")
    return value


def check_images(images, *, name="images"):
    """Check a batch of images shaped (N, H, W) or (N, C, H, W) and return it.

    Accepts NumPy arrays and torch tensors.  Raises when the batch is empty or
    has the wrong number of dimensions.
    """
    shape = tuple(getattr(images, "shape", ()))
    if len(shape) not in (3, 4):
        raise ValueError(
            f"{name} must be a batch of images shaped (N, H, W) or (N, C, H, W), got shape {shape}. "
            "If you have a single image, add a batch axis with images[None]."
        )
    if shape[0] == 0:
        raise ValueError(f"{name} is empty (0 images). Check the filter or split that produced it.")
    return images


def check_seed(seed, *, name="seed", allow_none=False):
    """Raise unless ``seed`` is a non-negative integer (or None when ``allow_none``); return it.

    A float seed such as 1.5 is refused rather than truncated to 1.
    """
    if seed is None and allow_none:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"{name} must be a non-negative integer such as 0 or 42, got {seed!r}"
                         f"{f' ({type(seed).__name__})' if not isinstance(seed, numbers.Integral) else ''}.")
    return int(seed)


def check_keywords(where, unknown, known, aliases=None):
    """Raise a ``TypeError`` naming the closest known keyword for each misspelt one in ``unknown``.

    ``aliases`` maps names from other libraries (``learning_rate``) to the
    course's (``lr``).

    >>> check_keywords("fit", {"epoch": 3}, ["epochs", "lr"])
    Traceback (most recent call last):
    ...
    TypeError: fit() got an unexpected keyword argument 'epoch'. Did you mean epochs=...?
    """
    if not unknown:
        return
    aliases = aliases or {}
    parts = []
    for name in unknown:
        close = aliases.get(name) or next(iter(difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)), None)
        if close and " " in close:                      # an explanation rather than a keyword
            parts.append(f"'{name}': {close}")
        else:
            parts.append(f"'{name}'" + (f". Did you mean {close}=...?" if close else ""))
    listed = ", ".join(sorted(known))
    if len(parts) == 1 and ("Did you mean" in parts[0] or ": " in parts[0]):
        raise TypeError(f"{where}() got an unexpected keyword argument {parts[0]}")
    raise TypeError(f"{where}() got unexpected keyword argument(s) {'; '.join(parts)}. It takes: {listed}.")


def is_imageset(obj):
    """True for a course ``ImageSet`` (or anything shaped like one)."""
    return all(hasattr(obj, a) for a in ("images", "labels", "class_names", "subset"))


def check_imageset(dataset, where):
    """Raise unless ``dataset`` is an ImageSet; ``where`` names the function that needs it."""
    if not is_imageset(dataset):
        raise TypeError(f"{where} needs an ImageSet (from course_lib.data.load or data.ImageSet(...)), "
                        f"got {type(dataset).__name__}.")
    return dataset


def as_gray_images(images, *, name="images"):
    """A batch of grayscale images as a NumPy array (N, H, W), from an ImageSet, an array or a tensor.

    (N, 1, H, W), the shape models take, is accepted too.  Raises when the
    input is not images, has the wrong shape, or is empty.
    """
    x = images.images if is_imageset(images) else images
    if hasattr(x, "detach"):                          # torch tensor
        x = x.detach().cpu().numpy()
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be an ImageSet (from course_lib.data) or an array of images shaped "
                        f"(N, H, W), got {type(images).__name__}.")
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3:
        raise ValueError(f"{name} must be a batch of grayscale images shaped (N, H, W) or (N, 1, H, W), "
                         f"got shape {x.shape}. For a single image add a batch axis with images[None].")
    if len(x) == 0:
        raise ValueError(f"{name} is empty (0 images): there is nothing to compare. "
                         "Check the split or filter that produced it.")
    return x


def unit_float(images):
    """Images as float64 in 0..1 (uint8 pixels are divided by 255, other types kept as they are)."""
    return images.astype(np.float64) / 255.0 if images.dtype == np.uint8 else images.astype(np.float64)


def check_labels(labels, n_classes=None, *, name="labels", n_items=None):
    """Check a 1-D array of integer class labels and return it as a NumPy array.

    ``n_classes``: labels must lie in ``0 .. n_classes - 1``.
    ``n_items``: the number of images the labels belong to.
    """
    arr = labels.detach().cpu().numpy() if hasattr(labels, "detach") else np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one label per item (a 1-D array), got shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (0 items). Check the filter or split that produced it.")
    if not np.issubdtype(arr.dtype, np.integer):
        example = f" (such as {arr.flat[0]!r})" if arr.dtype.kind in "USO" else ""
        raise TypeError(
            f"{name} must hold integer class ids 0, 1, 2, ..., got dtype {arr.dtype}{example}. "
            "Convert class names to ids first, for example with sklearn.preprocessing.LabelEncoder."
        )
    if n_items is not None and arr.size != n_items:
        raise ValueError(
            f"{name} has {arr.size} entries but there are {n_items} images: they must match one to one."
        )
    if n_classes is not None and (arr.min() < 0 or arr.max() >= n_classes):
        bad = sorted({int(v) for v in arr if v < 0 or v >= n_classes})[:5]
        raise ValueError(
            f"{name} must lie in 0..{n_classes - 1} for a model with {n_classes} classes, "
            f"found {bad}. If these labels are right, build the model with n_classes={int(arr.max()) + 1}; if the "
            "data come from another task than the model's, pass data of the model's task."
        )
    return arr


def check_same_length(**arrays):
    """Raise unless every array given has the same length; names them in the message."""
    lengths = {k: len(v) for k, v in arrays.items() if v is not None}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{k}={n}" for k, n in lengths.items())
        raise ValueError(f"These must have the same length, one entry per item: {listed}.")


def check_pixels(images, *, name="images"):
    """Raise unless ``images`` hold grayscale pixels the course can scale, shaped (N, H, W).

    Used by ``data.ImageSet``: uint8 (and other integers) in 0..255, or floats
    in 0..1 (kept as they are) or in 0..255 (divided by 255).  Non-finite
    values, values outside 0..255 and colour or channel axes are refused with
    the line that fixes them.
    """
    arr = np.asarray(images)
    if arr.ndim == 4:
        if arr.shape[1] == 1:
            fix = "images[:, 0]"
        elif arr.shape[-1] in (3, 4):
            fix = "images.mean(axis=-1) (or PIL's Image.convert('L') on each image)"
        else:
            fix = "one channel per image"
        raise ValueError(f"{name} must be grayscale images shaped (N, H, W), got shape {arr.shape}: a colour or "
                         f"channel axis. Convert them first, with {fix}.")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must hold numbers (pixel values), uint8 0..255 or floats 0..1, got dtype {arr.dtype}.")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            bad = int((~np.isfinite(arr)).any(axis=tuple(range(1, arr.ndim))).sum())
            raise ValueError(f"{name} hold NaN or infinite pixel values (in {bad} image(s)). Find where they came "
                             "from, or replace them, for example with np.nan_to_num(images).")
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise ValueError(f"{name} are floats in {arr.min():g}..{arr.max():g}, but float pixels must lie in "
                             "0..1 (or 0..255). Rescale them first, for example (images - images.min()) / "
                             "(images.max() - images.min()).")
    elif arr.dtype != np.uint8 and arr.size and (arr.min() < 0 or arr.max() > 255):
        raise ValueError(f"{name} have {arr.dtype} values in {arr.min()}..{arr.max()}, outside 0..255 (16-bit "
                         "images?). Scale them to uint8 first, for example (images / images.max() * 255).round()"
                         ".astype(np.uint8).")
    return arr


def check_integer(name, value, *, low=None, high=None, unit="", note="", kind="a whole number", hint=""):
    """Raise a ``ValueError`` unless ``value`` is an int (not a bool or a float) in ``low .. high``; return it.

    The message reads "``name`` must be ``kind``\\ ``unit`` from ``low`` to ``high``\\ ``note``, got ...",
    for example:

    >>> check_integer("max_shift", -1, low=0, unit=" of pixels")
    Traceback (most recent call last):
    ...
    ValueError: max_shift must be a whole number of pixels, 0 or more, got -1.
    >>> check_integer("blocks", 2.0, low=1, high=3)
    Traceback (most recent call last):
    ...
    ValueError: blocks must be a whole number from 1 to 3, got 2.0.
    """
    ok = not isinstance(value, bool) and isinstance(value, numbers.Integral)
    if ok and (low is None or value >= low) and (high is None or value <= high):
        return int(value)
    if low is not None and high is not None:
        bounds = f" from {low} to {high}"
    elif low is not None:
        bounds = f", {low} or more"
    elif high is not None:
        bounds = f", {high} or less"
    else:
        bounds = ""
    raise ValueError(f"{name} must be {kind}{unit}{bounds}{note}, got {value!r}.{hint}")


def as_number(value):
    """``value`` as a float when it is one number (an int, a float, a 0-d or one-element array or tensor), else None.

    Never raises: the caller says what was wrong in its own words (``lessons.lesson_check`` raises,
    ``exercises`` tells the learner).  A NaN comes back as NaN, for the caller to judge.

    >>> as_number(3), as_number(np.float32(0.5)), as_number([0.25]), as_number("0.5"), as_number(True)
    (3.0, 0.5, 0.25, None, None)
    """
    if isinstance(value, (bool, np.bool_, str, bytes)):
        return None
    if hasattr(value, "detach"):  # a torch tensor, e.g. a model's output
        value = value.detach().cpu()
    try:
        arr = np.asarray(value)
    except Exception:
        return None
    if arr.size != 1 or arr.dtype.kind not in "iuf":
        return None
    return float(arr.reshape(()))


def check_scores(where, values, *, one_number_ok=False, fix="Re-run it, or leave it out."):
    """One score per seed as a 1-D float array; raises unless ``values`` is a flat list of finite numbers.

    Accepts lists, tuples, NumPy arrays and tensors; with ``one_number_ok`` a
    single number counts as one seed.  The one check behind ``compare``,
    ``plots`` and ``audit``'s per-seed scores.

    >>> check_scores("scores", [0.8, 0.82]).tolist()
    [0.8, 0.82]
    >>> check_scores("scores", [0.8, float("nan")])
    Traceback (most recent call last):
    ...
    ValueError: scores contains nan, not a finite number: that run probably failed. Re-run it, or leave it out.
    """
    example = "such as [0.80, 0.83, 0.82]"
    if hasattr(values, "detach"):
        values = values.detach().cpu()
    if hasattr(values, "tolist"):
        values = values.tolist()
    if one_number_ok and isinstance(values, numbers.Real) and not isinstance(values, bool):
        values = [values]
    if isinstance(values, (str, bytes, numbers.Number)) or not hasattr(values, "__iter__"):
        if one_number_ok:
            raise TypeError(f"{where} must be a number or a list of numbers, one score per seed, such as 0.82 or "
                            f"[0.80, 0.83, 0.82]; got {values!r}.")
        raise TypeError(f"{where} must be a list of numbers, one score per seed, {example}; got {values!r}.")
    values = list(values)
    if not values:
        raise ValueError(f"{where} is an empty list. Give one score per seed, or leave the run out.")
    for v in values:
        if hasattr(v, "__len__") and not isinstance(v, (str, bytes)):
            raise ValueError(f"{where} must be a flat list of numbers, one per seed, {example}; found {v!r} in it.")
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"{where} must hold numbers, one score per seed, {example}; found {v!r} "
                            f"({type(v).__name__}).")
        if not np.isfinite(v):
            raise ValueError(f"{where} contains {v!r}, not a finite number: that run probably failed. {fix}")
    return np.asarray(values, dtype=float)
