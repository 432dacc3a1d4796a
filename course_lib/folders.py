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
``ImageSet`` in grayscale, and says clearly what is wrong with a folder it
cannot use: missing, empty, a single class, a class without images, an
unreadable file, or images of different sizes.

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

import os
import warnings
from pathlib import Path

import numpy as np

from ._checks import check_imageset

__all__ = ["IMAGE_EXTENSIONS", "ImageFolderError", "write_image_folder", "load_image_folder"]

# The extensions torchvision's ImageFolder reads; other files are skipped (and named in a warning).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
LAYOUT = "root/<class name>/<image>.png, one subfolder per class"


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
    if len(folders) == 1:
        raise ImageFolderError(f"{root} has a single class folder, {folders[0].name!r}: a classifier needs at "
                               f"least two classes. Add a folder for each other class ({LAYOUT}).")
    return root, folders


def _read_gray(path):
    """One image file as a uint8 array (H, W), converted to grayscale; names the file when it fails."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            return np.asarray(img.convert("L"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ImageFolderError(f"Cannot read the image file {path} ({type(err).__name__}: {err}). It is damaged "
                               "or not really an image: open it in an image viewer, then re-save it or delete "
                               "it.") from None


def _default_name(root):
    """``parent/folder`` for a folder path: ``my_images/train`` reads better in a report than ``train``."""
    return f"{root.parent.name}/{root.name}" if root.parent.name else root.name


def load_image_folder(root, name=None):
    """Read a folder in ``ImageFolder`` layout (``root/<class name>/<image>``) as a grayscale ``ImageSet``.

    Taught in ``09_capstone_decision_path``.  Class ids follow the alphabetical
    order of the folder names (as in torchvision's ``ImageFolder``), images
    within a class the order of their file names.  Colour images are converted
    to grayscale; every image must have the same size.  Files that are not
    images (by extension, see ``IMAGE_EXTENSIONS``) are skipped: hidden ones
    silently, others named in a warning and in ``imageset.meta["skipped_files"]``.

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
    root, class_folders = _class_folders(root)
    images, labels, files, skipped = [], [], [], []
    for label, folder in enumerate(class_folders):
        entries = sorted(p for p in folder.iterdir() if p.is_file())
        found = [p for p in entries if p.suffix.lower() in IMAGE_EXTENSIONS]
        skipped += [p for p in entries if p not in found and not p.name.startswith(".")]
        if not found:
            raise ImageFolderError(f"The class folder {folder} holds no image files (looked for "
                                   f"{', '.join(IMAGE_EXTENSIONS)}). Add images of class {folder.name!r}, "
                                   "or delete the folder if that class is not part of the task.")
        for path in found:
            images.append(_read_gray(path))
            labels.append(label)
            files.append(path)
    sizes = {}
    for path, image in zip(files, images):
        sizes.setdefault(image.shape, path)
    if len(sizes) > 1:
        (shape_a, file_a), (shape_b, file_b) = list(sizes.items())[:2]
        raise ImageFolderError(
            f"The images in {root} have different sizes: {file_a} is {shape_a[1]}x{shape_a[0]} but {file_b} is "
            f"{shape_b[1]}x{shape_b[0]} (width x height; {len(sizes)} sizes in all). Resize them all to one size "
            "first (the course's bases take 20x20), for example with PIL: Image.open(f).resize((20, 20)).")
    if skipped:
        warnings.warn(f"Skipped {len(skipped)} file(s) in {root} that are not images, such as {skipped[0]}.",
                      stacklevel=2)
    from .data import ImageSet

    return ImageSet(np.stack(images), np.array(labels, dtype=np.int64), [p.name for p in class_folders],
                    name or _default_name(root), summary=f"images read from the folder {root}",
                    meta=dict(folder=str(root), files=[str(p) for p in files],
                              skipped_files=[str(p) for p in skipped]))
