"""Build the course site: static HTML from the committed, executed notebooks (``make site``).

Nothing is executed and nothing is downloaded.  The pages are the README (the
index), one page per notebook with its stored outputs and plots, the datasheet,
the model card, the benchmarks, CONTRIBUTING and the instructor notes.  Sphinx
with MyST-NB renders them; the source tree is staged in ``_build/site-src`` with
the repository's own layout, so every relative link the README and the notebooks
use (``notebooks/00_....ipynb``, ``../docs/BENCHMARKS.md``) resolves as it does on
GitHub.  Files that are not pages (LICENSE, code) are copied as downloads.

    python tools/site.py                  # writes _site/index.html and the rest
    python tools/site.py --out /tmp/site  # elsewhere
"""

import argparse
import html.parser
import pathlib
import shutil
import sys
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent.parent

# What the site shows: (pattern relative to the repository root).  The README becomes index.md.
PAGES = ["README.md", "CONTRIBUTING.md", "notebooks/[0-9][0-9]_*.ipynb", "data/DATASHEET.md",
         "data/MODEL_CARD.md", "docs/BENCHMARKS.md", "docs/instructor/*.md"]
# Files the pages link to that are not pages: copied so the links work (as downloads).
FILES = ["LICENSE", "LICENSE-CONTENT.md", "CITATION.cff", "Makefile", "environment.yml", "pyproject.toml",
         "docs/bench.json", "docs/bench_load.json", "data/manifest.json"]

CONF = '''
project = "Transfer learning, by failure"
author = "the course authors"
extensions = ["myst_nb"]
root_doc = "index"
nb_execution_mode = "off"              # the notebooks are committed executed: show what is stored
nb_execution_cache_path = "../site-jupyter-cache"
exclude_patterns = ["_build"]
suppress_warnings = ["mystnb.unknown_mime_type"]   # widget views: the stored plot is shown instead
myst_heading_anchors = 3               # "#troubleshooting"-style links in the README work
html_theme = "alabaster"
html_theme_options = {"page_width": "1420px", "sidebar_width": "240px", "body_max_width": "none"}
html_title = project
html_show_sourcelink = False
html_copy_source = False
'''

TOC = '''

```{toctree}
:hidden:
:caption: The notebooks
:glob:

notebooks/*
```

```{toctree}
:hidden:
:caption: Reference
:glob:

data/DATASHEET
data/MODEL_CARD
docs/BENCHMARKS
CONTRIBUTING
LICENSE-CONTENT
```
'''

INSTRUCTOR_TOC = '''

```{toctree}
:hidden:
:caption: For instructors
:glob:

docs/instructor/*
```
'''


def stage(src):
    """Copy the pages and the files they link to into ``src``, in the repository's layout."""
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for pattern in PAGES + FILES:
        matches = sorted(ROOT.glob(pattern))
        if not matches and (pattern in FILES or "instructor" in pattern):
            continue
        if not matches:
            raise SystemExit(f"site: nothing matches {pattern!r}; is this the course's repository root?")
        for path in matches:
            target = src / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    readme = (src / "README.md").read_text(encoding="utf-8")
    (src / "README.md").unlink()
    toc = TOC + (INSTRUCTOR_TOC if list((src / "docs" / "instructor").glob("*.md")) else "")
    (src / "index.md").write_text(readme.replace("(README.md)", "(index.md)") + toc, encoding="utf-8")
    # Pages that link back to the README find it as the index.
    for page in list(src.rglob("*.md")) + list(src.rglob("*.ipynb")):
        text = page.read_text(encoding="utf-8")
        depth = len(page.relative_to(src).parts) - 1
        old = "../" * depth + "README.md"
        if old and f"({old}" in text:
            page.write_text(text.replace(f"({old}", "(" + "../" * depth + "index.md"), encoding="utf-8")
    (src / "conf.py").write_text(CONF, encoding="utf-8")


def build(out, src, quiet=True):
    """Stage the sources and run Sphinx; warnings are errors (a broken link fails the build)."""
    try:
        from sphinx.cmd.build import build_main
    except ImportError:
        raise SystemExit("site: Sphinx is not installed here. Run `make env` (it installs the course's "
                         "[dev] extras, Sphinx and MyST-NB among them), then `make site`.")
    stage(src)
    # MyST-NB writes its notebook copies next to Sphinx's output folder (``<html>/../jupyter_execute``), so
    # Sphinx writes into the staging area and the finished site is copied to ``out``.
    html = src.parent / "site-html"
    for folder in (out, html):
        if folder.exists():
            shutil.rmtree(folder)
    args = ["-b", "html", "-W", "--keep-going", "-n", str(src), str(html), "-d", str(src.parent / "site-doctrees")]
    if quiet:
        args.insert(0, "-q")
    status = build_main(args)
    if status:
        raise SystemExit(f"site: Sphinx reported problems (above); the site in {html} is incomplete.")
    shutil.copytree(html, out)
    (out / ".nojekyll").write_text("", encoding="utf-8")   # GitHub Pages: serve _static/ as it is
    return out


class _Links(html.parser.HTMLParser):
    """Collect a page's ids and the targets of its links, images and scripts."""

    def __init__(self):
        super().__init__()
        self.ids, self.targets = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for name in ("href", "src"):
            if attrs.get(name):
                self.targets.append((tag, attrs[name]))


def check_links(out):
    """Every internal link, image and script of every page resolves: return the problems, one line each.

    A link to a page's anchor (``page.html#part``) must find that id in the page.  Links
    to other sites are not followed (the site is built and read offline), but a page may
    not need one to display: no stylesheet or script from another site.
    """
    pages = {p: _parse(p) for p in out.rglob("*.html")}
    problems = []
    for page, parsed in sorted(pages.items()):
        where = page.relative_to(out).as_posix()
        for tag, target in parsed.targets:
            url = urllib.parse.urlsplit(target)
            if url.scheme in ("http", "https"):
                if tag in ("link", "script", "img"):
                    problems.append(f"{where}: <{tag}> loads {target} from another site (the site must work offline)")
                continue
            if url.scheme in ("mailto", "data", "javascript"):
                continue
            path = page if not url.path else (page.parent / urllib.parse.unquote(url.path)).resolve()
            if not path.exists():
                problems.append(f"{where}: {target} does not exist")
                continue
            if path.is_dir():
                path = path / "index.html"
                if not path.exists():
                    problems.append(f"{where}: {target} is a folder without index.html")
                    continue
            if url.fragment and path.suffix == ".html":
                ids = pages[path].ids if path in pages else _parse(path).ids
                if urllib.parse.unquote(url.fragment) not in ids:
                    problems.append(f"{where}: {target} points to #{url.fragment}, which that page does not have")
    return problems


def _parse(path):
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "_site", help="output folder (default _site/)")
    parser.add_argument("--src", type=pathlib.Path, default=ROOT / "_build" / "site-src",
                        help="staging folder for the Sphinx sources (default _build/site-src/)")
    parser.add_argument("--verbose", action="store_true", help="show Sphinx's progress")
    args = parser.parse_args(argv)
    out = build(args.out.resolve(), args.src.resolve(), quiet=not args.verbose)
    pages = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html")
                   if not p.relative_to(out).as_posix().startswith(("_", "genindex", "search")))
    problems = check_links(out)
    for line in problems:
        print("site: broken link:", line)
    if problems:
        return 1
    print(f"site: {len(pages)} pages in {out}, every internal link checked (open {out / 'index.html'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
