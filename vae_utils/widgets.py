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


def images_to_png(images: torch.Tensor, scale: int = 6) -> bytes:
    """A row of images (N, C, H, W) in [0, 1], enlarged `scale` times, as PNG bytes."""
    images = images.detach().float().cpu()
    if scale > 1:
        images = torch.nn.functional.interpolate(images, scale_factor=scale, mode="nearest")
    buffer = io.BytesIO()
    save_image(images, buffer, format="png", nrow=len(images), padding=2, pad_value=1.0)
    return buffer.getvalue()


class ReconstructionExplorer:
    """Pick a test image and a model: see the input beside its reconstruction, with scores under them.

    images: (N, C, H, W) in [0, 1]; reconstruct: model name -> function (B, C, H, W) -> (B, C, H, W) in [0, 1];
    score: (reconstruction, original) -> {name: value}, shown as text. Starts on image `start`, the first model."""

    def __init__(self, images: torch.Tensor, reconstruct: dict[str, Callable[[torch.Tensor], torch.Tensor]],
                 score: Callable[[torch.Tensor, torch.Tensor], dict[str, float]], start: int = 0, scale: int = 6,
                 title: str = "reconstruction explorer"):
        if not reconstruct:
            raise ValueError("give at least one model to reconstruct with")
        if not 0 <= start < len(images):
            raise ValueError(f"start must be in 0..{len(images) - 1}, got {start}")
        self.images, self.reconstruct, self.score, self.scale = images, reconstruct, score, scale
        self.index = widgets.IntSlider(value=start, min=0, max=len(images) - 1, description="test image")
        self.model = widgets.Dropdown(options=list(reconstruct), description="model")
        self.image = widgets.Image(format="png", value=b"")
        self.scores = widgets.HTML()
        for control in (self.index, self.model):
            control.observe(self.update, names="value")
        self.widget = widgets.VBox([widgets.HTML(f"<b>{title}</b> (left: input, right: reconstruction)"),
                                    widgets.HBox([self.index, self.model]), self.image, self.scores])
        self.update()

    def update(self, change: dict | None = None) -> dict[str, float]:
        """Reconstruct the chosen image with the chosen model, redraw, and return its scores."""
        original = self.images[self.index.value:self.index.value + 1]
        with torch.no_grad():
            reconstruction = self.reconstruct[self.model.value](original)
        self.image.value = images_to_png(torch.cat([original, reconstruction]), self.scale)
        scores = self.score(reconstruction, original)
        self.scores.value = " &nbsp; ".join(f"{name}: <b>{value:.4g}</b>" for name, value in scores.items())
        return scores


class FaceMixExplorer:
    """Two faces and a slider between their codes, plus one slider per attribute vector added to the mixed code.

    decode: (B, D) codes -> (B, C, H, W) images in [0, 1]; codes: (N, D), one per face to choose from; paths: name ->
    interpolation (z0 (1, D), z1 (1, D), alphas (T,)) -> (1, T, D), e.g. linear and spherical; vectors: attribute name
    -> (D,) direction, its slider the multiple added. The image shows face one, the mix, face two (all decoded)."""

    def __init__(self, decode: Callable[[torch.Tensor], torch.Tensor], codes: torch.Tensor,
                 paths: dict[str, Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]],
                 vectors: dict[str, torch.Tensor], first: int = 0, second: int = 1, scale: int = 4,
                 vector_limit: float = 2.0, title: str = "face explorer"):
        if not paths:
            raise ValueError("give at least one interpolation path")
        if not (0 <= first < len(codes) and 0 <= second < len(codes)):
            raise ValueError(f"first and second must be in 0..{len(codes) - 1}, got {first}, {second}")
        if any(v.numel() != codes.shape[1] for v in vectors.values()):
            raise ValueError(f"every attribute vector needs {codes.shape[1]} numbers, like the codes")
        self.decode, self.codes, self.paths, self.scale = decode, codes.detach().float(), paths, scale
        self.vectors = {name: v.detach().flatten().float() for name, v in vectors.items()}
        self.first = widgets.IntSlider(value=first, min=0, max=len(codes) - 1, description="face 1")
        self.second = widgets.IntSlider(value=second, min=0, max=len(codes) - 1, description="face 2")
        self.alpha = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="α", readout_format=".2f")
        self.path = widgets.Dropdown(options=list(paths), description="path")
        self.strengths = {name: widgets.FloatSlider(value=0.0, min=-vector_limit, max=vector_limit, step=0.1,
                                                    description=f"+ {name}", readout_format=".1f") for name in self.vectors}
        self.image = widgets.Image(format="png", value=b"")
        controls = [self.alpha, self.first, self.second, self.path, *self.strengths.values()]
        for control in controls:
            control.observe(self.update, names="value")
        self.widget = widgets.VBox([widgets.HTML(f"<b>{title}</b> (face 1, the mix, face 2)"),
                                    widgets.HBox([self.image, widgets.VBox(controls)])])
        self.update()

    def current_code(self) -> torch.Tensor:
        """The code on the chosen path at α between the two faces, plus each attribute vector times its slider, (D,)."""
        z0, z1 = self.codes[self.first.value:self.first.value + 1], self.codes[self.second.value:self.second.value + 1]
        code = self.paths[self.path.value](z0, z1, torch.tensor([float(self.alpha.value)]))[0, 0].clone()
        for name, slider in self.strengths.items():
            code += slider.value * self.vectors[name]
        return code

    def update(self, change: dict | None = None) -> bytes:
        """Decode face 1, the current mix and face 2 into the image widget; returns the PNG bytes shown."""
        batch = torch.stack([self.codes[self.first.value], self.current_code(), self.codes[self.second.value]])
        with torch.no_grad():
            images = self.decode(batch)
        self.image.value = images_to_png(images, self.scale)
        return bytes(self.image.value)
