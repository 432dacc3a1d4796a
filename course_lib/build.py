"""Rebuild the data world and the pretrained bases, bit for bit.

    make data              # = python -m course_lib.build
    make data-check        # = python -m course_lib.build --check

``build`` regenerates every file in ``data/`` from fixed seeds, trains the base
models, and writes ``data/MANIFEST.json`` with their SHA-256 checksums.
``--check`` rebuilds into a temporary folder and compares checksums with the
committed manifest without touching ``data/``.  The whole run takes a few
minutes on two CPU cores (see ``data/MODEL_CARD.md``).

Bit-identical rebuilds: the images use only exactly-rounded arithmetic and
8-bit rounding, so they match on any machine.  The base weights come from
training with torch on the CPU with a fixed seed and two threads; they match
on the same CPU type and torch version, and may differ in the last bits
elsewhere (another vector unit, such as AVX-512, sums in another order).
``--check`` then ends with one of three verdicts (:func:`verdict`):
**bit-identical**; **functionally equivalent**, when only bases differ and
each rebuilt base's source accuracy (and, for the base trained on shuffled
labels, its train accuracy) lies within ``BASE_TOLERANCE`` of its model card
in the committed manifest, the evidence printed base by base (the lesson
checks are not re-run by ``--check``: ``make bench`` with the rebuilt bases
does that); or **different**, with exit status 1.
"""

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import text, world
from .data import DOMAINS, MANIFEST, data_dir, sha256

# Every file has its own seed, so changing one file never shifts another.
SEEDS = dict(scans=1, scans_test=2, photos=3, photos_test=4, clinic=5, clinic_test=6,
             pretrain_scans=7, pretrain_photos=8, train_scans=9, train_photos=10,
             pretrain_shuffled=11, shuffle_labels=12, train_shuffled=13, field=14, field_test=15,
             pretrain_bn=16, train_bn=17, text_source_test=18, text_dialect=19, text_dialect_test=20,
             pretrain_text=21, train_text=22)

N_SCANS_PER_CLASS = 100          # scans.npz, scans_test.npz: for probing the source task
N_PHOTOS_PER_CLASS = 100
CLINIC_SPECIMENS = 80            # per class in clinic.npz, each scanned 3 times
CLINIC_RENDERS = 3
CLINIC_TEST_SPECIMENS = 200      # per class in clinic_test.npz, one scan each
FIELD_PER_CLASS = 40             # field.npz: the capstone's new task (notebook 09), one scan per specimen
FIELD_TEST_PER_CLASS = 100

# Pretraining: generated in memory, never shipped.  The "famous" base gets more data and more parameters.
@dataclass(frozen=True)
class PretrainSpec:
    """How one base is pretrained.  Each ``*_seed`` names an entry of ``SEEDS``.

    ``images_seed`` draws the pretraining images, ``order_seed`` the batch order,
    and ``shuffle_seed`` (only for a base made to fail) the label shuffle.
    """

    domain: str
    n_per_class: int
    arch: str
    epochs: int
    lr: float
    images_seed: str
    order_seed: str
    shuffle_seed: str = None


PRETRAIN = {
    "scans-s": PretrainSpec(domain="scans", n_per_class=800, arch="small", epochs=30, lr=3e-3,
                            images_seed="pretrain_scans", order_seed="train_scans"),
    "photos-l": PretrainSpec(domain="photos", n_per_class=2000, arch="large", epochs=30, lr=3e-3,
                             images_seed="pretrain_photos", order_seed="train_photos"),
    # The conflicting base of notebook 07: lab scans whose labels were shuffled (garbage labels), trained
    # until it fits a good part of them.  Same architecture as scans-s, its own images and seeds.  A base made
    # to fail (``conflicting`` in models.BASES) is listed apart in the manifest ("conflicting_bases"), so "bases"
    # keeps the bases the course offers (models.OFFERED_BASES).
    "scans-shuffled": PretrainSpec(domain="scans", n_per_class=100, arch="small", epochs=60, lr=3e-3,
                                   images_seed="pretrain_shuffled", order_seed="train_shuffled",
                                   shuffle_seed="shuffle_labels"),
    # Notebook 11's base: the recipe of scans-s (the same source, amount of data, epochs and rate) on an
    # architecture with BatchNorm after each convolution, with its own seeds.  A base made for one lesson
    # (``lesson`` in models.BASES) is listed apart in the manifest ("lesson_bases").
    "scans-bn": PretrainSpec(domain="scans", n_per_class=800, arch="small-bn", epochs=30, lr=3e-3,
                             images_seed="pretrain_bn", order_seed="train_bn"),
}


def _save(path, **arrays):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def build_data(out):
    """Generate the data files into folder ``out``."""
    rng = lambda name: np.random.default_rng(SEEDS[name])
    glyph_names = world.GLYPH_NAMES
    scan_names = np.array(glyph_names[0:10])
    clinic_names = np.array(glyph_names[10:15])
    photo_names = np.array(world.PHOTO_CLASSES)
    for name in ("scans", "scans_test"):
        x, y = world.render_scans(world.SOURCE_GLYPHS, N_SCANS_PER_CLASS, rng(name))
        _save(out / DOMAINS[name]["file"], images=x, labels=y, class_names=scan_names)
    for name in ("photos", "photos_test"):
        x, y = world.render_photos(world.PHOTO_CLASSES, N_PHOTOS_PER_CLASS, rng(name))
        _save(out / DOMAINS[name]["file"], images=x, labels=y, class_names=photo_names)
    x, y, g, t = world.render_sessions(world.TARGET_GLYPHS, CLINIC_SPECIMENS, CLINIC_RENDERS, rng("clinic"))
    _save(out / DOMAINS["clinic"]["file"], images=x, labels=y, groups=g, times=t, class_names=clinic_names)
    x, y, g, t = world.render_sessions(world.TARGET_GLYPHS, CLINIC_TEST_SPECIMENS, 1, rng("clinic_test"))
    _save(out / DOMAINS["clinic_test"]["file"], images=x, labels=y, groups=g, times=t, class_names=clinic_names)
    field_names = np.array(glyph_names[15:15 + len(world.FIELD_GLYPHS)])
    for name, n in (("field", FIELD_PER_CLASS), ("field_test", FIELD_TEST_PER_CLASS)):
        x, y = world.render_scans(world.FIELD_GLYPHS, n, rng(name), style=world.FIELD_STYLE)
        _save(out / DOMAINS[name]["file"], images=x, labels=y, class_names=field_names)
    for name, (file, _, _, seed) in text.FILES.items():           # the text world (notebook 12)
        _save(out / file, tokens=text.build_file(name, SEEDS[seed]).astype(np.uint8))


def pretrain_set(spec):
    """The images and labels one base is pretrained on (generated in memory from the base's seeds)."""
    rng = np.random.default_rng(SEEDS[spec.images_seed])
    if spec.domain == "scans":
        x, y = world.render_scans(world.SOURCE_GLYPHS, spec.n_per_class, rng)
    else:
        x, y = world.render_photos(world.PHOTO_CLASSES, spec.n_per_class, rng)
    if spec.shuffle_seed is not None:    # garbage labels: the same images, each with the label of another one
        y = np.random.default_rng(SEEDS[spec.shuffle_seed]).permutation(y)
    return x, y


def build_base(out, base, log=print):
    """Pretrain one base of ``PRETRAIN`` and save its weights into ``out/bases``; returns its report entry.

    Each base starts from ``seed_everything(0)`` and uses only its own seeds, so
    building one base never changes another.  The source accuracy is measured
    on the source domain's held-out test file, with its true labels.
    """
    import torch
    from . import models, train
    from .repro import seed_everything

    spec = PRETRAIN[base]
    seed_everything(0, threads=2)
    t0 = time.perf_counter()
    x, y = pretrain_set(spec)
    with np.load(out / DOMAINS[spec.domain + "_test"]["file"]) as f:
        test = (f["images"], f["labels"])
    model = models.build(spec.arch, n_classes=10)
    hist = train.fit(model, (x, y), epochs=spec.epochs, lr=spec.lr, batch_size=64,
                     seed=SEEDS[spec.order_seed], progress=False, label=base)
    acc = train.evaluate(model, test).accuracy
    path = out / models.BASES[base].file
    path.parent.mkdir(parents=True, exist_ok=True)
    models.save_weights(model, path)
    seconds = time.perf_counter() - t0
    entry = dict(source=spec.domain, pretrain_images=int(len(y)), epochs=spec.epochs,
                 parameters=models.count_parameters(model)["total"],
                 source_accuracy=round(float(acc), 4), seconds=round(seconds, 1), torch=torch.__version__)
    if spec.shuffle_seed is not None:
        entry.update(labels="shuffled", train_accuracy=round(float(hist.train_acc[-1]), 4))
    log(f"  {base}: source accuracy {acc:.3f}, {entry['parameters']} parameters, {seconds:.0f}s")
    return entry


# Notebook 12's language model: pretrained on sentences of the text world's source language, generated in memory.
LM_BASE = "tiny-lm"
LM_PRETRAIN = dict(sentences=60000, steps=3000, batch_size=64, lr=3e-3, warmup_steps=100)


def build_lm_base(out, log=print):
    """Pretrain ``tiny-lm`` (course_lib.lm) and save it into ``out/bases``; returns its model card entry.

    Starts from ``seed_everything(0)`` with two threads, like the image bases,
    and uses only its own seeds.  The source loss is measured on the shipped
    ``text/source_test.npz``, beside the grammar's own floor.
    """
    import torch
    from . import lm
    from .repro import seed_everything

    spec = LM_PRETRAIN
    seed_everything(0, threads=2)
    t0 = time.perf_counter()
    corpus = text.encode([s.words for s in text.sentences(spec["sentences"], SEEDS["pretrain_text"])])
    model = lm.TinyLM()
    lm.fit_lm(model, corpus, steps=spec["steps"], lr=spec["lr"], batch_size=spec["batch_size"],
              seed=SEEDS["train_text"], warmup_steps=spec["warmup_steps"], decay=True, log_every=500, label=LM_BASE)
    with np.load(out / text.FILES["source_test"][0]) as f:
        test = f["tokens"].astype(np.int64)
    loss = lm.text_loss(model, test)
    path = out / lm.BASE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    lm.save_lm(model, path)
    seconds = time.perf_counter() - t0
    entry = dict(source="text (source language)", pretrain_sentences=spec["sentences"], steps=spec["steps"],
                 parameters=lm.count(model)["total"], source_loss=round(float(loss), 4),
                 agreement=round(lm.agreement(model), 4), seconds=round(seconds, 1), torch=torch.__version__)
    log(f"  {LM_BASE}: source loss {loss:.3f} nats per token, {entry['parameters']} parameters, {seconds:.0f}s")
    return entry


def build_bases(out, log=print):
    """Pretrain each base on its source domain and save its weights into ``out/bases``.

    Returns ``{base: {source_accuracy, parameters, seconds, ...}}`` (see :func:`build_base`), the
    language model's card (:func:`build_lm_base`) included.
    """
    report = {base: build_base(out, base, log) for base in PRETRAIN}
    report[LM_BASE] = build_lm_base(out, log)
    return report


BASE_SECTIONS = ("bases", "conflicting_bases", "lesson_bases", "language_bases")     # the manifest's sections of model cards


def write_manifest(out, bases_report=None):
    """Write ``out/MANIFEST.json``; without ``bases_report`` the bases' sections are kept as they were.

    Bases made to fail (``conflicting`` in ``models.BASES``, for notebook 07)
    go to the section ``conflicting_bases``, bases made for one lesson
    (``lesson``, notebook 11's BatchNorm base) to ``lesson_bases``, the others
    (``models.OFFERED_BASES``) to ``bases``.
    """
    from .models import BASES, OFFERED_BASES

    if bases_report is None:
        old = json.loads((out / MANIFEST).read_text())
        bases_report = {k: v for section in BASE_SECTIONS for k, v in old.get(section, {}).items()}
    files = {}
    for path in sorted(p for p in out.rglob("*.npz")):
        rel = path.relative_to(out).as_posix()
        files[rel] = dict(sha256=sha256(path), bytes=path.stat().st_size)
    card = lambda v: {kk: vv for kk, vv in v.items() if kk != "seconds"}
    lesson = lambda k: k in BASES and BASES[k].lesson is not None
    conflicting = lambda k: k not in OFFERED_BASES and not lesson(k) and k != LM_BASE
    manifest = dict(rebuild_command="make data  (python -m course_lib.build)", files=files,
                    bases={k: card(v) for k, v in bases_report.items() if k in OFFERED_BASES},
                    conflicting_bases={k: card(v) for k, v in bases_report.items() if conflicting(k)})
    lessons = {k: card(v) for k, v in bases_report.items() if lesson(k)}
    if lessons:
        manifest["lesson_bases"] = lessons
    if LM_BASE in bases_report:                # notebook 12's language model
        manifest["language_bases"] = {LM_BASE: card(bases_report[LM_BASE])}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def build(out, log=print):
    out = Path(out)
    t0 = time.perf_counter()
    log(f"Generating the data world into {out} ...")
    build_data(out)
    log(f"  images done in {time.perf_counter() - t0:.0f}s; pretraining the bases ...")
    report = build_bases(out, log)
    manifest = write_manifest(out, report)
    log(f"Done in {time.perf_counter() - t0:.0f}s: {len(manifest['files'])} files, manifest written.")
    return manifest


# How far a rebuilt base's source accuracy may sit from its model card for the rebuild to count as equivalent:
# the bases' accuracies are measured on 1000 held-out images, whose binomial standard error near 0.96 is 0.006.
BASE_TOLERANCE = 0.02
# The same for the language model's source loss, in nats per token (about 9,000 scored tokens: its standard error
# is near 0.01; the lessons' effects are ten times larger).
LOSS_TOLERANCE = 0.02
VERDICTS = ("bit-identical", "functionally equivalent", "different")


def verdict(manifest, reference, tolerance=BASE_TOLERANCE):
    """``(verdict, lines)``: how a rebuilt manifest compares with the committed one, with the evidence.

    ``verdict`` is one of ``VERDICTS``.  Images must match bit for bit (they
    use exactly-rounded arithmetic only); a base may differ in its bits if its
    accuracies (``source_accuracy``, and ``train_accuracy`` where the card has
    one) lie within ``tolerance`` of the committed model card.

    >>> ref = {"files": {"a.npz": {"sha256": "1"}, "bases/b.npz": {"sha256": "2"}},
    ...        "bases": {"b": {"source_accuracy": 0.95}}}
    >>> verdict(ref, ref)[0]
    'bit-identical'
    >>> new = {"files": {"a.npz": {"sha256": "1"}, "bases/b.npz": {"sha256": "3"}},
    ...        "bases": {"b": {"source_accuracy": 0.951}}}
    >>> verdict(new, ref)[0]
    'functionally equivalent'
    """
    lines = compare(manifest, reference)
    if not lines:
        return "bit-identical", [f"All {len(reference['files'])} rebuilt files match the committed checksums."]
    cards = lambda m: {k: v for section in BASE_SECTIONS for k, v in m.get(section, {}).items()}
    new, old = cards(manifest), cards(reference)
    digest = lambda m, name: (m["files"].get(name) or {}).get("sha256")
    differing = [name for name in sorted(set(manifest["files"]) | set(reference["files"]))
                 if digest(manifest, name) != digest(reference, name)]
    evidence, ok = [], True
    for name in differing:
        base = Path(name).stem
        if not name.startswith("bases/") or base not in old or base not in new:
            evidence.append(f"{name}: not a base with a model card, so it must match bit for bit")
            ok = False
            continue
        for key in ("source_accuracy", "train_accuracy", "source_loss"):
            if key not in old[base]:
                continue
            a, b = new[base].get(key), old[base][key]
            allowed = LOSS_TOLERANCE if key == "source_loss" else tolerance
            close = a is not None and abs(a - b) <= allowed
            ok &= close
            evidence.append(f"{name}: {key} {a} rebuilt vs {b} on the model card "
                            f"({'within' if close else 'outside'} {allowed:g})")
    if ok:
        return "functionally equivalent", lines + evidence + [
            f"Verdict: functionally equivalent. The images are bit-identical; {len(differing)} base(s) differ in "
            f"their bits (another CPU or torch build sums in another order) but each matches its model card within "
            f"{tolerance:g}. Not re-run here: the lesson checks with the rebuilt bases (make bench on a data/ "
            "rebuilt with make data). The committed data/ is unchanged and stays the reference."]
    return "different", lines + evidence + [
        "Verdict: different. A rebuilt file does not match the committed one, and no model card accounts for it. "
        "Compare your torch version with the one data/MANIFEST.json names for each base, and see data/MODEL_CARD.md."]


def compare(manifest, reference):
    """Lines describing every file whose checksum differs between two manifests."""
    for what, m in (("manifest", manifest), ("reference", reference)):
        if not isinstance(m, dict) or not isinstance(m.get("files"), dict):
            raise ValueError(f"The {what} must be a manifest dict with a 'files' entry (as data/MANIFEST.json), got "
                             f"{type(m).__name__}{' without files' if isinstance(m, dict) else ''}. Restore "
                             "data/MANIFEST.json with `git checkout data/` or rebuild with: make data")
    lines = []
    for name in sorted(set(manifest["files"]) | set(reference["files"])):
        a, b = manifest["files"].get(name), reference["files"].get(name)
        if a is None or b is None or a["sha256"] != b["sha256"]:
            lines.append(f"{name}: rebuilt {a and a['sha256'][:12]} vs committed {b and b['sha256'][:12]}")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description="Rebuild the course's data world and pretrained bases.")
    parser.add_argument("--check", action="store_true",
                        help="rebuild into a temporary folder and compare checksums with data/MANIFEST.json")
    parser.add_argument("--out", type=Path, default=None, help="folder to write (default: data/)")
    parser.add_argument("--images-only", action="store_true",
                        help="regenerate the image files only and keep the bases (seconds, for authors)")
    parser.add_argument("--base", choices=sorted(PRETRAIN) + [LM_BASE], default=None,
                        help="pretrain this one base again and update its entries of the manifest (for authors)")
    args = parser.parse_args(argv)
    if args.base:
        out = args.out or data_dir()
        old = json.loads((out / MANIFEST).read_text())
        report = {k: v for section in BASE_SECTIONS for k, v in old.get(section, {}).items()}
        report[args.base] = build_lm_base(out) if args.base == LM_BASE else build_base(out, args.base)
        write_manifest(out, report)
        print(f"Base {args.base} rebuilt in {out}; the other files kept. Run `make data-check` before committing.")
        return 0
    if args.images_only:
        out = args.out or data_dir()
        build_data(out)
        write_manifest(out)
        print(f"Images rebuilt in {out}; bases kept. Run `make data` before committing a change to the bases.")
        return 0
    if args.check:
        reference = json.loads((data_dir() / MANIFEST).read_text())
        tmp = Path(tempfile.mkdtemp(prefix="course-data-"))
        try:
            manifest = build(tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        result, lines = verdict(manifest, reference)
        if result == "bit-identical":
            print(lines[0] + " Verdict: bit-identical.")
            return 0
        print("Checksums differ from the committed manifest:\n  " + "\n  ".join(lines[:-1]) + "\n" + lines[-1])
        return 0 if result == "functionally equivalent" else 1
    build(args.out or data_dir())
    return 0


if __name__ == "__main__":
    sys.exit(main())
