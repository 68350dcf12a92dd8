"""The latent explorers in a real JupyterLab, driven in headless Chromium: moving a slider redraws the decoded image.

A toy explorer checks the widget stack (ipywidgets 8 in JupyterLab 4); then each notebook with an explorer is opened
from a copy, run from the committed checkpoints (Run All), and a slider beside each of its images moved.
Screenshots are kept under build/test-artifacts/browser/. Without Debian's chromium these tests are skipped, with
the reason in the summary.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import nbformat
import pytest

from conftest import real_data_root

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "build" / "test-artifacts" / "browser"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed: browser tests not run "
                                                          "(apt-get install chromium)")]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
NOTEBOOK_TIMEOUT_S = 900  # Run All of a full-profile notebook from checkpoints on a loaded 2-core machine
TRACEBACK_SHOWN = ("Array.from(document.querySelectorAll('.jp-OutputArea-output'))"
                   ".some(output => output.innerText.includes('Traceback (most recent call last)'))")
CELL_QUEUED = ("Array.from(document.querySelectorAll('.jp-InputArea-prompt'))"
               ".some(prompt => prompt.innerText.includes('*'))")
IMAGE_SHOWN = "Array.from(document.querySelectorAll('img.widget-image')).some(image => image.naturalWidth > 0)"

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


def has_explorer(path: Path) -> bool:
    """Whether a notebook builds a LatentExplorer or shows any other ipywidget in its saved outputs."""
    notebook = nbformat.read(path, as_version=4)
    return any("LatentExplorer(" in cell.source or any(WIDGET_VIEW in output.get("data", {})
                                                      for output in cell.get("outputs", []))
               for cell in notebook.cells)


EXPLORER_NOTEBOOKS = [path for path in sorted((REPO / "notebooks").glob("[0-9][0-9]*_*.ipynb")) if has_explorer(path)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyterlab_server(root_dir: Path, env: dict[str, str] | None = None) -> Iterator[tuple[str, str]]:
    """A JupyterLab server on a free localhost port serving `root_dir`, with a token (`env` added to its
    environment); yields (its base URL, the token) and stops it at the end."""
    port, token = free_port(), os.urandom(12).hex()
    # Lab settings and workspaces of its own: every cell attached to the page (no windowing), nothing written to ~.
    settings = root_dir / ".lab-settings"
    (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True, exist_ok=True)
    (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        '{"windowingMode": "none"}')
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(root_dir / ".lab-workspaces"), **(env or {})}
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", "--ServerApp.password=", f"--ServerApp.root_dir={root_dir}",
         "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start within 120 s")
        yield f"http://127.0.0.1:{port}", token
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@contextlib.contextmanager
def chromium_page(viewport_width: int = 1280):
    """A page of headless Debian chromium, driven by Playwright (no browser download)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"])
        try:
            yield browser.new_page(viewport={"width": viewport_width, "height": 900})
        finally:
            browser.close()


def open_notebook(page, base_url: str, token: str, name: str) -> None:
    """Open `name` in JupyterLab and wait until its kernel is idle with the page connected to it (the server's own
    account: the page's indicator can read idle before the kernel is connected, and a cell run then is dropped)."""
    page.goto(f"{base_url}/lab/tree/{name}?token={token}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=120_000)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url}/api/kernels?token={token}", timeout=10) as response:
                kernels = json.load(response)
        except OSError:  # a busy server answering late: ask again
            kernels = []
        if any(k["execution_state"] == "idle" and k["connections"] > 0 for k in kernels):
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"the kernel of {name} did not start and connect within 120 s")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)


def move_slider_beside(page, index: int) -> None:
    """Move, with the keyboard, the first slider beside widget image `index` (in its row, as LatentExplorer lays it
    out; else the page's first slider): right and, if it sat at its maximum, left, until that image changes."""
    image = page.locator("img.widget-image").nth(index)
    handles = image.locator("xpath=ancestor::div[contains(@class, 'widget-hbox')][1]").locator(".noUi-handle")
    handle = handles.first if handles.count() else page.locator(".widget-slider .noUi-handle").first
    handle.scroll_into_view_if_needed()
    before = image.get_attribute("src")
    for key in ("ArrowRight", "ArrowLeft"):
        handle.focus()
        for _ in range(30):
            handle.press(key)
        try:
            page.wait_for_function("([index, before]) => document.querySelectorAll('img.widget-image')[index].src "
                                   "!== before", arg=[index, before], timeout=30_000)
            return
        except pytest.importorskip("playwright.sync_api").TimeoutError:  # try the other direction
            continue
    pytest.fail(f"moving the slider beside widget image {index} both ways did not redraw it")


def test_slider_redraws_the_decoded_image(tmp_path):
    """The widget stack itself, on a toy explorer: the slider renders and moving it redraws the image."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(EXPLORER_CELL.strip())])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, tmp_path / "explorer.ipynb")
    with jupyterlab_server(tmp_path) as (base_url, token), chromium_page() as page:
        open_notebook(page, base_url, token, "explorer.ipynb")
        page.locator(".jp-Notebook .jp-Cell .cm-content").first.click(timeout=60_000)
        page.keyboard.press("Shift+Enter")
        image = page.locator("img.widget-image").first
        image.wait_for(state="visible", timeout=60_000)
        page.wait_for_function("document.querySelector('img.widget-image').naturalWidth > 0", timeout=30_000)
        assert page.locator(".widget-slider").count() == 2, "both sliders render (ipywidgets 8 in JupyterLab 4)"
        pixels_before = image.screenshot()
        move_slider_beside(page, 0)
        page.wait_for_timeout(500)
        pixels_after = image.screenshot()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "toy_explorer.png"))
    assert pixels_after != pixels_before, "the decoded image changed on screen after moving the slider"


def runnable_copy(path: Path, folder: Path) -> tuple[Path, Path]:
    """A copy of notebook `path` in `folder`, outputs cleared, whose parameters send every write into `folder`:
    the checkpoint cache is a copy of the committed checkpoints/ (returned), results and figures go to `folder`."""
    checkpoints = folder / "checkpoints"
    shutil.copytree(REPO / "checkpoints", checkpoints)
    notebook = nbformat.read(path, as_version=4)
    notebook.cells = [cell for cell in notebook.cells if "injected-parameters" not in cell.metadata.get("tags", [])]
    parameters = next(i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", []))
    notebook.cells.insert(parameters + 1, nbformat.v4.new_code_cell(
        f'profile = "full"\nartifacts_dir = {str(folder)!r}\ncheckpoint_dir = {str(checkpoints)!r}'))
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    notebook.metadata.pop("widgets", None)
    copy = folder / path.name
    nbformat.write(notebook, copy)
    return copy, checkpoints


@pytest.mark.parametrize("notebook", EXPLORER_NOTEBOOKS, ids=[path.stem for path in EXPLORER_NOTEBOOKS])
def test_notebook_explorer_redraws_in_jupyterlab(notebook, tmp_path):
    """The notebook's own explorer: Run All from the committed checkpoints, then a slider moves the decoded image."""
    data_root = real_data_root()
    if data_root is None:
        pytest.skip("MNIST/CIFAR-10 not found (set VAE_DATA_DIR): the notebook cannot run")
    copy, checkpoints = runnable_copy(notebook, tmp_path)
    committed = sorted(p.name for p in checkpoints.iterdir())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shots = {when: ARTIFACTS / f"{notebook.stem}_{when}.png" for when in ("before", "after", "failed")}
    for shot in ARTIFACTS.glob(f"{notebook.stem}_*.png"):
        shot.unlink()
    started = time.perf_counter()
    with jupyterlab_server(tmp_path, env={"VAE_DATA_DIR": str(data_root)}) as (base_url, token), \
            chromium_page(viewport_width=1700) as page:
        open_notebook(page, base_url, token, copy.name)
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            page.wait_for_function(f"{TRACEBACK_SHOWN} || {IMAGE_SHOWN}", timeout=NOTEBOOK_TIMEOUT_S * 1000,
                                   polling=2000)
        except Exception:
            page.screenshot(path=str(shots["failed"]))
            raise
        if page.evaluate(TRACEBACK_SHOWN):
            error = page.locator(".jp-OutputArea-output", has_text="Traceback (most recent call last)").first
            error.scroll_into_view_if_needed()
            page.screenshot(path=str(shots["failed"]))
            pytest.fail(f"{notebook.name} failed in JupyterLab (screenshot {shots['failed']}):\n"
                        f"{error.inner_text()[-3000:]}")
        # Let the last cells finish: a slider's message waits in the kernel's queue behind them.
        page.wait_for_function(f"!{CELL_QUEUED} || {TRACEBACK_SHOWN}", timeout=NOTEBOOK_TIMEOUT_S * 1000, polling=2000)
        assert not page.evaluate(TRACEBACK_SHOWN), f"{notebook.name}: a cell after the explorer failed"
        ran_s = time.perf_counter() - started
        outputs = page.locator(".jp-OutputArea-output", has=page.locator("img.widget-image"))
        outputs.first.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        assert page.locator(".widget-slider").count() >= 1, "the explorer's sliders render"
        images = page.locator("img.widget-image")
        pixels_before = [images.nth(i).screenshot() for i in range(images.count())]
        for k in range(outputs.count()):
            outputs.nth(k).screenshot(path=str(shots["before"]).replace(".png", f"_{k}.png" if k else ".png"))
        for i in range(images.count()):  # every explorer: a slider beside each image redraws it
            move_slider_beside(page, i)
        page.wait_for_timeout(500)
        pixels_after = [images.nth(i).screenshot() for i in range(images.count())]
        for k in range(outputs.count()):
            outputs.nth(k).screenshot(path=str(shots["after"]).replace(".png", f"_{k}.png" if k else ".png"))
    print(f"{notebook.stem}: ran in JupyterLab in {ran_s:.0f} s; screenshots {shots['before']} and {shots['after']}")
    unchanged = [i for i, (before, after) in enumerate(zip(pixels_before, pixels_after)) if before == after]
    assert not unchanged, f"widget images {unchanged} looked the same on screen after moving their sliders"
    assert sorted(p.name for p in checkpoints.iterdir()) == committed, \
        "the notebook trained or cached something new: it did not run from the committed checkpoints alone"
