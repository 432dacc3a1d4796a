"""Fixtures shared by several test files."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """The course site, built once per test run from the committed notebooks (tools/build_site.py)."""
    sys.path.insert(0, str(ROOT / "tools"))
    import build_site

    tmp = tmp_path_factory.mktemp("site")
    return build_site.build(tmp / "_site", tmp / "src")
