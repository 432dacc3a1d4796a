"""`make site`: every page is there, shows what it should, and every internal link resolves."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import build_site  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_the_site_has_an_index_a_page_per_notebook_and_the_reference_pages(built_site):
    assert "Transfer learning, by failure" in (built_site / "index.html").read_text(encoding="utf-8")
    for nb in NOTEBOOKS:
        page = built_site / "notebooks" / (nb.stem + ".html")
        assert page.exists(), f"no page for {nb.name}"
    for page in ("data/DATASHEET.html", "data/MODEL_CARD.html", "docs/BENCHMARKS.html", "CONTRIBUTING.html"):
        assert (built_site / page).exists(), page
    assert (built_site / ".nojekyll").exists()


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_each_notebook_page_shows_its_stored_plots_and_no_widget_text(built_site, nb):
    import json

    stored = sum(1 for c in json.loads(nb.read_text(encoding="utf-8"))["cells"]
                 for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
    html = (built_site / "notebooks" / (nb.stem + ".html")).read_text(encoding="utf-8")
    assert html.count("<img") >= stored, f"{nb.name}: {stored} stored plots, {html.count('<img')} on the page"
    assert "VBox(children=" not in html and "IntSlider(value=" not in html


def test_every_internal_link_resolves(built_site):
    assert build_site.check_links(built_site) == []


def test_the_link_check_catches_a_missing_page_and_a_missing_anchor(tmp_path):
    (tmp_path / "index.html").write_text('<a href="a.html">a</a> <a href="b.html">b</a> <a href="a.html#x">x</a>'
                                         '<a href="https://example.org">out</a> <img src="i.png">')
    (tmp_path / "a.html").write_text('<h1 id="y">a</h1><script src="https://cdn.example.org/x.js"></script>')
    problems = build_site.check_links(tmp_path)
    assert problems == [
        "a.html: <script> loads https://cdn.example.org/x.js from another site (the site must work offline)",
        "index.html: b.html does not exist",
        "index.html: a.html#x points to #x, which that page does not have",
        "index.html: i.png does not exist",
    ]


def test_the_site_builds_only_from_committed_files_and_never_executes():
    assert 'nb_execution_mode = "off"' in build_site.CONF
    assert "-W" in Path(build_site.__file__).read_text(encoding="utf-8")     # a warning (a broken ref) fails it


def test_building_the_site_writes_nothing_beside_its_output_folder(tmp_path):
    """MyST-NB puts notebook copies next to Sphinx's output folder: that must be the staging area, not the repo."""
    (tmp_path / "repo").mkdir()
    out = build_site.build(tmp_path / "repo" / "_site", tmp_path / "staging" / "src")
    assert sorted(p.name for p in (tmp_path / "repo").iterdir()) == ["_site"]
    assert (out / "index.html").exists() and (tmp_path / "staging" / "jupyter_execute").exists()
