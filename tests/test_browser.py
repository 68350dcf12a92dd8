"""The latent explorers in a real JupyterLab, driven in headless Chromium: moving a slider redraws the decoded image.

A toy explorer checks the widget stack (ipywidgets 8 in JupyterLab 4); then one notebook builds every explorer class
of the collection from committed weights, runs in JupyterLab (Run All, seconds), and a slider in each explorer is
moved. The notebooks' own explorer cells run under nbval (they need the full notebook before them).
Screenshots are kept under build/test-artifacts/browser/. Without Debian's chromium these tests are skipped, with
the reason in the summary.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import nbformat
import pytest

from conftest import CHROMIUM


REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "build" / "test-artifacts" / "browser"
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed: browser tests not run "
                                                          "(apt-get install chromium)")]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
TRACEBACK_SHOWN = ("Array.from(document.querySelectorAll('.jp-OutputArea-output'))"
                   ".some(output => output.innerText.includes('Traceback (most recent call last)'))")
CELL_QUEUED = ("Array.from(document.querySelectorAll('.jp-InputArea-prompt'))"
               ".some(prompt => prompt.innerText.includes('*'))")

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


# One notebook that builds every explorer class of the collection from committed weights (the notebooks' own explorer
# cells run under nbval; here the point is the widgets in a real browser), in seconds instead of a Run All of each
# full-profile notebook. Inputs are seeded random images and codes: no dataset is needed.
EXPLORERS_SOURCE = [
    """import glob, json
import torch
from vae_utils import faces, metrics
from vae_utils.models import ModelSpec, build_model
from vae_utils.widgets import (FaceMixExplorer, GeneratedDigitsExplorer, LatentExplorer,
                               ReconstructionExplorer, SweepExplorer)

CHECKPOINTS = {checkpoints!r}

def committed(name):
    # the committed model whose checkpoint is checkpoints/<name>-<key>.pt (the first by key), in eval mode
    path = sorted(glob.glob(f"{{CHECKPOINTS}}/{{name}}-*.pt"))[0]
    state = torch.load(path, weights_only=True)
    model = build_model(ModelSpec(**json.loads(state["config_json"])["model"]))
    if "log_scale" in state["model"]:  # a learned decoder σ, which fit adds to the model
        model.register_parameter("log_scale", torch.nn.Parameter(torch.zeros(())))
    model.load_state_dict(state["model"])
    return model.float().eval()

torch.manual_seed(0)
digits, cifar, face_vae = committed("02_s1_conv_z20"), committed("03_conv_vae_z128_s0"), committed("06_face_vae_z128")
cifar_images = torch.rand(4, 3, 32, 32)""",
    """LatentExplorer(lambda z: torch.sigmoid(digits.decode(z)), torch.zeros(20), dims=[0, 1, 2], limits=[(-3, 3)] * 3,
               title="02: MNIST VAE, z = 20").widget""",
    """ReconstructionExplorer(cifar_images, {{"conv VAE": lambda x: metrics.reconstructions(cifar, x)}},
                       lambda recon, original: {{"MSE": float(((recon - original) ** 2).mean())}}, title="03").widget""",
    """SweepExplorer({{"w=300": committed("05_cifar10_w300"), "w=30000": committed("05_cifar10_w30000")}}, cifar_images,
              samples=4, title="05: weights").widget""",
    """codes = torch.randn(6, 128)
FaceMixExplorer(lambda z: torch.sigmoid(face_vae.decode(z)), codes, {{"linear": faces.lerp, "spherical": faces.slerp}},
                {{"vector": torch.randn(codes.shape[1])}}, first=0, second=1, title="06: faces").widget""",
    """GeneratedDigitsExplorer(lambda digit, scale: torch.sigmoid(digits.decode(scale * torch.randn(
    6, 20, generator=torch.Generator().manual_seed(digit)))), lambda images: images.flatten(1).mean(1).mul(100).long() % 10,
    [0.5, 1.0, 2.0], title="07: generated digits").widget""",
]


def explorer_notebook(folder: Path) -> Path:
    cells = [nbformat.v4.new_code_cell(EXPLORERS_SOURCE[0].format(checkpoints=str(REPO / "checkpoints")))]
    cells += [nbformat.v4.new_code_cell(source.format()) for source in EXPLORERS_SOURCE[1:]]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "explorers.ipynb"
    nbformat.write(notebook, path)
    return path


def test_every_explorer_redraws_in_jupyterlab(tmp_path):
    """Every explorer class, built from committed weights, in a real JupyterLab: Run All, then in each explorer's
    output a slider is moved and its image must change on screen."""
    notebook = explorer_notebook(tmp_path)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for shot in ARTIFACTS.glob("explorers_*.png"):
        shot.unlink()
    expected = len(EXPLORERS_SOURCE) - 1
    with jupyterlab_server(tmp_path) as (base_url, token), chromium_page(viewport_width=1700) as page:
        open_notebook(page, base_url, token, notebook.name)
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        outputs = page.locator(".jp-OutputArea-output", has=page.locator(".widget-slider"))
        try:
            page.wait_for_function(f"{TRACEBACK_SHOWN} || document.querySelectorAll('.jp-OutputArea-output "
                                   f".widget-slider').length > 0 && !{CELL_QUEUED}", timeout=300_000, polling=1000)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "explorers_failed.png"))
            raise
        if page.evaluate(TRACEBACK_SHOWN):
            error = page.locator(".jp-OutputArea-output", has_text="Traceback (most recent call last)").first
            page.screenshot(path=str(ARTIFACTS / "explorers_failed.png"))
            pytest.fail(f"the explorers notebook failed in JupyterLab:\n{error.inner_text()[-3000:]}")
        assert outputs.count() == expected, f"{outputs.count()} explorers rendered sliders, expected {expected}"
        unchanged = []
        for k in range(expected):
            output = outputs.nth(k)
            output.scroll_into_view_if_needed()
            image = output.locator("img.widget-image").first
            page.wait_for_function("image => image.naturalWidth > 0", arg=image.element_handle(), timeout=30_000)
            before_pixels, before_src = image.screenshot(), image.get_attribute("src")
            output.screenshot(path=str(ARTIFACTS / f"explorers_{k}_before.png"))
            handle = output.locator(".noUi-handle").first
            changed = False
            for key in ("ArrowRight", "ArrowLeft"):  # a slider at its maximum moves the other way
                handle.focus()
                for _ in range(10):
                    handle.press(key)
                try:
                    page.wait_for_function("([image, before]) => image.src !== before",
                                           arg=[image.element_handle(), before_src], timeout=30_000)
                    changed = True
                    break
                except pytest.importorskip("playwright.sync_api").TimeoutError:
                    continue
            page.wait_for_timeout(300)
            output.screenshot(path=str(ARTIFACTS / f"explorers_{k}_after.png"))
            if not changed or image.screenshot() == before_pixels:
                unchanged.append(k)
    assert not unchanged, f"explorers {unchanged} did not redraw their image on screen after a slider moved"
