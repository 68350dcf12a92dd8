"""Interactive explorers (ipywidgets 8): sliders over a code with the decoded image updating live, and the
image-construction report's symptom test (decodes of two images and of noise) for a chosen model."""
from __future__ import annotations

import html
import io
from typing import Callable, Sequence

import ipywidgets as widgets
import torch
from torchvision.utils import save_image

from .loss_convention import (BATCH_REDUCTIONS, DATA_RANGES, DATA_SPECTRA, KL_DIM_REDUCTIONS, PIXEL_REDUCTIONS,
                              RECONSTRUCTIONS, WEIGHT_SCALINGS, LossConvention, Translation, translate)


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
    """A row of images (N, C, H, W) in [0, 1], enlarged `scale` times and separated by white lines, as PNG bytes."""
    images = images.detach().float().cpu().clamp(0, 1)
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


def symptom_row(model, pair: torch.Tensor, noise_seed: int = 0) -> torch.Tensor:
    """The image-construction report's symptom test for one model: image A, decode(mu_A), image B, decode(mu_B) and
    the decode of z ~ N(0, I) drawn with noise_seed. pair: (2, C, H, W) in [0, 1]; returns (5, C, H, W) in [0, 1]."""
    device = next(model.parameters()).device
    noise = torch.randn(1, model.latent_dim, generator=torch.Generator().manual_seed(noise_seed))
    with torch.no_grad():
        decoded = model.reconstruct(pair.to(device)).cpu()
        from_noise = torch.sigmoid(model.decode(noise.to(device))).cpu()
    return torch.cat([pair[:1], decoded[:1], pair[1:], decoded[1:], from_noise])


class DecodeComparer:
    """The image-construction report's symptom test, live: two test images, the decodes of their codes
    (posterior means) and the decode of a noise code z ~ N(0, I), for a model picked from a menu.

    models: label -> VAE; images: (N, C, H, W) in [0, 1] or uint8 (e.g. real test images); first, second: the
    indices shown at the start. `update()` (called on every change) redraws; `widget` is what a notebook displays."""

    def __init__(self, models: dict, images: torch.Tensor, first: int = 0, second: int = 1, noise_seed: int = 0,
                 scale: int = 3, title: str = "image A | decode(code A) | image B | decode(code B) | decode(noise)"):
        if not models:
            raise ValueError("give at least one model to compare")
        if not (0 <= first < len(images) and 0 <= second < len(images)):
            raise ValueError(f"first and second must be image indices in 0..{len(images) - 1}, got {first}, {second}")
        self.models, self.scale = models, scale
        self.images = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
        self.model_menu = widgets.Dropdown(options=list(models), description="model")
        self.first = widgets.IntSlider(value=first, min=0, max=len(images) - 1, description="image A")
        self.second = widgets.IntSlider(value=second, min=0, max=len(images) - 1, description="image B")
        self.noise_seed = widgets.IntSlider(value=noise_seed, min=0, max=99, description="noise seed")
        self.image = widgets.Image(format="png", value=b"")
        for control in (self.model_menu, self.first, self.second, self.noise_seed):
            control.observe(self.update, names="value")
        self.widget = widgets.VBox([widgets.HTML(f"<b>{title}</b>"), self.image,
                                    widgets.HBox([self.model_menu, self.noise_seed]), widgets.HBox([self.first, self.second])])
        self.update()

    def current_row(self) -> torch.Tensor:
        """The five images shown: A, decode(mu_A), B, decode(mu_B), decode(noise), (5, C, H, W) in [0, 1]."""
        pair = self.images[[self.first.value, self.second.value]]
        return symptom_row(self.models[self.model_menu.value], pair, self.noise_seed.value)

    def update(self, change: dict | None = None) -> bytes:
        """Redraw the row for the current model, images and noise seed; returns the PNG bytes shown."""
        self.image.value = images_to_png(self.current_row(), self.scale)
        return self.image.value


class SweepExplorer:
    """A slider over a trained sweep (e.g. reconstruction weights): for the chosen setting, the reconstructions of
    fixed real images and decodes of fixed prior samples. models: label -> VAE, in slider order;
    images: (N, C, H, W) in [0, 1] or uint8. `update()` is called on every slider move; `widget` is displayed."""

    def __init__(self, models: dict, images: torch.Tensor, samples: int = 8, seed: int = 0, scale: int = 2,
                 title: str = "top: test images; middle: their reconstructions; bottom: samples"):
        if not models:
            raise ValueError("give at least one model")
        self.models, self.scale = models, scale
        self.images = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
        latent = next(iter(models.values())).latent_dim
        self.noise = torch.randn(samples, latent, generator=torch.Generator().manual_seed(seed))
        self.slider = widgets.SelectionSlider(options=list(models), description="setting", continuous_update=False,
                                              layout=widgets.Layout(width="500px"))
        self.image = widgets.Image(format="png", value=b"")
        self.slider.observe(self.update, names="value")
        self.widget = widgets.VBox([widgets.HTML(f"<b>{title}</b>"), self.slider, self.image])
        self.update()

    def current_rows(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstructions (N, C, H, W), samples (samples, C, H, W)) of the chosen model, in [0, 1]."""
        model = self.models[self.slider.value]
        device = next(model.parameters()).device
        with torch.no_grad():
            return (model.reconstruct(self.images.to(device)).cpu(),
                    torch.sigmoid(model.decode(self.noise.to(device))).cpu())

    def update(self, change: dict | None = None) -> bytes:
        """Redraw for the chosen setting; returns the PNG bytes shown."""
        reconstructions, samples = self.current_rows()
        rows = [self.images, reconstructions, samples]
        width = max(len(r) for r in rows)
        padded = [torch.cat([r, torch.ones(width - len(r), *r.shape[1:])]) for r in rows]
        images = torch.cat(padded)
        if self.scale > 1:
            images = torch.nn.functional.interpolate(images, scale_factor=self.scale, mode="nearest")
        buffer = io.BytesIO()
        save_image(images, buffer, format="png", nrow=width, padding=2, pad_value=1.0)
        self.image.value = buffer.getvalue()
        return self.image.value


class GeneratedDigitsExplorer:
    """Choose a digit and a noise scale: see images generated for that digit and what a classifier calls them.

    generate: (digit, noise scale) -> images (N, C, H, W) in [0, 1] made to carry that label; classify: images ->
    predicted labels (N,). The predictions are shown under the images, with how many agree with the digit."""

    def __init__(self, generate: Callable[[int, float], torch.Tensor], classify: Callable[[torch.Tensor], torch.Tensor],
                 noise_scales: Sequence[float], digits: Sequence[int] = tuple(range(10)), scale: int = 3,
                 title: str = "generated digits explorer"):
        if not noise_scales or not digits:
            raise ValueError("give at least one noise scale and one digit")
        self.generate, self.classify, self.scale = generate, classify, scale
        self.digit = widgets.Dropdown(options=list(digits), value=digits[0], description="digit")
        self.noise = widgets.SelectionSlider(options=[float(s) for s in noise_scales], value=float(noise_scales[0]),
                                             description="noise scale")
        self.image = widgets.Image(format="png", value=b"")
        self.predictions = widgets.HTML()
        for control in (self.digit, self.noise):
            control.observe(self.update, names="value")
        self.widget = widgets.VBox([widgets.HTML(f"<b>{title}</b>"), widgets.HBox([self.digit, self.noise]),
                                    self.image, self.predictions])
        self.update()

    def update(self, change: dict | None = None) -> dict:
        """Generate for the chosen digit and noise scale, redraw, and return {"predicted": [...], "agree": share}."""
        with torch.no_grad():
            images = self.generate(self.digit.value, self.noise.value)
            predicted = [int(p) for p in self.classify(images)]
        self.image.value = images_to_png(images, self.scale)
        agree = sum(p == self.digit.value for p in predicted) / len(predicted)
        self.predictions.value = (f"classifier says: {' '.join(map(str, predicted))} &nbsp; "
                                  f"(<b>{agree:.0%}</b> agree with {self.digit.value})")
        return {"predicted": predicted, "agree": agree}


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


class LossConventionExplorer:
    """Set the knobs of a VAE loss as it is written in code and read what it means: the decoder it implies, σ in
    [0, 1] units and in grey levels, β, the factor to nats per image, and the collapse warning
    (vae_utils.loss_convention.translate). `update()` is called on every change and returns the Translation (None
    when the knobs describe no valid loss; the message says why); `widget` is what a notebook displays."""

    DATASETS = {"CIFAR-10 (3×32×32)": "cifar10", "MNIST (1×28×28)": "mnist", "CelebA (3×32×32)": "celeba32",
                "CelebA (3×64×64)": "celeba64"}

    def __init__(self, start: LossConvention | None = None, title: str = "what does my loss mean?"):
        start = start or LossConvention("mse", "mean", "mean", image_shape=(3, 32, 32), dataset="cifar10")
        dataset = next((label for label, key in self.DATASETS.items() if key == start.dataset), "CIFAR-10 (3×32×32)")
        layout = {"style": {"description_width": "150px"}, "layout": widgets.Layout(width="420px")}
        self.reconstruction = widgets.Dropdown(options=RECONSTRUCTIONS, value=start.reconstruction,
                                               description="reconstruction", **layout)
        self.pixel_reduction = widgets.Dropdown(options=PIXEL_REDUCTIONS, value=start.pixel_reduction,
                                                description="…over pixels", **layout)
        self.batch_reduction = widgets.Dropdown(options=BATCH_REDUCTIONS, value=start.batch_reduction,
                                                description="…over the batch", **layout)
        self.recon_weight = widgets.FloatLogSlider(value=start.recon_weight, base=10, min=-3, max=6, step=0.01,
                                                   description="reconstruction weight", **layout)
        self.kl_weight = widgets.FloatLogSlider(value=start.kl_weight or 1.0, base=10, min=-6, max=3, step=0.01,
                                                description="KL weight", **layout)
        self.kl_weight_scaling = widgets.Dropdown(options=WEIGHT_SCALINGS, value=start.kl_weight_scaling,
                                                  description="KL weight × ", **layout)
        self.kl_dim_reduction = widgets.Dropdown(options=KL_DIM_REDUCTIONS, value=start.kl_dim_reduction,
                                                 description="KL over latent dims", **layout)
        self.kl_batch_reduction = widgets.Dropdown(options=BATCH_REDUCTIONS, value=start.kl_batch_reduction,
                                                   description="KL over the batch", **layout)
        self.data_range = widgets.Dropdown(options=DATA_RANGES, value=start.data_range, description="data range", **layout)
        self.dataset = widgets.Dropdown(options=list(self.DATASETS), value=dataset, description="data", **layout)
        self.batch_size = widgets.IntSlider(value=start.batch_size or 128, min=1, max=1024, description="batch size", **layout)
        self.dataset_size = widgets.IntText(value=start.dataset_size or 50_000, description="dataset size", **layout)
        self.latent_dim = widgets.IntSlider(value=start.latent_dim or 32, min=1, max=512, description="latent dims", **layout)
        self.summary = widgets.HTML()
        controls = [self.reconstruction, self.pixel_reduction, self.batch_reduction, self.recon_weight, self.kl_weight,
                    self.kl_weight_scaling, self.kl_dim_reduction, self.kl_batch_reduction, self.data_range, self.dataset,
                    self.batch_size, self.dataset_size, self.latent_dim]
        for control in controls:
            control.observe(self.update, names="value")
        self.widget = widgets.VBox([widgets.HTML(f"<b>{title}</b>"),
                                    widgets.HBox([widgets.VBox(controls[:7]), widgets.VBox(controls[7:])]), self.summary])
        self.update()

    def convention(self) -> LossConvention:
        """The loss the knobs describe (ValueError, with what to change, if they describe none)."""
        dataset = self.DATASETS[self.dataset.value]
        return LossConvention(self.reconstruction.value, self.pixel_reduction.value, self.batch_reduction.value,
                              float(self.recon_weight.value), float(self.kl_weight.value), self.kl_dim_reduction.value,
                              self.kl_batch_reduction.value, kl_weight_scaling=self.kl_weight_scaling.value,
                              image_shape=DATA_SPECTRA[dataset].image_shape, data_range=self.data_range.value,
                              batch_size=self.batch_size.value, dataset_size=self.dataset_size.value or None,
                              latent_dim=self.latent_dim.value, dataset=dataset)

    def update(self, change: dict | None = None) -> Translation | None:
        """Translate the current knobs and redraw the summary; returns the Translation (None if the knobs are invalid)."""
        try:
            translation = translate(self.convention())
        except ValueError as error:
            self.summary.value = f"<p style='color:#b00'><b>Not a loss I can translate:</b> {html.escape(str(error))}</p>"
            return None
        numbers = {"decoder": translation.decoder, "β": f"{translation.beta:.4g}"}
        if translation.scale_unit is not None:
            numbers.update({"σ ([0, 1] units)": f"{translation.scale_unit:.4g}",
                            "σ (grey levels)": f"{translation.grey_levels:,.1f}"})
        if translation.weight_w is not None:
            numbers["w (notebooks 04/05)"] = f"{translation.weight_w:,.4g}"
        if translation.collapse is not None:
            numbers["σ² / λ₁"] = f"{translation.collapse.ratio:.3g}"
            numbers["collapse"] = translation.collapse.verdict
        cells = "".join(f"<td style='padding:0 1em'>{name}<br><b>{value}</b></td>" for name, value in numbers.items())
        warns = translation.collapse is not None and translation.collapse.warns
        colour = "#b00" if warns else "#333"
        self.summary.value = (f"<table><tr>{cells}</tr></table>"
                              f"<p style='color:{colour}; max-width:900px'>{html.escape(translation.text)}</p>")
        return translation
