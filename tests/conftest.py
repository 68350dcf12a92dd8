"""Shared fixtures: where the real datasets are, and a tiny trained VAE for metric tests."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import torch

from vae_utils import data
from vae_utils.models import ModelSpec
from vae_utils.train import TrainConfig, fit

# Debian's chromium, which the browser tests (JupyterLab and the built site) drive through Playwright; None skips them.
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

REPO = Path(__file__).resolve().parents[1]

# Re-executed committed notebooks (nbval) write results and figures here, not into the checkout; their
# checkpoint cache stays the repository's (vae_utils.config.output_dirs). Kernels inherit it from this process.
os.environ.setdefault("VAE_ARTIFACTS_DIR", tempfile.mkdtemp(prefix="vae-test-artifacts-"))


def checkout_state() -> str | None:
    """A fingerprint of the checkout: git's short status and a hash of the diff against HEAD (None: not a git checkout)."""
    try:
        status = subprocess.run(["git", "status", "--porcelain", "-uall"], cwd=REPO, capture_output=True, text=True, check=True).stdout
        diff = subprocess.run(["git", "diff", "HEAD"], cwd=REPO, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return status + hashlib.sha256(diff).hexdigest()


CHECKOUT_AT_START = checkout_state()


def pytest_collection_modifyitems(items):
    """The clean-checkout test runs after everything else, nbval's notebook cells included."""
    last = [item for item in items if item.name == "test_the_test_session_left_the_checkout_clean"]
    items[:] = [item for item in items if item not in last] + last


def real_data_root() -> Path | None:
    """The data root with the real datasets ($VAE_DATA_DIR, else ../shared/data), or None."""
    for candidate in (os.environ.get("VAE_DATA_DIR"), REPO.parent / "shared" / "data", REPO / "data"):
        if candidate and (Path(candidate) / "MNIST" / "raw" / "t10k-images-idx3-ubyte").is_file():
            return Path(candidate)
    return None


needs_data = pytest.mark.skipif(real_data_root() is None, reason="MNIST/CIFAR-10 not found (set VAE_DATA_DIR)")


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = real_data_root()
    if root is None:
        pytest.skip("MNIST/CIFAR-10 not found (set VAE_DATA_DIR)")
    return root


@pytest.fixture(scope="session")
def mnist_small(data_root):
    """(train 2,000, test 500) MNIST images."""
    test = data.subset(data.load_mnist("test", data_root), 500, seed=0)
    return data.subset(data.load_mnist("train", data_root), 2000, seed=0), test


@pytest.fixture(scope="session")
def trained_vae(mnist_small, tmp_path_factory):
    """A small MLP VAE trained for 3 epochs on 2,000 MNIST images (a few seconds)."""
    train, _ = mnist_small
    torch.set_num_threads(max(1, torch.get_num_threads()))
    return fit(ModelSpec("pytorch_example", (1, 28, 28), 8, variational=True), TrainConfig(epochs=3, batch_size=64),
               train, name="vae", checkpoint_dir=tmp_path_factory.mktemp("ckpt"), progress=False).model
