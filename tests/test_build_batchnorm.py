"""Notebook 11's BatchNorm base in the generator: its recipe, its manifest section and its model card."""

import json

from course_lib import build, data, models


def test_the_recipe_is_scans_s_on_the_batchnorm_architecture():
    bn, s = build.PRETRAIN["scans-bn"], build.PRETRAIN["scans-s"]
    assert (bn.domain, bn.n_per_class, bn.epochs, bn.lr) == (s.domain, s.n_per_class, s.epochs, s.lr)
    assert bn.arch == models.BASES["scans-bn"].arch == "small-bn"
    assert {bn.images_seed, bn.order_seed}.isdisjoint({s.images_seed, s.order_seed})   # its own seeds


def test_write_manifest_puts_the_lesson_base_in_its_own_section(tmp_path):
    (tmp_path / "bases").mkdir()
    for name in ("scans-s", "scans-shuffled", "scans-bn"):
        (tmp_path / "bases" / f"{name}.npz").write_bytes(name.encode())
    report = {name: dict(source_accuracy=0.5, seconds=1.0) for name in ("scans-s", "scans-shuffled", "scans-bn")}
    manifest = build.write_manifest(tmp_path, report)
    assert list(manifest["bases"]) == ["scans-s"] and list(manifest["conflicting_bases"]) == ["scans-shuffled"]
    assert manifest["lesson_bases"] == {"scans-bn": {"source_accuracy": 0.5}}          # no timing in a card
    again = build.write_manifest(tmp_path)                                              # keeps the sections
    assert again == json.loads((tmp_path / data.MANIFEST).read_text()) == manifest


def test_the_committed_manifest_keeps_the_other_bases_as_they_were():
    manifest = data.read_manifest()
    assert set(manifest["bases"]) == {"scans-s", "photos-l"} and set(manifest["conflicting_bases"]) == {"scans-shuffled"}
    assert manifest["files"]["bases/scans-s.npz"]["sha256"].startswith("a82930bf9bc9")
    assert manifest["files"]["bases/photos-l.npz"]["sha256"].startswith("865bdb65246a")
    assert manifest["files"]["bases/scans-shuffled.npz"]["sha256"].startswith("622da56d6974")


def test_verdict_reads_the_lesson_base_card():
    ref = data.read_manifest()
    new = json.loads(json.dumps(ref))
    new["files"]["bases/scans-bn.npz"]["sha256"] = "0" * 64
    result, lines = build.verdict(new, ref)
    assert result == "functionally equivalent"
    assert any(line.startswith("bases/scans-bn.npz: source_accuracy") for line in lines)
    new["lesson_bases"]["scans-bn"]["source_accuracy"] -= 0.05
    assert build.verdict(new, ref)[0] == "different"


def test_model_card_documents_the_batchnorm_base():
    card = (data.data_dir() / "MODEL_CARD.md").read_text()
    section = card[card.index("## `scans-bn`"):]
    entry = data.read_manifest()["lesson_bases"]["scans-bn"]
    assert f"{entry['source_accuracy']:.3f}" in section and f"{entry['parameters']:,}" in section
    pre = models.BASES["scans-bn"].preprocessing
    assert pre["polarity"] in section and pre["how"] in section and "0..1" in section and "20x20" in section
    assert "BatchNorm" in section and "models.freeze_batchnorm" in section
