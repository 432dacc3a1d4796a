"""course_lib.folders: write and read image folders, and every bad folder gets a clear message."""

import numpy as np
import pytest
from PIL import Image

from course_lib import data, folders
from course_lib.folders import ImageFolderError, load_image_folder, write_image_folder


@pytest.fixture(scope="module")
def few():
    return data.load("clinic").take_per_class(3, seed=0)


def _png(path, size=(20, 20), value=128, mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode == "L" else (value, 0, 0)).save(path)


def _two_classes(root):
    for cls in ("a", "b"):
        for i in range(2):
            _png(root / cls / f"{i}.png", value=40 * i + 10)
    return root


def test_round_trip_keeps_every_image_in_imagefolder_order(few, tmp_path):
    root = write_image_folder(few, tmp_path / "imgs")
    back = load_image_folder(root)
    assert back.class_names == sorted(few.class_names)          # alphabetical, as torchvision does it
    for c, name in enumerate(back.class_names):
        original = few.images[few.labels == few.class_names.index(name)]
        np.testing.assert_array_equal(back.images[back.labels == c], original)
    assert back.images.dtype == np.uint8 and back.name == f"{tmp_path.name}/imgs"   # the folder and its parent
    torchvision = pytest.importorskip("torchvision")
    assert torchvision.datasets.ImageFolder(root).class_to_idx == {n: i for i, n in enumerate(back.class_names)}


def test_writing_is_deterministic(few, tmp_path):
    a, b = write_image_folder(few, tmp_path / "a"), write_image_folder(few, tmp_path / "b")
    files = sorted(p.relative_to(a) for p in a.rglob("*.png"))
    assert len(files) == len(few)
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


def test_write_refuses_a_full_folder_unless_told(few, tmp_path):
    root = write_image_folder(few, tmp_path / "imgs")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_image_folder(few, root)
    smaller = few.take_per_class(1, seed=0)
    write_image_folder(smaller, root, overwrite=True)
    assert load_image_folder(root).class_counts() == [1] * 5


def test_write_rejects_bad_input(few, tmp_path):
    with pytest.raises(TypeError, match="ImageSet"):
        write_image_folder(few.images, tmp_path / "x")
    with pytest.raises(TypeError, match="folder path"):
        write_image_folder(few, 42)
    renamed = data.ImageSet(few.images, few.labels, ["a/b", "c", "d", "e", "f"])
    with pytest.raises(ValueError, match="cannot be a folder name"):
        write_image_folder(renamed, tmp_path / "y")
    floats = data.ImageSet(few.images / 255.0, few.labels, list(few.class_names))
    with pytest.raises(TypeError, match="uint8"):
        write_image_folder(floats, tmp_path / "z")


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="There is no folder .*nowhere"):
        load_image_folder(tmp_path / "nowhere")


def test_a_file_is_not_a_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        load_image_folder(tmp_path / "notes.txt")


def test_empty_folder(tmp_path):
    with pytest.raises(ImageFolderError, match="no class subfolders.*empty"):
        load_image_folder(tmp_path)


def test_images_without_class_folders(tmp_path):
    _png(tmp_path / "loose.png")
    with pytest.raises(ImageFolderError, match="move them into one subfolder per class"):
        load_image_folder(tmp_path)


def test_a_single_class(tmp_path):
    _png(tmp_path / "only" / "0.png")
    (tmp_path / ".ipynb_checkpoints").mkdir()                 # hidden folders do not count as classes
    with pytest.raises(ImageFolderError, match="single class folder, 'only'.*at least two"):
        load_image_folder(tmp_path)


def test_a_class_folder_without_images(tmp_path):
    _two_classes(tmp_path)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "readme.txt").write_text("no images here")
    with pytest.raises(ImageFolderError, match=r"class folder .*c holds no image files.*'c'"):
        load_image_folder(tmp_path)


def test_an_unreadable_image_is_named(tmp_path):
    _two_classes(tmp_path)
    (tmp_path / "b" / "broken.png").write_bytes(b"this is not a png")
    with pytest.raises(ImageFolderError, match=r"Cannot read the image file .*broken\.png.*re-save it or delete"):
        load_image_folder(tmp_path)


def test_a_truncated_image_is_named(tmp_path):
    _two_classes(tmp_path)
    good = (tmp_path / "a" / "0.png").read_bytes()
    (tmp_path / "a" / "cut.png").write_bytes(good[: len(good) // 2])
    with pytest.raises(ImageFolderError, match=r"cut\.png"):
        load_image_folder(tmp_path)


def test_mixed_sizes_name_two_files_and_say_resize(tmp_path):
    _two_classes(tmp_path)
    _png(tmp_path / "b" / "big.png", size=(28, 24))
    with pytest.raises(ImageFolderError, match=r"different sizes: .*0\.png is 20x20 but .*big\.png is 28x24.*Resize"):
        load_image_folder(tmp_path)


def test_non_image_files_are_skipped_and_named(tmp_path):
    _two_classes(tmp_path)
    (tmp_path / "a" / "labels.csv").write_text("x")
    (tmp_path / "a" / ".DS_Store").write_bytes(b"\0")         # hidden: skipped silently
    with pytest.warns(UserWarning, match=r"Skipped 1 file.*labels\.csv"):
        ds = load_image_folder(tmp_path, name="mine")
    assert ds.class_counts() == [2, 2] and ds.name == "mine"
    assert [p.endswith("labels.csv") for p in ds.meta["skipped_files"]] == [True]


def test_colour_images_become_grayscale(tmp_path):
    _png(tmp_path / "a" / "0.png", mode="RGB", value=200)
    _png(tmp_path / "b" / "0.jpg", value=100)
    ds = load_image_folder(tmp_path)
    assert ds.images.shape == (2, 20, 20) and ds.images.dtype == np.uint8
    assert ds.images[0].max() == round(0.299 * 200)          # PIL's ITU-R 601-2 luma of pure red


def test_path_must_be_a_path():
    with pytest.raises(TypeError, match="folder path"):
        load_image_folder(3)


# --------------------------------------------------------------------------- issue 14: folders as learners have them
import unicodedata


@pytest.fixture
def digits():
    from course_lib import imbalance
    return imbalance.load_digits_imageset().take_per_class(3, seed=0).subset(np.arange(12))   # classes 0..3


def _write(root, digits, convert):
    """Write ``digits`` as root/<class>/<n>.png, each image passed through ``convert(uint8 array) -> PIL image``."""
    for i, (image, label) in enumerate(zip(digits.images, digits.labels)):
        folder = root / digits.class_names[label]
        folder.mkdir(parents=True, exist_ok=True)
        convert(image).save(folder / f"{i:04d}.png")
    return root


def test_rgb_palette_and_16_bit_files_read_as_the_same_gray(digits, tmp_path):
    gray = folders.load_image_folder(_write(tmp_path / "gray", digits, Image.fromarray)).images
    rgb = folders.load_image_folder(_write(tmp_path / "rgb", digits, lambda a: Image.fromarray(a).convert("RGB")))
    assert np.array_equal(rgb.images, gray)
    palette = folders.load_image_folder(_write(tmp_path / "p", digits, lambda a: Image.fromarray(a).convert("P")))
    assert np.abs(palette.images.astype(int) - gray).max() <= 8            # a 256-colour palette, nearly exact
    sixteen = folders.load_image_folder(_write(tmp_path / "i16", digits,
                                               lambda a: Image.fromarray(a.astype(np.uint16) * 257)))
    assert np.array_equal(sixteen.images, gray)                            # 16-bit 0..65535 scaled back to 8 bits


def test_rgba_with_the_ink_in_the_alpha_channel_does_not_turn_black(digits, tmp_path):
    def ink_as_alpha(a):
        rgba = np.zeros(a.shape + (4,), np.uint8)
        rgba[..., 3] = a                                 # black everywhere, the digit drawn as opacity
        return Image.fromarray(rgba, "RGBA")

    read = folders.load_image_folder(_write(tmp_path / "alpha", digits, ink_as_alpha))
    assert np.array_equal(read.images, digits.images)

    def opaque(a):
        return Image.fromarray(a).convert("RGBA")

    assert np.array_equal(folders.load_image_folder(_write(tmp_path / "opaque", digits, opaque)).images,
                          digits.images)


def test_other_sizes_are_refused_with_the_call_that_resizes_them(digits, tmp_path):
    root = _write(tmp_path / "mixed", digits, lambda a: Image.fromarray(a).resize((40, 40)) if a.sum() % 2 else
                  Image.fromarray(a))
    with pytest.raises(folders.ImageFolderError, match=r"load_image_folder\('.*mixed', size=\(20, 20\)\)"):
        folders.load_image_folder(root)
    with pytest.warns(UserWarning, match=r"Resized \d+ of 12 images .* to 20x20"):
        fixed = folders.load_image_folder(root, size=(20, 20))
    assert fixed.images.shape == (12, 20, 20)
    with pytest.raises(ValueError, match="size must be \\(height, width\\)"):
        folders.load_image_folder(root, size=(20,))


def test_fit_refuses_a_base_on_images_of_another_size_as_audit_does(digits, tmp_path):
    from course_lib import audit, models, train
    root = _write(tmp_path / "big", digits, lambda a: Image.fromarray(a).resize((40, 40)))
    big = folders.load_image_folder(root)                       # one size for all: read as they are
    assert big.images.shape[1:] == (40, 40)
    with pytest.raises(ValueError, match=r"size=\(20, 20\)"):
        train.fit(models.load_base("scans-s", n_classes=4), big, epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"size=\(20, 20\)"):
        audit.audit(big, big, base="scans-s")
    with pytest.warns(UserWarning, match="Resized 12 of 12"):
        resized = folders.load_image_folder(root, size=20)
    hist = train.fit(models.load_base("scans-s", n_classes=4), resized, epochs=1, progress=False)
    assert len(hist) == 1


def test_nested_subfolders_are_read_with_a_warning(digits, tmp_path):
    root = _write(tmp_path / "nested", digits, Image.fromarray)
    inner = root / "0" / "more"
    inner.mkdir()
    Image.fromarray(digits.images[0]).save(inner / "extra.png")
    with pytest.warns(UserWarning, match="subfolders of class folders.*as torchvision's ImageFolder does"):
        read = folders.load_image_folder(root)
    assert read.class_counts()[0] == digits.class_counts()[0] + 1


def test_a_split_folder_is_named_as_one(digits, tmp_path):
    for side in ("train", "val"):
        _write(tmp_path / "project" / side, digits, Image.fromarray)
    with pytest.raises(folders.ImageFolderError, match="looks like a split folder") as info:
        folders.load_image_folder(tmp_path / "project")
    assert "project/train" in str(info.value) and "delete" not in str(info.value)


def test_class_names_in_another_unicode_form_match(digits, tmp_path):
    named = data.ImageSet(digits.images, digits.labels, ["café", "naïve", "señal", "zoë"], "accents")
    nfc = folders.write_image_folder(named, tmp_path / "nfc")
    nfd = tmp_path / "nfd"
    nfd.mkdir()
    for folder in nfc.iterdir():                                # as a folder copied from macOS: decomposed names
        (nfd / unicodedata.normalize("NFD", folder.name)).mkdir()
        for f in folder.iterdir():
            (nfd / unicodedata.normalize("NFD", folder.name) / f.name).write_bytes(f.read_bytes())
    a, b = folders.load_image_folder(nfc), folders.load_image_folder(nfd)
    assert a.class_names == b.class_names == ["café", "naïve", "señal", "zoë"]
    assert np.array_equal(a.labels, b.labels)
    from course_lib import audit
    assert audit.audit(a, b).rows[0].status == "risk"           # the same images: a leak, not "other classes"
