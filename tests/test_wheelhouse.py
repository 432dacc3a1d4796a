"""`make wheelhouse` and the offline install: a room downloads the environment once, laptops install with no network.

The test builds the wheelhouse with the real target (about a minute and 3 GB here: pip copies the wheels from its
cache), then, in a new virtual environment with pip pointed at no index and every proxy pointed at a closed port,
resolves the whole course against the wheelhouse alone (``pip install --dry-run``: every wheel is there, and the
course itself builds with the build backend from the wheelhouse) and really installs the pure-Python part. The
full install (about 6 GB, torch included) was measured by hand: see docs/instructor/README.md.
"""

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NEEDED_GB = 8


def offline_env():
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env[proxy] = "http://127.0.0.1:9"          # nothing listens there: any download fails at once
    env.pop("PIP_INDEX_URL", None)
    env.pop("PIP_EXTRA_INDEX_URL", None)
    return env


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheelhouse")
    free_gb = shutil.disk_usage(tmp).free / 1e9
    if free_gb < NEEDED_GB:
        pytest.skip(f"wheelhouse test skipped: {free_gb:.1f} GB free in {tmp}, it needs {NEEDED_GB} GB")
    folder = tmp / "wheelhouse"
    result = subprocess.run(["make", "--no-print-directory", "wheelhouse", f"WHEELHOUSE_DIR={folder}"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "make lab WHEELHOUSE=" in result.stdout
    return folder


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory):
    where = tmp_path_factory.mktemp("venv") / "v"
    venv.create(where, with_pip=True)
    return where / "bin" / "python"


def test_the_wheelhouse_holds_torch_torchvision_and_the_build_backend(wheelhouse):
    names = {p.name.split("-")[0].lower() for p in wheelhouse.glob("*.whl")}
    for needed in ("torch", "torchvision", "numpy", "jupyterlab", "nbval", "setuptools", "sphinx", "playwright"):
        assert needed in names, f"{needed} is not in the wheelhouse"


def test_the_whole_course_resolves_from_the_wheelhouse_with_no_network(wheelhouse, fresh_python):
    result = subprocess.run([str(fresh_python), "-m", "pip", "install", "--dry-run", "--no-index", "--find-links",
                             str(wheelhouse), "-e", f"{ROOT}[dev]"],
                            capture_output=True, text=True, env=offline_env(), cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Would install" in result.stdout and "torch-" in result.stdout


def test_packages_really_install_from_the_wheelhouse_with_no_network(wheelhouse, fresh_python):
    result = subprocess.run([str(fresh_python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links",
                             str(wheelhouse), "tqdm", "nbformat"],
                            capture_output=True, text=True, env=offline_env())
    assert result.returncode == 0, result.stderr[-3000:]
    check = subprocess.run([str(fresh_python), "-c", "import tqdm, nbformat; print('ok')"], capture_output=True,
                           text=True)
    assert check.stdout.strip() == "ok"


def test_without_the_wheelhouse_the_offline_install_fails_loudly(tmp_path, fresh_python):
    (tmp_path / "empty").mkdir()
    result = subprocess.run([str(fresh_python), "-m", "pip", "install", "--dry-run", "--no-index", "--find-links",
                             str(tmp_path / "empty"), "jupyterlab"], capture_output=True, text=True, env=offline_env())
    assert result.returncode != 0 and "No matching distribution" in result.stderr


def test_make_env_uses_the_wheelhouse_with_no_index():
    result = subprocess.run(["make", "-n", "--always-make", "env", "WHEELHOUSE=/some/wheelhouse"], cwd=ROOT,
                            capture_output=True, text=True)
    assert "--no-index --find-links \"/some/wheelhouse\"" in result.stdout
