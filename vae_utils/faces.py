"""Faces: an attribute classifier (multi-label CNN) with its cache, attribute rates with intervals, a face VAE's test
scores, latent paths (linear and spherical) measured along the way, and attribute vectors, for the CelebA notebook."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .checkpoints import checkpoint_path, load_or_train
from .data import FaceTensors, ImageTensors, iterate_batches, to_float
from .losses import evaluate_elbo
from .metrics import (bits_per_dim, blur_scores, codes, iwae_estimate, laplacian_variance, mse_per_pixel, paired_difference,
                      reconstructions)
from .models import VAE, non_default_fields
from .stats import wilson_interval
from .train import TrainConfig, TrainedModel, pick_device, seed_everything


class AttributeClassifier(nn.Module):
    """Predicts face attributes from (B, 3, S, S) images in [0, 1] (S = 32 or a multiple of it): the image is first
    average-pooled to 32x32, so a 64x64 face and a 32x32 face upsampled by `upsample_to` read the same; then three
    3x3 conv blocks (32, 64, 128 channels, BatchNorm, ReLU, 2x2 max-pool) and a dense layer to one logit per attribute."""

    def __init__(self, attributes: int):
        super().__init__()
        block = lambda i, o: [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2)]
        self.body = nn.Sequential(*block(3, 32), *block(32, 64), *block(64, 128), nn.Flatten(), nn.Linear(128 * 4 * 4, attributes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[-1] % 32 or x.shape[-2] != x.shape[-1]:
            raise ValueError(f"expected square colour images (B, 3, S, S) with S a multiple of 32, got {tuple(x.shape)}")
        if x.shape[-1] != 32:
            x = F.avg_pool2d(x, x.shape[-1] // 32)
        return self.body(x)


def upsample_to(images: torch.Tensor, side: int) -> torch.Tensor:
    """Images (N, C, s, s) -> (N, C, side, side) by repeating pixels (side a multiple of s): the classifier's average
    pooling gives the original pixels back exactly."""
    return F.interpolate(images, scale_factor=side // images.shape[-1], mode="nearest") if images.shape[-1] != side else images


@dataclass
class TrainedAttributeClassifier:
    """A trained attribute classifier: which attributes its outputs are, its per-epoch history, training seconds."""

    model: AttributeClassifier
    attribute_names: tuple[str, ...]
    history: dict[str, list[float]]
    train_seconds: float
    from_cache: bool
    path: Path

    @torch.no_grad()
    def probabilities(self, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
        """P(attribute) for images (N, 3, S, S) uint8 or in [0, 1]: (N, A)."""
        self.model.eval()
        device = next(self.model.parameters()).device
        floats = lambda b: (to_float(b) if b.dtype == torch.uint8 else b.float()).to(device)
        return torch.cat([torch.sigmoid(self.model(floats(b))).cpu() for b in images.split(batch_size)])

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """Whether each image shows each attribute (probability above 1/2), (N, A) bool."""
        return self.probabilities(images) > 0.5


def fit_attribute_classifier(config: TrainConfig, train: FaceTensors, val: FaceTensors, attribute_names: tuple[str, ...], *,
                             name: str, checkpoint_dir: str | Path = "checkpoints", retrain: bool = False,
                             device: str | torch.device | None = None, progress: bool = True) -> TrainedAttributeClassifier:
    """Train an AttributeClassifier on real faces with a binary cross-entropy per attribute, each positive weighted by
    its attribute's negatives / positives in `train` (so that the 1/2 threshold balances the two error rates, not the
    overall error), or load the checkpoint trained with the same config and data. Uses config's epochs, batch_size,
    learning_rate and seed; the history holds the mean training loss and the validation balanced accuracy per epoch."""
    device = pick_device(device)
    key_config = {"model": {"classifier": "faces_attributes", "attributes": list(attribute_names)},
                  "train": non_default_fields(config), "data": train.description, "val": val.description}
    path = checkpoint_path(checkpoint_dir, name, key_config)
    seed_everything(config.seed)
    model = AttributeClassifier(len(attribute_names))
    columns = [train.attribute_names.index(a) for a in attribute_names]

    def train_model() -> tuple[dict[str, list[float]], float]:
        model.to(device)
        labels = train.attributes[:, columns].float()
        positives = labels.mean(0).clamp(1e-3, 1 - 1e-3)
        pos_weight = ((1 - positives) / positives).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
        shuffle = torch.Generator().manual_seed(config.seed)
        history: dict[str, list[float]] = {"train_loss": [], "val_balanced_accuracy": []}
        seconds = 0.0
        for _ in tqdm(range(config.epochs), desc=name, disable=not progress):
            model.train()
            began, total = time.perf_counter(), 0.0
            for batch in iterate_batches(torch.arange(len(train)), config.batch_size, shuffle=True, generator=shuffle):
                logits = model(to_float(train.images[batch]).to(device))
                loss = F.binary_cross_entropy_with_logits(logits, labels[batch].to(device), pos_weight=pos_weight)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.item() * len(batch)
            seconds += time.perf_counter() - began
            history["train_loss"].append(total / len(train))
            trained = TrainedAttributeClassifier(model, attribute_names, history, seconds, False, path)
            history["val_balanced_accuracy"].append(
                sum(balanced_accuracy(trained.predict(val.images), val.attributes[:, columns]).values()) / len(columns))
        return history, seconds

    history, seconds, from_cache = load_or_train(path, key_config, model, train_model, retrain)
    return TrainedAttributeClassifier(model.to(device).eval(), attribute_names, history, seconds, from_cache, path)


def balanced_accuracy(predicted: torch.Tensor, truth: torch.Tensor) -> dict[int, float]:
    """Per column of (N, A) bool tensors, the mean of the true-positive and true-negative rates (0.5 = chance, also
    for a rare attribute, where the plain accuracy of always saying 'no' would look high); NaN without both classes."""
    scores = {}
    for column in range(truth.shape[1]):
        t, p = truth[:, column], predicted[:, column]
        if t.all() or not t.any():
            scores[column] = float("nan")
            continue
        scores[column] = 0.5 * ((p & t).sum().item() / t.sum().item() + (~p & ~t).sum().item() / (~t).sum().item())
    return scores


def rate(flags: torch.Tensor) -> dict[str, float]:
    """The share of True in (N,) flags with its count and 95% Wilson interval: {rate, count, n, low, high}."""
    count, n = int(flags.sum()), len(flags)
    low, high = wilson_interval(count, n)
    return {"rate": count / n, "count": count, "n": n, "low": low, "high": high}


def late_gain(curve: Sequence[float], epochs: int = 5) -> float:
    """How much a held-out loss curve (one value per epoch) still fell over its last `epochs` epochs, as a share of its
    whole drop from the first epoch to the last: near 0, flat; large, still improving (under-trained). 0 for a flat curve."""
    recent = curve[-epochs - 1] if len(curve) > epochs else curve[0]
    return (recent - curve[-1]) / (curve[0] - curve[-1]) if curve[0] != curve[-1] else 0.0


def describe_model(run: TrainedModel, test: ImageTensors, log_scale: float, *, samples: int, iwae_images: int, iwae_k: int,
                   seed: int = 0) -> dict[str, float]:
    """A VAE scored on test images (N, C, H, W) uint8 under a discretised Gaussian with decoder log sigma `log_scale` (on
    [0, 1] data): test MSE per pixel value of the reconstructions; their and `samples` prior samples' blur_scores (ratios
    to the test images); the negative ELBO (one z per image) and IWAE bound (`iwae_k` samples, first `iwae_images`
    images, cached beside the checkpoint) in bits/dim, with the IWAE's standard error; KL (nats per image); sigma in grey
    levels (0-255); the late_gain of the validation loss; training seconds."""
    recon = reconstructions(run.model, test.images)
    drawn = run.model.sample(samples, generator=torch.Generator().manual_seed(seed))
    bound = evaluate_elbo(run.model, test.images, "discretized_gaussian", 1.0, log_scale)
    iwae = iwae_estimate(run.model, test.images[:iwae_images], k=iwae_k, likelihood="discretized_gaussian",
                         gaussian_log_scale=log_scale, batch_size=50, chunk=50, cache_path=run.path.with_suffix(f".iwae{iwae_k}.json"),
                         cache_config={"checkpoint": run.path.name, "images": test.description})
    real, dims = test.as_float(), math.prod(test.images.shape[1:])
    return {"test MSE/pixel": mse_per_pixel(recon, real).mean().item(),
            **{f"recon {k}": v for k, v in blur_scores(recon, real).items()},
            **{f"sample {k}": v for k, v in blur_scores(drawn, real).items()},
            "ELBO bits/dim": bits_per_dim(-bound["elbo"], dims), "IWAE bits/dim": bits_per_dim(-iwae["mean"], dims),
            "IWAE s.e.": bits_per_dim(iwae["stderr"], dims), "KL nats": bound["kl"], "σ (grey levels)": 255 * math.exp(log_scale),
            "gain in the last 5 epochs": late_gain(run.history["val_loss"]), "train seconds": run.train_seconds}


def laplacian_ratio_per_face(model: VAE, test: ImageTensors) -> torch.Tensor:
    """Each reconstruction's Laplacian variance over that of its own input, (N,): below 1, blurrier than the input."""
    return laplacian_variance(reconstructions(model, test.images)) / laplacian_variance(test.as_float()).clamp_min(1e-12)


def lerp(z0: torch.Tensor, z1: torch.Tensor, alphas: torch.Tensor) -> torch.Tensor:
    """Linear interpolation (1 - a) z0 + a z1 of codes (B, D) at each a in alphas (T,): (B, T, D)."""
    a = alphas.view(1, -1, 1)
    return (1 - a) * z0.unsqueeze(1) + a * z1.unsqueeze(1)


def slerp(z0: torch.Tensor, z1: torch.Tensor, alphas: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation (Shoemake; White 2016 for generative models) of codes (B, D): along the great circle
    between the directions, the norm interpolated linearly between the endpoints' norms, (B, T, D). Falls back to
    linear interpolation when the two directions (nearly) coincide."""
    n0, n1 = z0.norm(dim=1, keepdim=True), z1.norm(dim=1, keepdim=True)
    u0, u1 = z0 / n0.clamp_min(1e-12), z1 / n1.clamp_min(1e-12)
    omega = torch.acos((u0 * u1).sum(1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7)).unsqueeze(1)  # (B, 1, 1)
    a = alphas.view(1, -1, 1)
    direction = (torch.sin((1 - a) * omega) * u0.unsqueeze(1) + torch.sin(a * omega) * u1.unsqueeze(1)) / torch.sin(omega)
    norms = (1 - a) * n0.unsqueeze(1) + a * n1.unsqueeze(1)
    straight = lerp(z0, z1, alphas)
    return torch.where(omega < 1e-4, straight, direction * norms)


def prior_norm_band(dims: int, z: float = 1.96) -> tuple[float, float, float]:
    """The typical set of N(0, I_d) in norm: ||z|| has mean about sqrt(d - 1/2) and sd about 1/sqrt(2) (chi
    distribution); returns (sqrt(d), low, high) with the band mean ± z sd."""
    mean = math.sqrt(dims - 0.5)
    return math.sqrt(dims), mean - z / math.sqrt(2), mean + z / math.sqrt(2)


@torch.no_grad()
def decode_path(model: VAE, path: torch.Tensor) -> torch.Tensor:
    """Decoder means of codes (B, T, D), e.g. T steps along each of B paths: (B, T, C, H, W) in [0, 1]."""
    model.eval()
    return torch.sigmoid(model.decode(path.flatten(0, 1))).view(*path.shape[:2], *model.image_shape)


def path_summary(test: ImageTensors, test_codes: torch.Tensor, paths: Mapping[str, torch.Tensor], decoded: Mapping[str, torch.Tensor],
                 classifier: TrainedAttributeClassifier, classifier_side: int = 64) -> tuple[dict, dict[str, dict[str, torch.Tensor]]]:
    """Paths from a woman's code to a man's, measured. test_codes (N, D): the posterior means of the faces `test`; for
    each kind of path, paths[kind] (P, T, D): P pairs, T steps; decoded[kind] (P, T, C, S, S): its decoded faces, read
    by the classifier at side `classifier_side`. Returns (summary, per_pair). per_pair[kind] holds (P, T) tensors:
    norm (‖z‖), p_male (the classifier's P(Male)), laplacian_ratio (Laplacian variance over the test faces' mean).
    summary, JSON-ready: d, sqrt_d and the prior's 95% norm band (typical_low, typical_high, see prior_norm_band), the
    test codes' mean length (posterior_mean_norm), and per kind the per-step means over the pairs (T values) of those
    three, with norm_sd (the lengths' standard deviation)."""
    dims = test_codes.shape[1]
    root_d, low, high = prior_norm_band(dims)
    summary: dict = {"d": dims, "sqrt_d": root_d, "typical_low": low, "typical_high": high,
                     "posterior_mean_norm": test_codes.norm(dim=1).mean().item()}
    reference = laplacian_variance(test.as_float()).mean().item()
    male = classifier.attribute_names.index("Male")
    per_pair = {}
    for kind, path in paths.items():
        flat = decoded[kind].flatten(0, 1)
        per_pair[kind] = measures = {
            "norm": path.norm(dim=-1), "p_male": classifier.probabilities(upsample_to(flat, classifier_side))[:, male].view(len(path), -1),
            "laplacian_ratio": laplacian_variance(flat).view(len(path), -1) / reference}
        summary[kind] = {"norm": measures["norm"].mean(0).tolist(), "norm_sd": measures["norm"].std(0).tolist(),
                         "p_male": measures["p_male"].mean(0).tolist(), "laplacian_ratio": measures["laplacian_ratio"].mean(0).tolist()}
    return summary, per_pair


def paired_at_middle(first: torch.Tensor, second: torch.Tensor, steps: Sequence[int] | None = None) -> dict[str, float]:
    """first − second for two measures (P, T) of the same P pairs along paths of T steps (e.g. spherical and linear),
    each averaged over the middle steps (default: the central two for even T, α = 0.4 and 0.6 for T = 6; the central one
    for odd T), then paired over the pairs: {difference, stderr, pairs} as metrics.paired_difference."""
    if first.shape != second.shape or first.ndim != 2:
        raise ValueError(f"need two (pairs, steps) tensors of one shape, got {tuple(first.shape)} and {tuple(second.shape)}")
    if steps is None:
        half = first.shape[1] // 2
        steps = [half - 1, half] if first.shape[1] % 2 == 0 else [half]
    return paired_difference(first[:, list(steps)].mean(1), second[:, list(steps)].mean(1))


def attribute_vectors(model: nn.Module, faces: FaceTensors, names: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """For each attribute, the mean code (posterior mean) of the faces that carry it minus that of those that do not, (D,)."""
    z = codes(model, faces.images)
    return {a: z[faces.attribute(a)].mean(0) - z[~faces.attribute(a)].mean(0) for a in names}


def vector_edit_effect(model: VAE, z: torch.Tensor, vector: torch.Tensor, sign: float, classifier: TrainedAttributeClassifier,
                       attribute: str) -> dict:
    """Does adding sign × vector (D,) to codes z (N, D) change the classifier's verdict on `attribute` in the decoded
    faces? {faces: N, before, after: the rates with 95% intervals (see `rate`), change: after − before, paired over
    the faces, ± standard error}."""
    column = classifier.attribute_names.index(attribute)
    before = classifier.predict(decode_path(model, z.unsqueeze(1))[:, 0])[:, column]
    after = classifier.predict(decode_path(model, (z + sign * vector).unsqueeze(1))[:, 0])[:, column]
    return {"faces": len(z), "before": rate(before), "after": rate(after), "change": paired_difference(after.float(), before.float())}


FINE_SIGMAS = tuple(round(0.05 * k, 2) for k in range(6, 61))  # 0.30, 0.35, ..., 3.00 px


def gaussian_blurred(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Images (N, C, H, W) blurred by a Gaussian of `sigma` pixels, its kernel cut at 3 sigma (the blur `blur_to_match` picks)."""
    from torchvision.transforms.v2.functional import gaussian_blur

    return gaussian_blur(images, kernel_size=2 * math.ceil(3 * sigma) + 1, sigma=sigma)


def blur_to_match(images: torch.Tensor, target_laplacian: float, sigmas: tuple[float, ...] = FINE_SIGMAS,
                  measure: Callable[[torch.Tensor], float] | None = None) -> tuple[torch.Tensor, float]:
    """Gaussian-blur images (N, C, H, W) in [0, 1] with the sigma (pixels) of `sigmas` whose mean Laplacian variance
    comes closest to target_laplacian: real faces exactly as blurry as a model's output, a control for a classifier
    read on blurry images. `measure` (images -> float) matches another blur measure instead (e.g. the mean
    high-frequency share), target_laplacian then being that measure's target. The default grid steps by 0.05 px: a
    coarser one leaves the control measurably sharper or blurrier than what it controls for. Every image is scored,
    so the match holds on the whole set. Returns (blurred images, sigma)."""
    if measure is not None:  # a ratio such as the high-frequency share need not fall with sigma: scan the grid
        best = min(sigmas, key=lambda s: abs(measure(gaussian_blurred(images, s)) - target_laplacian))
        return gaussian_blurred(images, best), best
    # Gaussian blur damps every frequency, so the Laplacian variance falls as sigma grows: a bisection over the sorted
    # grid finds the crossing in ~log2(len) scores (seconds on 1,000 faces instead of a minute), and the closer of its
    # two neighbours is what a scan of the whole grid would pick.
    grid = sorted(sigmas)
    scores: dict[int, float] = {}

    def at(i: int) -> float:
        if i not in scores:
            scores[i] = laplacian_variance(gaussian_blurred(images, grid[i])).mean().item()
        return scores[i]

    low, high = 0, len(grid) - 1
    while high - low > 1:
        middle = (low + high) // 2
        if at(middle) > target_laplacian:
            low = middle
        else:
            high = middle
    best = grid[min((low, high), key=lambda i: abs(at(i) - target_laplacian))]
    return gaussian_blurred(images, best), best
