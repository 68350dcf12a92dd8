"""The latent explorer in a real JupyterLab, driven in headless Chromium: moving a slider redraws the image."""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")]

EXPLORER_CELL = """
import torch
from vae_utils.widgets import LatentExplorer

def decode(z):
    image = torch.full((1, 1, 8, 8), float(torch.sigmoid(z[0, 0])))
    image[0, 0, :, int(torch.clamp((z[0, 1] + 2) * 2, 0, 7))] = 1.0
    return image

explorer = LatentExplorer(decode, torch.zeros(2), dims=[0, 1], limits=[(-3, 3), (-2, 2)], title="browser test")
explorer.widget
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyterlab(tmp_path):
    """A JupyterLab server on localhost serving a notebook with one explorer cell; yields the notebook's URL."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(EXPLORER_CELL.strip())])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, tmp_path / "explorer.ipynb")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={tmp_path}",
         "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start within 60 s")
        yield f"http://127.0.0.1:{port}/lab/tree/explorer.ipynb"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_slider_redraws_the_decoded_image(jupyterlab, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(jupyterlab)
        page.locator(".jp-Notebook .jp-Cell .cm-content").first.click(timeout=60_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
        page.keyboard.press("Shift+Enter")
        image = page.locator("img.widget-image").first
        image.wait_for(state="visible", timeout=60_000)
        page.wait_for_function("document.querySelector('img.widget-image').naturalWidth > 0", timeout=30_000)
        assert page.locator(".widget-slider").count() == 2, "both sliders render (ipywidgets 8 in JupyterLab 4)"
        src_before, pixels_before = image.get_attribute("src"), image.screenshot()
        handle = page.locator(".widget-slider .noUi-handle").first
        handle.focus()
        for _ in range(30):
            handle.press("ArrowRight")
        page.wait_for_function(f"document.querySelector('img.widget-image').src !== {src_before!r}", timeout=30_000)
        page.wait_for_timeout(500)
        pixels_after = image.screenshot()
        page.screenshot(path=str(tmp_path / "explorer.png"))
        browser.close()
    assert pixels_after != pixels_before, "the decoded image changed on screen after moving the slider"
