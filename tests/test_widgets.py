import pytest
import torch

from vae_utils.widgets import LatentExplorer, decode_to_png


def decoder(z: torch.Tensor) -> torch.Tensor:
    """A toy decoder: image brightness follows z[0], a bar's position follows z[1]."""
    image = torch.full((1, 1, 8, 8), float(torch.sigmoid(z[0, 0])))
    image[0, 0, :, int(torch.clamp((z[0, 1] + 2) * 2, 0, 7))] = 1.0
    return image


def test_png_bytes():
    png = decode_to_png(decoder, torch.zeros(2), scale=3)
    assert png.startswith(b"\x89PNG")


def test_slider_change_redraws_the_image():
    explorer = LatentExplorer(decoder, torch.zeros(2), dims=[0, 1], limits=[(-3, 3), (-2, 2)])
    before = explorer.image.value
    explorer.sliders[0].value = 2.5  # the observer calls update() as JupyterLab would
    assert explorer.current_code().tolist() == [2.5, 0.0]
    assert explorer.image.value != before
    explorer.sliders[0].value = 0.0
    assert explorer.image.value == before  # same code, same picture


def test_bad_explorer_arguments():
    with pytest.raises(ValueError, match="one \\(low, high\\) per slider"):
        LatentExplorer(decoder, torch.zeros(2), dims=[0, 1], limits=[(-1, 1)])
    with pytest.raises(ValueError, match="dims must be in 0..1"):
        LatentExplorer(decoder, torch.zeros(2), dims=[5], limits=[(-1, 1)])
