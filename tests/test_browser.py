"""The learner's path in a real browser: JupyterLab runs a notebook, an explorer redraws, the site reads well.

Debian's ``chromium`` driven by Playwright (pip ``playwright``, told the browser's
path; Playwright's own browser download is not used).  ``.ci/run`` installs the
browser; on a machine without it these tests are skipped with one line saying why.
JupyterLab's settings, workspaces and runtime files go to a temporary folder, the
notebook runs from a temporary copy and autosave is off, so the repository stays clean.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium"))
NOTEBOOK = "03_class_imbalance.ipynb"       # the quickest notebook with an explorer
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic"]

try:
    from playwright.sync_api import sync_playwright
except ImportError:          # pragma: no cover - depends on the machine
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(sync_playwright is None, reason="real-browser tests skipped: the playwright package is "
                       "missing (make env installs it)"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"real-browser tests skipped: no browser at {CHROMIUM} "
                       "(install Debian's chromium: apt-get install chromium; .ci/run does)"),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {seconds} s")


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chrome = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chrome
        chrome.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a loopback port, over a temporary copy of one notebook."""
    tmp = tmp_path_factory.mktemp("lab")
    work = tmp / "notebooks"
    work.mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, work / NOTEBOOK)
    settings = tmp / "settings"
    for plugin, values in {"@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                                             "checkForUpdates": False},
                           "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False}}.items():
        (settings / plugin).parent.mkdir(parents=True, exist_ok=True)
        (settings / plugin).write_text(json.dumps(values))
    port = free_port()
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(tmp / "ws"),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), COURSE_QUIET="0")
    env.pop("MPLBACKEND", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1", "--allow-root",
         "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
         "--LabApp.expose_app_in_browser=True", f"--ServerApp.root_dir={work}"],
        env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/api/status")
        yield f"http://127.0.0.1:{port}", work
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def test_a_notebook_runs_in_jupyterlab_and_its_explorer_redraws(browser, lab):
    url, work = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(f"{url}/lab/tree/{NOTEBOOK}")
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.sessionContext"
                           " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                           " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel")
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # Done when the last cell has an execution number and no cell is still waiting ([*]).
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent.trim());
            return prompts.length > 0 && !prompts.some(t => t.includes('*')) && /\\[\\d+\\]/.test(prompts[prompts.length - 1]);
        }""", timeout=300_000, polling=1000)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
    assert errors.count() == 0, "a cell raised: " + errors.first.inner_text()[:500]
    text = page.locator(".jp-Notebook").inner_text()
    assert "lesson check passed" in text.lower() or "✔" in text
    assert "Not answered yet" in text or "No prediction yet" in text      # exercises give feedback, not tracebacks

    # The explorer: its widget, its plot; move the control and the plot is replaced by a new one.
    widget = page.locator(".jp-OutputArea-output .widget-vbox").first
    widget.scroll_into_view_if_needed()
    before = widget.locator("img").first.get_attribute("src")
    assert before and before.startswith("data:image/png")
    handle = widget.locator(".noUi-handle, .widget-slider .ui-slider-handle").first
    handle.focus()
    handle.press("ArrowLeft")
    page.wait_for_function(
        """([before]) => { const img = document.querySelector('.jp-OutputArea-output .widget-vbox img');
                           return img && img.getAttribute('src') !== before; }""", arg=[before], timeout=60_000)
    assert widget.locator("img").count() == 1, "the new plot must replace the old one, not stack under it"
    page.close()


@pytest.fixture(scope="module")
def site(built_site):
    out = built_site
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=out,
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/index.html")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_the_site_reads_in_a_browser_from_index_to_notebook_to_data_card(browser, site):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.goto(f"{site}/index.html")
    assert "Transfer learning, by failure" in page.title()
    page.locator("a[href='notebooks/06_tiny_dataset_overfitting.html']").first.click()
    page.wait_for_url("**/notebooks/06_tiny_dataset_overfitting.html")
    assert page.locator("h1").first.inner_text().startswith("06")
    images = page.locator("img")
    assert images.count() >= 3, "the notebook's stored plots are on its page"
    widths = page.evaluate("() => [...document.images].map(i => i.complete ? i.naturalWidth : 0)")
    assert min(widths) > 0, f"an image did not load: {widths}"
    page.locator("a[href='../data/MODEL_CARD.html']").first.click()
    page.wait_for_url("**/data/MODEL_CARD.html")
    assert "scans-s" in page.locator("body").inner_text()
    page.close()
