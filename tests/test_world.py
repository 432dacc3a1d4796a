import json

import numpy as np
import pytest

from course_lib import build, data, models, world


def test_glyphs_are_distinct_shapes():
    keys = [world._shape_key(g) for g in world.GLYPHS]
    assert len(set(keys)) == len(keys) == len(world.GLYPH_NAMES)
    assert not set(map(world._shape_key, world.SOURCE_GLYPHS)) & set(map(world._shape_key, world.TARGET_GLYPHS))


def test_same_seed_same_bytes_other_seed_other_bytes():
    a, _ = world.render_scans(world.TARGET_GLYPHS, 3, np.random.default_rng(0))
    b, _ = world.render_scans(world.TARGET_GLYPHS, 3, np.random.default_rng(0))
    c, _ = world.render_scans(world.TARGET_GLYPHS, 3, np.random.default_rng(1))
    assert a.tobytes() == b.tobytes() and a.tobytes() != c.tobytes()


def test_sessions_drift_brightens_the_film_over_time():
    x, y, g, t = world.render_sessions(world.TARGET_GLYPHS, 20, 2, np.random.default_rng(0))
    early, late = x[t < len(t) // 4], x[t >= 3 * len(t) // 4]
    assert np.median(late) > np.median(early) + 10
    x0, *_ = world.render_sessions(world.TARGET_GLYPHS, 20, 2, np.random.default_rng(0), drift=0.0)
    assert abs(np.median(x0[t >= 3 * len(t) // 4]) - np.median(x0[t < len(t) // 4])) < 10


def test_renders_of_one_specimen_are_closer_than_other_specimens():
    x, y, g, t = world.render_sessions(world.TARGET_GLYPHS, 10, 3, np.random.default_rng(0), drift=0.0)
    f = x.reshape(len(x), -1).astype(float)
    same = np.mean([np.abs(f[i] - f[i + 1]).mean() for i in range(0, len(f), 3)])
    other = np.mean([np.abs(f[i] - f[i + 3]).mean() for i in range(0, len(f) - 3, 3)])
    assert same < other


def test_data_files_rebuild_bit_identically(tmp_path):
    """The images of data/ come back byte for byte from the generator (bases are checked by make data-check)."""
    build.build_data(tmp_path)
    manifest = json.loads((data.data_dir() / data.MANIFEST).read_text())
    for name in data.DOMAINS.values():
        assert data.sha256(tmp_path / name["file"]) == manifest["files"][name["file"]]["sha256"], name["file"]


def test_compare_reports_differences():
    a = {"files": {"x.npz": {"sha256": "aa"}, "y.npz": {"sha256": "bb"}}}
    b = {"files": {"x.npz": {"sha256": "aa"}, "y.npz": {"sha256": "cc"}, "z.npz": {"sha256": "dd"}}}
    lines = build.compare(a, b)
    assert [line.split(":")[0] for line in lines] == ["y.npz", "z.npz"]
    assert build.compare(a, a) == []


def test_model_card_states_the_manifest_numbers():
    """data/MODEL_CARD.md quotes each base's accuracy and size; they must match what was built."""
    card = (data.data_dir() / "MODEL_CARD.md").read_text()
    bases = json.loads((data.data_dir() / data.MANIFEST).read_text())["bases"]
    row = lambda label: next(line for line in card.splitlines() if line.startswith(f"| {label}"))
    assert row("accuracy on its own").split("|")[2:4] == [f" {bases[b]['source_accuracy']:.3f} " for b in ("scans-s", "photos-l")]
    assert row("parameters").split("|")[2:4] == [f" {bases[b]['parameters']:,} " for b in ("scans-s", "photos-l")]
    # the 'famous' far base looks better on paper, which is the point of the wrong-domain lesson
    assert bases["photos-l"]["source_accuracy"] > bases["scans-s"]["source_accuracy"]
    assert bases["photos-l"]["parameters"] > bases["scans-s"]["parameters"]


def test_every_base_has_its_own_seeds_and_the_shuffled_base_has_garbage_labels():
    """Adding a base must not shift another: each names distinct entries of build.SEEDS (notebook 07's base too)."""
    names = [name for spec in build.PRETRAIN.values()
             for name in (spec.images_seed, spec.order_seed, spec.shuffle_seed) if name is not None]
    assert len(names) == len(set(names)) and all(name in build.SEEDS for name in names)
    assert len(set(build.SEEDS.values())) == len(build.SEEDS)
    assert set(build.PRETRAIN) == set(models.BASES)
    x, y = build.pretrain_set(build.PRETRAIN["scans-shuffled"])
    _, true = world.render_scans(world.SOURCE_GLYPHS, 100, np.random.default_rng(build.SEEDS["pretrain_shuffled"]))
    assert np.bincount(y).tolist() == [100] * 10            # the same classes, only shuffled
    assert 0.05 < np.mean(y == true) < 0.2                  # about one label in ten still right by chance
    manifest = data.read_manifest()
    assert manifest["conflicting_bases"]["scans-shuffled"]["source_accuracy"] < 0.2   # nothing about shape learned
    assert set(manifest["bases"]) == set(models.OFFERED_BASES) == {"scans-s", "photos-l"}


def test_the_field_station_task_is_new_to_the_course():
    """Notebook 09's task: glyphs no earlier task uses, in the field kit's style, and no copy of a clinic scan."""
    field, test = data.load("field"), data.load("field_test")
    assert field.class_names == world.GLYPH_NAMES[15:21] and field.class_counts() == [40] * 6
    assert test.class_counts() == [100] * 6
    used = {world._shape_key(g) for g in world.SOURCE_GLYPHS + world.TARGET_GLYPHS}
    assert not used & {world._shape_key(g) for g in world.FIELD_GLYPHS}
    assert world.FIELD_STYLE["width"][0] > world.SCAN_STYLE["width"][0]       # thicker marks than the lab's


# --------------------------------------------------------------------------- issue 14: data-check on another CPU
def _committed():
    return json.loads((data.data_dir() / data.MANIFEST).read_text())


def _rebuilt_elsewhere(change_accuracy=0.0, file="bases/photos-l.npz"):
    """The committed manifest as another CPU would rebuild it: one file's checksum differs (simulated)."""
    m = json.loads(json.dumps(_committed()))
    m["files"][file]["sha256"] = "0" * 64
    base = file.split("/")[-1][:-4]
    for section in ("bases", "conflicting_bases"):
        if base in m.get(section, {}):
            m[section][base]["source_accuracy"] = round(m[section][base]["source_accuracy"] + change_accuracy, 4)
    return m


def test_data_check_verdicts():
    ref = _committed()
    assert build.verdict(ref, ref)[0] == "bit-identical"
    result, lines = build.verdict(_rebuilt_elsewhere(0.01), ref)
    assert result == "functionally equivalent"
    assert any("bases/photos-l.npz: source_accuracy" in line and "within 0.02" in line for line in lines)
    assert "Not re-run here: the lesson checks" in lines[-1]
    assert build.verdict(_rebuilt_elsewhere(0.05), ref)[0] == "different"
    assert build.verdict(_rebuilt_elsewhere(file="clinic.npz"), ref)[0] == "different"     # images must match


@pytest.mark.parametrize("rebuilt, code, said", [
    (lambda: _committed(), 0, "Verdict: bit-identical."),
    (lambda: _rebuilt_elsewhere(0.005), 0, "Verdict: functionally equivalent."),
    (lambda: _rebuilt_elsewhere(-0.1), 1, "Verdict: different."),
])
def test_data_check_ends_with_a_true_verdict(monkeypatch, capsys, rebuilt, code, said):
    monkeypatch.setattr(build, "build", lambda out, log=print: rebuilt())      # no real rebuild: simulated
    assert build.main(["--check"]) == code
    assert said in capsys.readouterr().out
