"""Bring your own images: write and read a folder of images in torchvision's ``ImageFolder`` layout.

Taught in ``09_capstone_decision_path``.  The layout is one subfolder per
class, named after the class, holding that class's images::

    my_images/
        cup/    0000.png  0001.png  ...
        flag/   0000.png  ...

Class ids follow the alphabetical order of the folder names, as in
``torchvision.datasets.ImageFolder``.  :func:`write_image_folder` writes any
``ImageSet`` that way (so the course can show the audit on a folder without
downloading anything); :func:`load_image_folder` reads such a folder back as an
``ImageSet`` in grayscale (from RGB, RGBA, 16-bit or palette files), resizes
it when asked (``size=(20, 20)``, the size of the course's bases), and says
clearly what is wrong with a folder it cannot use: missing, empty, a single
class, a class without images, a split folder (``train/`` and ``val/``)
given whole, an unreadable file, or images of different sizes.

>>> import tempfile
>>> from course_lib import data, folders
>>> few = data.load("clinic").take_per_class(3, seed=0)
>>> root = folders.write_image_folder(few, tempfile.mkdtemp() + "/clinic_images")
>>> sorted(p.name for p in root.iterdir())
['cup', 'flag', 'knee', 'tick', 'vane']
>>> back = folders.load_image_folder(root)
>>> back.class_names, back.class_counts(), back.images.shape
(['cup', 'flag', 'knee', 'tick', 'vane'], [3, 3, 3, 3, 3], (15, 20, 20))
"""

import numbers
import os
import unicodedata
import warnings
from pathlib import Path

import numpy as np

from ._checks import check_imageset

__all__ = ["IMAGE_EXTENSIONS", "ImageFolderError", "write_image_folder", "load_image_folder"]

# The extensions torchvision's ImageFolder reads; other files are skipped (and named in a warning).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
LAYOUT = "root/<class name>/<image>.png, one subfolder per class"
# Folder names that mark the sides of a split rather than classes.
SPLIT_NAMES = ("train", "training", "val", "valid", "validation", "test", "testing", "dev", "holdout")


class ImageFolderError(ValueError):
    """A folder of images that cannot be used as it is; the message says what to change."""


# --------------------------------------------------------------------------- writing
def _folder_name(name):
    """``name`` (a class name) if it can be a folder name, else a clear error."""
    text = str(name)
    if not text.strip() or text in (".", "..") or "/" in text or "\\" in text or text.startswith("."):
        raise ValueError(f"The class name {text!r} cannot be a folder name (it is empty, starts with a dot or "
                         "holds a slash). Rename the class first, for example with class_names=[...].")
    return text


def write_image_folder(imageset, root, *, overwrite=False):
    """Write ``imageset`` as PNG files ``root/<class name>/<n>.png`` and return ``root`` as a Path.

    Taught in ``09_capstone_decision_path``.  The files are numbered 0000,
    0001, ... within each class in the order of the set, and the same set
    always gives the same bytes.  ``root`` must be new or empty; with
    ``overwrite=True`` the PNG files already in the class folders being written
    are removed first (nothing else is touched).  Group ids and acquisition
    times are not kept: a folder holds only images and their class.

    >>> import tempfile
    >>> from course_lib import data
    >>> few = data.load("clinic").take_per_class(2, seed=0)
    >>> root = write_image_folder(few, tempfile.mkdtemp() + "/two_per_class")
    >>> sorted(p.name for p in (root / "cup").iterdir())
    ['0000.png', '0001.png']
    """
    from PIL import Image

    check_imageset(imageset, "write_image_folder")
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a folder path (a str or pathlib.Path), got {type(root).__name__}.")
    images = np.asarray(imageset.images)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise TypeError(f"write_image_folder writes grayscale uint8 images shaped (N, H, W), got dtype "
                        f"{images.dtype} and shape {images.shape}. Convert 0..1 floats with "
                        "(x * 255).round().astype(np.uint8).")
    names = [_folder_name(c) for c in imageset.class_names]
    if len(set(names)) != len(names):
        raise ValueError(f"Two classes share a name in {names}: each class needs its own folder. Rename one.")
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"{root} is a file, not a folder. Choose another path for the image folder.")
    if root.exists() and any(root.iterdir()) and not overwrite:
        raise FileExistsError(f"{root} already holds files. Choose a new or empty folder, or pass "
                              "overwrite=True to replace the PNG files of these classes.")
    for name in names:
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()
    counters = [0] * len(names)
    for image, label in zip(images, imageset.labels):
        Image.fromarray(image).save(root / names[label] / f"{counters[label]:04d}.png")
        counters[label] += 1
    return root


# --------------------------------------------------------------------------- reading
def _class_folders(root):
    """The class subfolders of ``root`` (hidden ones such as .ipynb_checkpoints skipped), sorted by name."""
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a folder path (a str or pathlib.Path), got {type(root).__name__}.")
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"There is no folder {root}. Check the path (it is read relative to "
                                f"{Path.cwd()}), or write one with folders.write_image_folder(imageset, root).")
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is a file, not a folder. Give the folder that holds one subfolder "
                                 f"per class ({LAYOUT}).")
    entries = sorted(root.iterdir())
    folders = [p for p in entries if p.is_dir() and not p.name.startswith(".")]
    if not folders:
        loose = [p.name for p in entries if p.suffix.lower() in IMAGE_EXTENSIONS]
        where = (f"It holds {len(loose)} image file(s) directly (such as {loose[0]!r}): move them into one "
                 "subfolder per class." if loose else "It is empty or holds no subfolders.")
        raise ImageFolderError(f"{root} has no class subfolders. {where} The layout is {LAYOUT}.")
    _refuse_split_folder(root, folders)
    if len(folders) == 1:
        raise ImageFolderError(f"{root} has a single class folder, {folders[0].name!r}: a classifier needs at "
                               f"least two classes. Add a folder for each other class ({LAYOUT}).")
    names = [_class_name(p) for p in folders]
    if len(set(names)) != len(names):
        twin = next(n for n in names if names.count(n) > 1)
        raise ImageFolderError(f"{root} has two class folders named {twin!r} (written with different Unicode "
                               "forms, as happens when a folder is copied from macOS): merge them into one.")
    folders = [p for _, p in sorted(zip(names, folders))]
    return root, folders


def _class_name(folder):
    """A class folder's name in Unicode's NFC form, so that a folder copied from macOS (NFD) gives the same name."""
    return unicodedata.normalize("NFC", folder.name)


def _images_in(folder, recursive=False):
    """Image files in ``folder`` (and its non-hidden subfolders when ``recursive``), sorted."""
    found = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS:
            found.append(p)
        elif recursive and p.is_dir():
            found += _images_in(p, recursive=True)
    return found


def _refuse_split_folder(root, folders):
    """Raise when ``root`` holds the sides of a split (``train/``, ``val/``, ...), each with class subfolders."""
    def subfolders(p):
        return [q for q in p.iterdir() if q.is_dir() and not q.name.startswith(".")]

    nested = [p for p in folders if not _images_in(p) and any(_images_in(q, True) for q in subfolders(p))]
    named = [p for p in nested if p.name.lower() in SPLIT_NAMES]
    same = len(nested) >= 2 and len({tuple(sorted(q.name for q in subfolders(p))) for p in nested}) == 1
    if named or (same and len(nested) == len(folders)):
        sides = nested if same else named
        listed = " and ".join(repr(str(root / p.name)) for p in sides[:3])
        raise ImageFolderError(f"{root} looks like a split folder: {', '.join(p.name for p in sides)} each hold "
                               f"class subfolders. Pass each side on its own, such as {listed}: for example "
                               f"folders.load_image_folder({str(root / sides[0].name)!r}), or "
                               f"audit({str(root / sides[0].name)!r}, {str(root / sides[-1].name)!r}).")


def _check_size(size):
    """``size`` as ``(height, width)``: an int n means n x n."""
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (size, size)
    ok = (isinstance(size, (tuple, list)) and len(size) == 2
          and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0 for v in size))
    if not ok:
        raise ValueError(f"size must be (height, width) in pixels, such as (20, 20) for the course's bases, or one "
                         f"integer for square images; got {size!r}.")
    return int(size[0]), int(size[1])


def _to_gray(img):
    """A PIL image as a uint8 array (H, W): grayscale, 16-bit scaled to 8, transparency composited on black.

    The course's images are bright ink on a dark background, so a transparent
    pixel counts as background (black).  When the colour channels are flat and
    the drawing lives in the alpha channel alone (ink painted as opacity), the
    alpha channel is the image.
    """
    mode = img.mode
    if mode in ("L", "RGB"):
        return np.asarray(img.convert("L"), dtype=np.uint8)
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        return _to_gray(img)
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or (mode == "I" and arr.max() > 255) else 255.0
        if mode == "F" and arr.size and 0 <= arr.min() and arr.max() <= 1:
            top = 1.0
        return np.clip(np.floor(arr / top * 255.0 + 0.5), 0, 255).astype(np.uint8)
    if mode in ("LA", "La", "PA", "RGBa", "RGBA"):
        rgba = img.convert("RGBA")
        gray = np.asarray(rgba.convert("L"), dtype=np.float64)
        alpha = np.asarray(rgba, dtype=np.float64)[..., 3]
        if alpha.min() == 255:
            return gray.astype(np.uint8)
        seen = gray[alpha > 0]
        if seen.size == 0 or np.ptp(seen) <= 1:
            return alpha.astype(np.uint8)                   # flat colour: the drawing is in the alpha channel alone
        return np.floor(gray * alpha / 255.0 + 0.5).astype(np.uint8)
    return np.asarray(img.convert("L"), dtype=np.uint8)


def _read_gray(path):
    """One image file as a uint8 array (H, W), converted to grayscale; names the file when it fails."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            return _to_gray(img)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ImageFolderError(f"Cannot read the image file {path} ({type(err).__name__}: {err}). It is damaged "
                               "or not really an image: open it in an image viewer, then re-save it or delete "
                               "it.") from None


def _default_name(root):
    """``parent/folder`` for a folder path: ``my_images/train`` reads better in a report than ``train``."""
    return f"{root.parent.name}/{root.name}" if root.parent.name else root.name


def load_image_folder(root, name=None, *, size=None):
    """Read a folder in ``ImageFolder`` layout (``root/<class name>/<image>``) as a grayscale ``ImageSet``.

    Taught in ``09_capstone_decision_path``.  Class ids follow the alphabetical
    order of the folder names (as in torchvision's ``ImageFolder``; names are
    compared in Unicode's NFC form, so a folder copied from macOS gives the
    same classes), images within a class the order of their file names.
    Colour images are converted to grayscale (RGB, RGBA and palette files; in
    RGBA, transparent counts as the dark background, and a drawing held in
    the alpha channel alone is kept), 16-bit images are scaled to 8 bits.
    Images in subfolders of a class folder are read as that class, as
    torchvision does, with a warning.  Files that are not images (by
    extension, see ``IMAGE_EXTENSIONS``) are skipped: hidden ones silently,
    others named in a warning and in ``imageset.meta["skipped_files"]``.

    ``size``: ``(height, width)`` (or one integer) to resize every image to,
    with one warning saying how many were resized; the course's bases take
    ``(20, 20)``.  Without it every image must have the same size, and a
    folder with several sizes is refused with the call that resizes it.

    Raises ``FileNotFoundError`` / ``NotADirectoryError`` for a missing path or
    a file, and :class:`ImageFolderError` (a ``ValueError``) for a folder
    without class subfolders, with a single class, with a class folder that
    holds no images, with an unreadable image, or with images of different
    sizes; each message names the path and says what to do.  ``name``
    defaults to the folder and its parent, such as ``"field_station/train"``,
    so that a train and a val folder of one project read apart in a report.

    >>> import tempfile
    >>> from course_lib import data
    >>> root = write_image_folder(data.load("clinic").take_per_class(2, seed=0), tempfile.mkdtemp() + "/imgs")
    >>> load_image_folder(root, name="my scans")
    ImageSet('my scans': 10 images of 20x20, 5 classes)
    """
    if size is not None:
        size = _check_size(size)
    given = root
    root, class_folders = _class_folders(root)
    images, labels, files, skipped, nested = [], [], [], [], []
    for label, folder in enumerate(class_folders):
        entries = sorted(p for p in folder.iterdir() if p.is_file())
        found = [p for p in entries if p.suffix.lower() in IMAGE_EXTENSIONS]
        skipped += [p for p in entries if p not in found and not p.name.startswith(".")]
        deeper = [p for p in _images_in(folder, recursive=True) if p.parent != folder]
        if deeper:
            nested.append((folder, deeper))
            found = sorted(found + deeper)
        if not found:
            raise ImageFolderError(f"The class folder {folder} holds no image files (looked for "
                                   f"{', '.join(IMAGE_EXTENSIONS)}). Add images of class {folder.name!r}, "
                                   "or delete the folder if that class is not part of the task.")
        for path in found:
            images.append(_read_gray(path))
            labels.append(label)
            files.append(path)
    if nested:
        folder, deeper = nested[0]
        warnings.warn(f"Read {sum(len(d) for _, d in nested)} image(s) from subfolders of class folders, such as "
                      f"{deeper[0]}, as images of the class folder above them ({folder.name!r}), as torchvision's "
                      "ImageFolder does. If those subfolders are classes of their own, move them up to "
                      f"{root}.", stacklevel=2)
    if size is not None:
        resized = sum(image.shape != size for image in images)
        if resized:
            from PIL import Image

            images = [image if image.shape == size else
                      np.asarray(Image.fromarray(image).resize((size[1], size[0]), Image.BILINEAR), dtype=np.uint8)
                      for image in images]
            warnings.warn(f"Resized {resized} of {len(images)} images in {root} to {size[0]}x{size[1]} "
                          "(height x width), as size= asked.", stacklevel=2)
    sizes = {}
    for path, image in zip(files, images):
        sizes.setdefault(image.shape, path)
    if len(sizes) > 1:
        (shape_a, file_a), (shape_b, file_b) = list(sizes.items())[:2]
        raise ImageFolderError(
            f"The images in {root} have different sizes: {file_a} is {shape_a[1]}x{shape_a[0]} but {file_b} is "
            f"{shape_b[1]}x{shape_b[0]} (width x height; {len(sizes)} sizes in all). Resize them all to one size "
            f"as you read them (the course's bases take 20x20): "
            f"folders.load_image_folder({str(given)!r}, size=(20, 20)).")
    if skipped:
        warnings.warn(f"Skipped {len(skipped)} file(s) in {root} that are not images, such as {skipped[0]}.",
                      stacklevel=2)
    from .data import ImageSet

    return ImageSet(np.stack(images), np.array(labels, dtype=np.int64), [_class_name(p) for p in class_folders],
                    name or _default_name(root), summary=f"images read from the folder {root}",
                    meta=dict(folder=str(root), files=[str(p) for p in files],
                              skipped_files=[str(p) for p in skipped]))
