"""Interactive latent explorer: sliders over a code, the decoded image updating live (ipywidgets 8)."""
from __future__ import annotations

import io
from typing import Callable, Sequence

import ipywidgets as widgets
import torch
from torchvision.utils import save_image


def decode_to_png(decode: Callable[[torch.Tensor], torch.Tensor], code: torch.Tensor, scale: int = 6) -> bytes:
    """Decode one code (D,) with decode: (1, D) -> (1, C, H, W) in [0, 1], enlarged `scale` times, as PNG bytes."""
    with torch.no_grad():
        image = decode(code.view(1, -1).float()).cpu()
    if scale > 1:
        image = torch.nn.functional.interpolate(image, scale_factor=scale, mode="nearest")
    buffer = io.BytesIO()
    save_image(image, buffer, format="png")
    return buffer.getvalue()


class LatentExplorer:
    """Sliders over chosen dims of a base code; `update()` (called on every slider change) re-decodes the image.

    decode: (1, D) codes -> (1, C, H, W) images in [0, 1]; base_code: (D,); dims: which coordinates get a slider;
    limits: (low, high) per slider. `widget` is what a notebook displays."""

    def __init__(self, decode: Callable[[torch.Tensor], torch.Tensor], base_code: torch.Tensor, dims: Sequence[int],
                 limits: Sequence[tuple[float, float]], scale: int = 6, title: str = "latent explorer"):
        if len(dims) != len(limits):
            raise ValueError(f"give one (low, high) per slider: {len(dims)} dims but {len(limits)} limits")
        if any(not 0 <= d < base_code.numel() for d in dims):
            raise ValueError(f"dims must be in 0..{base_code.numel() - 1}, got {list(dims)}")
        self.decode, self.base_code, self.dims, self.scale = decode, base_code.detach().flatten().float(), list(dims), scale
        self.sliders = [
            widgets.FloatSlider(value=float(self.base_code[d].clamp(low, high)), min=low, max=high,
                                step=(high - low) / 100, description=f"z[{d}]", continuous_update=True,
                                readout_format=".2f")
            for d, (low, high) in zip(self.dims, limits)]
        self.image = widgets.Image(format="png", value=b"")
        for slider in self.sliders:
            slider.observe(self.update, names="value")
        self.widget = widgets.VBox([widgets.HTML(f"<b>{title}</b>"), widgets.HBox([self.image, widgets.VBox(self.sliders)])])
        self.update()

    def current_code(self) -> torch.Tensor:
        """The base code with each slider's value in its dim, (D,)."""
        code = self.base_code.clone()
        for d, slider in zip(self.dims, self.sliders):
            code[d] = slider.value
        return code

    def update(self, change: dict | None = None) -> bytes:
        """Re-decode the current code into the image widget; returns the PNG bytes shown."""
        self.image.value = decode_to_png(self.decode, self.current_code(), self.scale)
        return self.image.value
