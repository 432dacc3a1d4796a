"""The course's data world: a deterministic generator of tiny grayscale images.

Described in ``data/DATASHEET.md`` and toured in ``00_welcome_first_transfer``.

Why generate images instead of downloading them?  The course must run offline
on a laptop CPU in seconds, and its lessons need data where transfer learning
really matters: a small CNN trained from scratch on a few labels per class
must struggle, while a base pretrained on a related domain must help.  Tiny
real sets (scikit-learn's 8x8 digits) are too easy for that.  So, in the
spirit of MNIST-1D (Greydanus & Kobak), each image is a class *template*
rendered with strong nuisance variation (position, scale, rotation, shear,
stroke width, background texture, dust and grain).

Two kinds of picture stand for two real situations:

* **scans**: thin bright marks on dark, grainy film, like X-rays or
  microscope slides.  Each class is a *glyph*: a path of three strokes on a
  3x3 grid.  The near source domain (``scans``, 10 glyphs) and the target
  task (``clinic``, 5 other glyphs, a few labels per class) are both scans.
* **photos**: filled, shaded objects on smooth backgrounds, like everyday
  photographs.  This is the far source domain (10 shape classes): plenty of
  data and a "famous" base model, but the wrong kind of picture for scans.

Only ``+ - * /``, square roots and NumPy's seeded random generator are used,
and images are rounded to 8 bits, so the same seed gives the same bytes on
every machine: ``python -m course_lib.build`` rebuilds ``data/`` and checks
the checksums.

>>> import numpy as np
>>> from course_lib import world
>>> imgs, labels = world.render_scans(world.SOURCE_GLYPHS[:2], 3, np.random.default_rng(0))
>>> imgs.shape, imgs.dtype, labels.tolist()
((6, 20, 20), dtype('uint8'), [0, 0, 0, 1, 1, 1])
"""

import math

import numpy as np

SIZE = 20                      # images are SIZE x SIZE pixels, one channel
HALF = SIZE / 2.0              # pixels per unit of template coordinates

# --------------------------------------------------------------------------- glyphs
# A glyph is a path of strokes between the points of a 3x3 grid:
#   0 1 2
#   3 4 5
#   6 7 8
_GRID = [(x, y) for y in (-0.6, 0.0, 0.6) for x in (-0.6, 0.0, 0.6)]
_EDGES = sorted({tuple(sorted((a, b))) for a in range(9) for b in range(9)
                 if a != b and max(abs(a % 3 - b % 3), abs(a // 3 - b // 3)) == 1})


def _glyph_library(n, n_strokes=3, seed=2024):
    """Return ``n`` distinct glyphs, each a list of ``n_strokes`` grid edges.

    Glyphs are random walks on the grid with no stroke drawn twice.  Two walks
    that are the same shape moved to another place on the grid count as one
    glyph, since position is a nuisance, not a class.
    """
    rng = np.random.default_rng(seed)
    found, seen = [], set()
    while len(found) < n:
        node, path = int(rng.integers(9)), []
        while len(path) < n_strokes:
            options = [e for e in _EDGES if node in e and e not in path]
            if not options:
                break
            edge = options[int(rng.integers(len(options)))]
            path.append(edge)
            node = edge[0] if edge[1] == node else edge[1]
        if len(path) < n_strokes:
            continue
        key = _shape_key(path)
        if key not in seen:
            seen.add(key)
            found.append(path)
    return found


def _shape_key(path):
    cells = [(a % 3, a // 3, b % 3, b // 3) for a, b in path]
    dx = min(min(c[0], c[2]) for c in cells)
    dy = min(min(c[1], c[3]) for c in cells)
    moved = [tuple(sorted([(c[0] - dx, c[1] - dy), (c[2] - dx, c[3] - dy)])) for c in cells]
    return tuple(sorted(moved))


GLYPHS = _glyph_library(24)
SOURCE_GLYPHS = GLYPHS[0:10]     # scans: the near source domain
TARGET_GLYPHS = GLYPHS[10:15]    # clinic: the target task
SPARE_GLYPHS = GLYPHS[15:24]     # kept for later tasks (capstone, exercises)

GLYPH_NAMES = ["hook", "zig", "fork", "arch", "bolt", "step", "kite", "wave", "claw", "rake",
               "tick", "cup", "vane", "knee", "flag",
               "spur", "loop", "dart", "reed", "moth", "crest", "latch", "prong", "sail"]

PHOTO_CLASSES = ["disk", "ring", "triangle", "square", "cross", "bar",
                 "ell", "half-moon", "frame", "tee"]


# --------------------------------------------------------------------------- geometry helpers
def _pixel_grid():
    c = (np.arange(SIZE, dtype=np.float64) + 0.5) / HALF - 1.0
    return np.meshgrid(c, c)          # X grows to the right, Y grows downwards


_PX, _PY = _pixel_grid()


def _affine(angle_deg, scale, shear, aspect=1.0):
    """2x2 matrix: shear, then aspect/scale, then rotation (math, not numpy, for portability)."""
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    sx, sy = scale * aspect, scale / aspect
    # [[c, -s], [s, c]] @ [[sx, 0], [0, sy]] @ [[1, shear], [0, 1]]
    return ((c * sx, c * sx * shear - s * sy), (s * sx, s * sx * shear + c * sy))


def _apply(m, t, x, y):
    return (m[0][0] * x + m[0][1] * y + t[0], m[1][0] * x + m[1][1] * y + t[1])


def _segment_distance(ax, ay, bx, by):
    """Distance (in template units) from every pixel centre to the segment a-b."""
    vx, vy = bx - ax, by - ay
    wx, wy = _PX - ax, _PY - ay
    length2 = vx * vx + vy * vy
    t = np.clip((wx * vx + wy * vy) / length2, 0.0, 1.0) if length2 > 0 else 0.0 * wx
    dx, dy = wx - t * vx, wy - t * vy
    return np.sqrt(dx * dx + dy * dy)


def _stroke(segments, width_px):
    """Anti-aliased strokes of ``width_px`` pixels along ``segments`` (values 0..1)."""
    ink = np.zeros((SIZE, SIZE))
    for (ax, ay), (bx, by) in segments:
        d = _segment_distance(ax, ay, bx, by) * HALF
        ink = np.maximum(ink, np.clip(width_px / 2.0 + 0.5 - d, 0.0, 1.0))
    return ink


def _blotches(rng, n, amplitude, low_width, high_width):
    """Smooth low-frequency texture: a sum of soft bumps 1 / (1 + r^2 / w^2)."""
    field = np.zeros((SIZE, SIZE))
    for _ in range(n):
        cx, cy = rng.uniform(-1.2, 1.2, size=2)
        w = rng.uniform(low_width, high_width)
        amp = rng.uniform(-amplitude, amplitude)
        field += amp / (1.0 + ((_PX - cx) ** 2 + (_PY - cy) ** 2) / (w * w))
    return field


def _to_uint8(img):
    return np.floor(np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


# --------------------------------------------------------------------------- scans
# Nuisance ranges for the scan domains.  Wide ranges are what make a few labels
# per class hard for a model trained from scratch.
SCAN_STYLE = dict(
    angle=30.0,           # rotation, degrees either way
    scale=(0.7, 1.05),
    shear=0.25,
    shift=0.22,           # translation, template units (1 unit = 12 px)
    wobble=0.07,          # per-vertex jitter: hand-drawn strokes
    width=(1.0, 2.2),     # stroke width in pixels
    contrast=(0.35, 0.8),
    background=(0.05, 0.3),
    grain=(0.15, 0.4),    # amplitude of uniform pixel noise
    dust=0.6,             # probability of dust specks (short stray strokes)
)


# The field station of notebook 09: a hand-held kit that draws thicker, fainter marks on noisier film.
FIELD_STYLE = dict(SCAN_STYLE, width=(1.6, 2.8), contrast=(0.3, 0.6), grain=(0.3, 0.5), dust=0.8)
FIELD_GLYPHS = SPARE_GLYPHS[0:6]


def _glyph_segments(glyph, rng, style, angle_bias=0.0):
    m = _affine(angle_bias + rng.uniform(-style["angle"], style["angle"]),
                rng.uniform(*style["scale"]), rng.uniform(-style["shear"], style["shear"]),
                aspect=rng.uniform(0.85, 1.15))
    t = rng.uniform(-style["shift"], style["shift"], size=2)
    # centre the glyph on its own bounding box first, so that position is pure nuisance
    xs = [_GRID[p][0] for e in glyph for p in e]
    ys = [_GRID[p][1] for e in glyph for p in e]
    ox, oy = (min(xs) + max(xs)) / 2.0, (min(ys) + max(ys)) / 2.0
    jitter = {p: rng.normal(0.0, style["wobble"], size=2) for e in glyph for p in e}
    segs = []
    for a, b in glyph:
        pa = _apply(m, t, _GRID[a][0] - ox + jitter[a][0], _GRID[a][1] - oy + jitter[a][1])
        pb = _apply(m, t, _GRID[b][0] - ox + jitter[b][0], _GRID[b][1] - oy + jitter[b][1])
        segs.append((pa, pb))
    return segs


def _film(rng, style, drift=0.0):
    """A dark, grainy film background with a few smooth blotches and dust."""
    level = rng.uniform(*style["background"]) + 0.25 * drift
    img = level + _blotches(rng, 3, 0.12, 0.3, 0.9)
    if rng.random() < style["dust"]:
        specks = []
        for _ in range(int(rng.integers(1, 4))):
            cx, cy = rng.uniform(-0.9, 0.9, size=2)
            a = rng.uniform(0.0, math.pi)
            r = rng.uniform(0.05, 0.2)
            specks.append(((cx - r * math.cos(a), cy - r * math.sin(a)),
                           (cx + r * math.cos(a), cy + r * math.sin(a))))
        img = img + rng.uniform(0.2, 0.5) * _stroke(specks, rng.uniform(0.8, 1.6))
    return img


def _check_rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a NumPy random generator, got {type(rng).__name__}: pass "
                        "np.random.default_rng(seed), e.g. np.random.default_rng(0).")


def _check_glyph(glyph):
    ok = isinstance(glyph, (list, tuple)) and len(glyph) > 0 and all(
        isinstance(e, (list, tuple)) and len(e) == 2 and all(isinstance(p, (int, np.integer)) and 0 <= p < len(_GRID) for p in e) for e in glyph)
    if not ok:
        raise TypeError(f"a glyph is a list of grid edges such as world.GLYPHS[0], got {glyph!r}. Pick one from "
                        "world.GLYPHS, world.SOURCE_GLYPHS or world.TARGET_GLYPHS.")


def _check_classes(what, items, n_per_class, known=None):
    if not isinstance(items, (list, tuple)) or len(items) == 0:
        raise TypeError(f"{what} must be a non-empty list, got {items!r}.")
    for item in items:
        if known is None:
            _check_glyph(item)
        elif item not in known:
            raise ValueError(f"Unknown shape {item!r}. The photo shapes are: {', '.join(known)}.")
    if isinstance(n_per_class, bool) or not isinstance(n_per_class, (int, np.integer)) or n_per_class < 1:
        raise ValueError(f"n_per_class must be a whole number of 1 or more, got {n_per_class!r}.")


def render_scan(glyph, rng, style=SCAN_STYLE, drift=0.0, angle_bias=0.0):
    """Render one scan of ``glyph`` (a list of grid edges) as floats in 0..1."""
    _check_glyph(glyph)
    _check_rng(rng)
    segs = _glyph_segments(glyph, rng, style, angle_bias)
    ink = _stroke(segs, rng.uniform(*style["width"]))
    img = _film(rng, style, drift) + rng.uniform(*style["contrast"]) * (1.0 - 0.4 * drift) * ink
    grain = rng.uniform(*style["grain"]) * (1.0 + 0.5 * drift)
    return img + grain * (rng.random((SIZE, SIZE)) - 0.5)


def render_scans(glyphs, n_per_class, rng, style=SCAN_STYLE):
    """``n_per_class`` scans of each glyph: returns ``(images uint8 (N, 20, 20), labels)``."""
    _check_classes("glyphs", glyphs, n_per_class)
    _check_rng(rng)
    images, labels = [], []
    for label, glyph in enumerate(glyphs):
        for _ in range(n_per_class):
            images.append(_to_uint8(render_scan(glyph, rng, style)))
            labels.append(label)
    return np.stack(images), np.array(labels, dtype=np.int64)


def render_sessions(glyphs, n_specimens_per_class, renders_per_specimen, rng, style=SCAN_STYLE,
                    drift=0.5, angle_drift=10.0):
    """Scans acquired in order, the way a clinic collects them.

    Each *specimen* (one physical object of a class, with its own shape quirks)
    is scanned ``renders_per_specimen`` times in a row, so its scans are near
    duplicates that sit next to each other in time.  Over the acquisition
    period the scanner drifts: the film gets brighter and grainier, the marks
    fainter, and the tray rotates by up to ``angle_drift`` degrees.

    Returns ``images, labels, groups, times``: ``groups`` is the specimen id and
    ``times`` the acquisition order (0 = first scan).
    """
    n_classes = len(glyphs)
    order = rng.permutation(np.repeat(np.arange(n_classes), n_specimens_per_class))
    images, labels, groups, times = [], [], [], []
    for specimen, label in enumerate(order):
        when = specimen / max(1, len(order) - 1)          # 0 .. 1 over the period
        # the specimen's own quirks: fixed for all of its scans
        quirk = np.random.default_rng(rng.integers(2**63))
        narrow = dict(style, angle=4.0, shift=0.08, scale=(1.0, 1.0), shear=0.0, wobble=0.0)
        base = dict(angle=quirk.uniform(-style["angle"], style["angle"]),
                    scale=quirk.uniform(*style["scale"]), shear=quirk.uniform(-style["shear"], style["shear"]),
                    jitter=[quirk.normal(0.0, style["wobble"], size=2) for _ in range(9)],
                    width=quirk.uniform(*style["width"]))
        glyph = glyphs[label]
        for _ in range(renders_per_specimen):
            segs = _specimen_segments(glyph, base, rng, narrow, angle_drift * (when - 0.5) * 2.0)
            ink = _stroke(segs, base["width"])
            img = _film(rng, style, drift * when) + \
                rng.uniform(*style["contrast"]) * (1.0 - 0.4 * drift * when) * ink
            grain = rng.uniform(*style["grain"]) * (1.0 + 0.5 * drift * when)
            img = img + grain * (rng.random((SIZE, SIZE)) - 0.5)
            images.append(_to_uint8(img))
            labels.append(int(label))
            groups.append(specimen)
            times.append(len(times))
    return (np.stack(images), np.array(labels, dtype=np.int64),
            np.array(groups, dtype=np.int64), np.array(times, dtype=np.int64))


def _specimen_segments(glyph, base, rng, narrow, angle_bias):
    m = _affine(base["angle"] + angle_bias + rng.uniform(-narrow["angle"], narrow["angle"]),
                base["scale"], base["shear"])
    t = rng.uniform(-narrow["shift"], narrow["shift"], size=2)
    xs = [_GRID[p][0] for e in glyph for p in e]
    ys = [_GRID[p][1] for e in glyph for p in e]
    ox, oy = (min(xs) + max(xs)) / 2.0, (min(ys) + max(ys)) / 2.0
    j = base["jitter"]
    return [(_apply(m, t, _GRID[a][0] - ox + j[a][0], _GRID[a][1] - oy + j[a][1]),
             _apply(m, t, _GRID[b][0] - ox + j[b][0], _GRID[b][1] - oy + j[b][1])) for a, b in glyph]


# --------------------------------------------------------------------------- photos
def _polygon_sd(points):
    """Signed distance-like field (positive inside) of a convex polygon given counter-clockwise
    in screen coordinates; built from half-planes, so it is exact enough for anti-aliasing."""
    sd = None
    n = len(points)
    for i in range(n):
        (ax, ay), (bx, by) = points[i], points[(i + 1) % n]
        ex, ey = bx - ax, by - ay
        norm = math.sqrt(ex * ex + ey * ey)
        side = ((_PX - ax) * ey - (_PY - ay) * ex) / norm
        sd = side if sd is None else np.minimum(sd, side)
    return sd


def _shape_sd(name, m, t):
    """Signed field for a photo class, transformed by matrix ``m`` and shift ``t``."""
    def poly(pts):
        moved = [_apply(m, t, x, y) for x, y in pts]
        area = sum(moved[i][0] * moved[(i + 1) % len(moved)][1] - moved[(i + 1) % len(moved)][0] * moved[i][1]
                   for i in range(len(moved)))
        return _polygon_sd(moved if area < 0 else moved[::-1])

    def rect(x0, y0, x1, y1):
        return poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])

    # circles: distance in the transformed frame, approximating the affine map by its scale
    det = abs(m[0][0] * m[1][1] - m[0][1] * m[1][0])
    r_scale = math.sqrt(det)
    dx, dy = _PX - t[0], _PY - t[1]
    dist = np.sqrt(dx * dx + dy * dy)
    if name == "disk":
        return 0.6 * r_scale - dist
    if name == "ring":
        return np.minimum(0.62 * r_scale - dist, dist - 0.32 * r_scale)
    if name == "half-moon":
        return np.minimum(0.62 * r_scale - dist, rect(-1, -1, 1, 0.12))
    if name == "triangle":
        return poly([(0.0, -0.62), (0.62, 0.45), (-0.62, 0.45)])
    if name == "square":
        return rect(-0.45, -0.45, 0.45, 0.45)
    if name == "cross":
        return np.maximum(rect(-0.6, -0.17, 0.6, 0.17), rect(-0.17, -0.6, 0.17, 0.6))
    if name == "bar":
        return rect(-0.65, -0.2, 0.65, 0.2)
    if name == "ell":
        return np.maximum(rect(-0.45, -0.55, -0.1, 0.55), rect(-0.45, 0.2, 0.5, 0.55))
    if name == "frame":
        return np.minimum(rect(-0.52, -0.52, 0.52, 0.52), -rect(-0.25, -0.25, 0.25, 0.25))
    if name == "tee":
        return np.maximum(rect(-0.55, -0.55, 0.55, -0.2), rect(-0.17, -0.55, 0.17, 0.55))
    raise ValueError(f"unknown photo class {name!r}")


def render_photo(name, rng):
    """Render one 'everyday photo' of the shape ``name`` as floats in 0..1."""
    m = _affine(rng.uniform(-30.0, 30.0), rng.uniform(0.75, 1.05), rng.uniform(-0.1, 0.1),
                aspect=rng.uniform(0.9, 1.1))
    t = rng.uniform(-0.25, 0.25, size=2)
    softness = rng.uniform(1.0, 2.5)             # camera blur: edges a few pixels wide
    alpha = np.clip(_shape_sd(name, m, t) * HALF / softness + 0.5, 0.0, 1.0)
    gx, gy = rng.uniform(-0.25, 0.25, size=2)
    level = rng.uniform(0.25, 0.75)
    background = level + gx * _PX + gy * _PY + _blotches(rng, 4, 0.15, 0.4, 1.2)
    hx, hy = rng.uniform(-0.2, 0.2, size=2)
    polarity = 1.0 if rng.random() < 0.5 else -1.0     # light object on dark, or dark on light
    fill = level + polarity * rng.uniform(0.25, 0.45) + hx * _PX + hy * _PY
    img = (1.0 - alpha) * background + alpha * fill
    return img + rng.uniform(0.0, 0.08) * (rng.random((SIZE, SIZE)) - 0.5)


def render_photos(names, n_per_class, rng):
    """``n_per_class`` photos of each shape: returns ``(images uint8 (N, 20, 20), labels)``."""
    _check_classes("names", names, n_per_class, known=PHOTO_CLASSES)
    _check_rng(rng)
    images, labels = [], []
    for label, name in enumerate(names):
        for _ in range(n_per_class):
            images.append(_to_uint8(render_photo(name, rng)))
            labels.append(label)
    return np.stack(images), np.array(labels, dtype=np.int64)
