"""Evaluation: likelihood bounds (ELBO, IWAE), active units, reconstruction error, blur and bits/dim."""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .checkpoints import cached_json
from .data import ImageTensors, to_float
from .losses import (discretized_gaussian_log_likelihood, evaluate_elbo, gaussian_kl, kl_per_dim, log_likelihood,
                     log_normal_diag)
from .models import Autoencoder, VAE

__all__ = ["evaluate_elbo", "iwae_bound", "active_units", "codes", "reconstructions", "mse_per_pixel",
           "laplacian_variance", "high_frequency_share", "bits_per_dim", "nearest_neighbour_mse",
           "reconstruction_summary", "knn_accuracy", "knn_predict", "kl_per_dimension",
           "iwae_estimate", "sample_quality", "paired_difference", "rgb_to_lab", "delta_e", "colour_shift",
           "encoder_extremes", "blur_scores", "mutual_information", "mutual_information_from_posteriors",
           "decoder_jacobian_norm", "discrete_bits_per_dim", "ClassifierFeatures", "frechet_distance"]

LAPLACIAN_KERNEL = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _floats(batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    return batch.to(device).float().div_(255.0) if batch.dtype == torch.uint8 else batch.to(device)


@torch.no_grad()
def iwae_bound(model: VAE, images: torch.Tensor, k: int = 100, likelihood: str = "bernoulli",
               gaussian_log_scale: torch.Tensor | float = 0.0, batch_size: int = 100, chunk: int = 100,
               seed: int = 0) -> torch.Tensor:
    """Importance-weighted lower bound on log p(x) (Burda et al. 2015) per image, (N,) nats.

    log p(x) >= E[ log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x) ],  z_i ~ q(z|x). k = 1 is the ELBO; the bound
    rises with k towards log p(x). images: uint8 or float (N, C, H, W); the k samples are drawn `chunk` at a time."""
    if k <= 0:
        raise ValueError(f"k must be a positive integer, got {k}")
    device = _device(model)
    model.eval()
    bounds = []
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        for batch in images.split(batch_size):
            x = _floats(batch, device)
            mu, logvar = model.encode(x)
            log_weights = []
            for start in range(0, k, chunk):
                c = min(chunk, k - start)
                z = mu + torch.exp(0.5 * logvar) * torch.randn(c, *mu.shape, device=device)  # (c, B, D)
                logits = model.decode(z.flatten(0, 1))
                x_rep = x.expand(c, *x.shape).flatten(0, 1)
                log_px_z = log_likelihood(logits, x_rep, likelihood, gaussian_log_scale).view(c, -1)
                log_pz = log_normal_diag(z, torch.zeros_like(z), torch.zeros_like(z))
                log_qz = log_normal_diag(z, mu, logvar)
                log_weights.append(log_px_z + log_pz - log_qz)
            bounds.append(torch.logsumexp(torch.cat(log_weights), dim=0) - math.log(k))
    return torch.cat(bounds).cpu()


@torch.no_grad()
def codes(model: Autoencoder, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """The code of every image (the posterior mean for a VAE), (N, D) on the CPU."""
    device = _device(model)
    model.eval()
    return torch.cat([model.code(_floats(b, device)).cpu() for b in images.split(batch_size)])


@torch.no_grad()
def posterior_std(model: VAE, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """The encoder's posterior standard deviation exp(½ log σ²) for every image and latent dimension, (N, D) on the CPU."""
    device = _device(model)
    model.eval()
    return torch.cat([model.encode(_floats(b, device))[1].mul(0.5).exp().cpu() for b in images.split(batch_size)])


def code_space_2d(model: Autoencoder, reference: ImageTensors, test: ImageTensors) -> dict[str, float]:
    """How a 2-D code space holds the digits: the 5-NN accuracy of the test codes among the reference codes, the
    share of test codes in the quadrant z₁ > 0, z₂ > 0 (a quarter of a standard normal prior's mass), and for a VAE the
    mean posterior standard deviation."""
    test_codes = codes(model, test.images)
    if test_codes.shape[1] != 2:
        raise ValueError(f"code_space_2d needs a 2-D code, got {test_codes.shape[1]} dimensions")
    summary = {"5-NN accuracy": knn_accuracy(codes(model, reference.images), reference.labels, test_codes, test.labels),
               "share in z1>0, z2>0": ((test_codes[:, 0] > 0) & (test_codes[:, 1] > 0)).float().mean().item()}
    if isinstance(model, VAE):
        summary["posterior std"] = posterior_std(model, test.images).mean().item()
    return summary


@torch.no_grad()
def reconstructions(model: Autoencoder, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Decoded codes of every image, float (N, C, H, W) in [0, 1] on the CPU."""
    device = _device(model)
    model.eval()
    return torch.cat([model.reconstruct(_floats(b, device)).cpu() for b in images.split(batch_size)])


@torch.no_grad()
def active_units(model: VAE, images: torch.Tensor, threshold: float = 0.01) -> tuple[int, torch.Tensor]:
    """Active units (Burda et al. 2015): dims d with Cov_x(E_q[z_d|x]) > threshold. Returns (count, variance per dim (D,))."""
    variance = codes(model, images).var(dim=0)
    return int((variance > threshold).sum()), variance


def mse_per_pixel(reconstructed: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Mean squared error per pixel value of each image, (N,), for images in [0, 1]."""
    return (reconstructed.float() - original.float()).pow(2).flatten(1).mean(1)


def _grey(images: torch.Tensor) -> torch.Tensor:
    if images.dtype == torch.uint8:
        images = images.float() / 255.0
    if images.ndim != 4:
        raise ValueError(f"expected images (N, C, H, W), got shape {tuple(images.shape)}")
    return images.mean(dim=1, keepdim=True)


def laplacian_variance(images: torch.Tensor) -> torch.Tensor:
    """Sharpness as the variance of the Laplacian (the blur report's measure): (N, C, H, W) in [0, 1] -> (N,).

    Channels are averaged to grey first; the 3x3 kernel [[0,1,0],[1,-4,1],[0,1,0]] runs on the valid region.
    Lower means blurrier; a constant image gives 0."""
    response = F.conv2d(_grey(images), LAPLACIAN_KERNEL.to(images.device).view(1, 1, 3, 3))
    return response.flatten(1).var(dim=1)


def high_frequency_share(images: torch.Tensor, cutoff: float = 0.25) -> torch.Tensor:
    """Share of spectral energy above `cutoff` cycles/pixel (0.5 is Nyquist) in each grey image, (N,), in [0, 1].

    The mean (DC) is removed first, so the share is of the image's variation; lower means blurrier."""
    grey = _grey(images)[:, 0]
    grey = grey - grey.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(grey).abs().pow(2)
    fy = torch.fft.fftfreq(grey.shape[-2], device=grey.device).view(-1, 1)
    fx = torch.fft.fftfreq(grey.shape[-1], device=grey.device).view(1, -1)
    high = (fx.pow(2) + fy.pow(2)).sqrt() > cutoff
    return (power * high).flatten(1).sum(1) / power.flatten(1).sum(1).clamp_min(1e-12)


def bits_per_dim(nll_nats: torch.Tensor | float, dims: int, pixel_levels: int | None = None) -> torch.Tensor | float:
    """Convert a negative log-likelihood in nats per image into bits per dimension.

    pixel_levels: None for a discrete model (e.g. Bernoulli on binary pixels); 256 for a density on [0, 1]
    evaluated on 8-bit data, which adds log(256) nats per dim to move the density onto [0, 256)."""
    if dims <= 0:
        raise ValueError(f"dims must be positive, got {dims}")
    shift = dims * math.log(pixel_levels) if pixel_levels else 0.0
    return (nll_nats + shift) / (dims * math.log(2))


def nearest_neighbour_mse(queries: torch.Tensor, references: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """For each query image, the per-pixel MSE to its nearest reference image, (Nq,). Both in [0, 1] (or uint8)."""
    refs = _floats(references, torch.device("cpu")).flatten(1)
    ref_sq = refs.pow(2).sum(1)
    best = []
    for batch in queries.split(batch_size):
        q = _floats(batch, torch.device("cpu")).flatten(1)
        sq_dist = q.pow(2).sum(1, keepdim=True) + ref_sq - 2 * q @ refs.T
        best.append(sq_dist.min(dim=1).values.clamp_min(0) / refs.shape[1])
    return torch.cat(best)


def reconstruction_summary(model: Autoencoder, images: torch.Tensor) -> dict[str, float]:
    """Mean per-pixel MSE of the reconstructions, and their sharpness (Laplacian variance, high-frequency share)
    next to the same measures on the originals and as a ratio recon/original (1 = as sharp as the data)."""
    originals = _floats(images, torch.device("cpu"))
    recon = reconstructions(model, images)
    lap_recon, lap_orig = laplacian_variance(recon).mean().item(), laplacian_variance(originals).mean().item()
    hf_recon, hf_orig = high_frequency_share(recon).mean().item(), high_frequency_share(originals).mean().item()
    return {"mse_per_pixel": mse_per_pixel(recon, originals).mean().item(),
            "laplacian_variance": lap_recon, "laplacian_variance_data": lap_orig, "laplacian_ratio": lap_recon / lap_orig,
            "high_frequency_share": hf_recon, "high_frequency_share_data": hf_orig, "high_frequency_ratio": hf_recon / hf_orig}


def knn_predict(train_codes: torch.Tensor, train_labels: torch.Tensor, test_codes: torch.Tensor, k: int = 5,
                batch_size: int = 1000) -> torch.Tensor:
    """The label most common among each test code's k nearest training codes (Euclidean). Codes: (N, D) -> (N,)."""
    if k <= 0:
        raise ValueError(f"k must be a positive integer, got {k}")
    predictions = []
    for codes_batch in test_codes.split(batch_size):
        nearest = torch.cdist(codes_batch, train_codes).topk(k, largest=False).indices
        votes = torch.nn.functional.one_hot(train_labels[nearest], int(train_labels.max()) + 1).sum(1)
        predictions.append(votes.argmax(1))
    return torch.cat(predictions)


def knn_accuracy(train_codes: torch.Tensor, train_labels: torch.Tensor, test_codes: torch.Tensor,
                 test_labels: torch.Tensor, k: int = 5) -> float:
    """Share of test codes whose k nearest training codes vote for the right label."""
    return (knn_predict(train_codes, train_labels, test_codes, k) == test_labels).float().mean().item()


@torch.no_grad()
def kl_per_dimension(model: VAE, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Mean KL(q(z_d|x) || N(0, 1)) of each latent dimension over the images, (D,) nats: where the information sits."""
    device = _device(model)
    model.eval()
    total = 0.0
    for batch in images.split(batch_size):
        mu, logvar = model.encode(_floats(batch, device))
        total = total + kl_per_dim(mu, logvar).sum(0).cpu()
    return total / len(images)


def iwae_per_image(model: VAE, images: torch.Tensor, k: int, cache_path: str | Path, cache_config: dict,
                   **iwae_options) -> list[float]:
    """`iwae_bound` per image (nats), cached as JSON at `cache_path` under `cache_config` (which must name the model
    and the images): for intervals over images, e.g. the paired difference of two models on the same test images."""
    return cached_json(cache_path, {**cache_config, "k": k, "images": len(images), **iwae_options},
                       lambda: iwae_bound(model, images, k=k, **iwae_options).tolist())


@torch.no_grad()
def iwae_estimate(model: VAE, images: torch.Tensor, k: int, cache_path: str | Path | None = None,
                  cache_config: dict | None = None, **iwae_options) -> dict[str, float]:
    """Mean IWAE bound over `images` with its standard error (nats), cached as JSON at `cache_path` under
    `cache_config` (which must name the model and the images) when given: large k is slow on a CPU."""
    def compute() -> dict[str, float]:
        bounds = iwae_bound(model, images, k=k, **iwae_options)
        return {"mean": bounds.mean().item(), "stderr": (bounds.std() / math.sqrt(len(bounds))).item(),
                "k": k, "images": len(bounds)}

    if cache_path is None:
        return compute()
    return cached_json(cache_path, {**(cache_config or {}), "k": k, "images": len(images), **iwae_options}, compute)


@torch.no_grad()
def sample_quality(images: torch.Tensor, classifier: torch.nn.Module, references: torch.Tensor,
                   pairs: int = 2000, seed: int = 0) -> dict[str, float]:
    """How much a set of generated images (N, C, H, W) in [0, 1] looks like a varied set of real ones:
    nearest_mse: mean per-pixel MSE to the nearest reference image (lower: closer to real data);
    confidence: mean top softmax probability of a classifier trained on real data (higher: clearer class);
    class_entropy_bits: entropy of the predicted-class histogram (log2(10) = 3.32 for ten equally used classes);
    diversity: mean per-pixel MSE between random pairs of the images (0: all the same image)."""
    classifier.eval()
    device = next(classifier.parameters()).device
    probabilities = torch.cat([classifier(b.to(device)).softmax(1).cpu() for b in images.split(1000)])
    histogram = torch.bincount(probabilities.argmax(1), minlength=probabilities.shape[1]).float() / len(images)
    entropy = -(histogram[histogram > 0] * histogram[histogram > 0].log2()).sum()
    g = torch.Generator().manual_seed(seed)
    first, second = torch.randint(len(images), (pairs,), generator=g), torch.randint(len(images), (pairs,), generator=g)
    return {"nearest_mse": nearest_neighbour_mse(images, references).mean().item(),
            "confidence": probabilities.max(1).values.mean().item(), "class_entropy_bits": entropy.item() + 0.0,
            "diversity": mse_per_pixel(images[first], images[second]).mean().item()}


def paired_difference(a: torch.Tensor, b: torch.Tensor) -> dict[str, float]:
    """Mean of a - b over paired measurements (N,) (e.g. two models scored on the same test images) and the
    standard error of that mean (std / sqrt(N)): {"difference", "stderr", "pairs"}."""
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError(f"need two equal-length 1-d tensors of at least 2 values, got {tuple(a.shape)} and {tuple(b.shape)}")
    gap = (a - b).double()
    return {"difference": gap.mean().item(), "stderr": (gap.std() / math.sqrt(len(gap))).item(), "pairs": len(gap)}


def rgb_to_lab(images: torch.Tensor) -> torch.Tensor:
    """sRGB images (N, 3, H, W) in [0, 1] (or uint8) -> CIELAB (N, 3, H, W) under the D65 white point.

    L runs 0 (black) to 100 (white); a and b are the green-red and blue-yellow axes."""
    rgb = _floats(images, images.device)
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise ValueError(f"expected colour images (N, 3, H, W), got shape {tuple(rgb.shape)}")
    linear = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055).pow(2.4))
    to_xyz = torch.tensor([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                           [0.0193339, 0.1191920, 0.9503041]], device=rgb.device)
    white = torch.tensor([0.95047, 1.0, 1.08883], device=rgb.device).view(1, 3, 1, 1)
    xyz = torch.einsum("ij,njhw->nihw", to_xyz, linear) / white
    epsilon, kappa = 216 / 24389, 24389 / 27
    f = torch.where(xyz > epsilon, xyz.clamp_min(1e-12).pow(1 / 3), (kappa * xyz + 16) / 116)
    return torch.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], dim=1)


def delta_e(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Mean colour difference per pixel, CIE76 Delta E (Euclidean distance in CIELAB), of each image pair, (N,).

    About 2.3 is a just-noticeable difference; it counts both blur and colour shifts."""
    return (rgb_to_lab(first) - rgb_to_lab(second)).pow(2).sum(1).sqrt().flatten(1).mean(1)


def colour_shift(images: torch.Tensor, references: torch.Tensor) -> dict[str, float]:
    """How far the colours of `images` moved from `references` (both (N, 3, H, W) in [0, 1], paired), averaged
    over the images: `mean_colour_delta_e`, the Delta E between each image's average Lab colour and its
    reference's (blind to blur, which moves pixels but hardly the average); `pixel_delta_e`, the mean per-pixel
    Delta E (blur and colour together); and the mean signed error of the R, G and B channels in 0-255 units."""
    lab, lab_ref = rgb_to_lab(images).mean(dim=(2, 3)), rgb_to_lab(references).mean(dim=(2, 3))
    signed = (_floats(images, images.device) - _floats(references, images.device)).mean(dim=(0, 2, 3)) * 255
    return {"mean_colour_delta_e": (lab - lab_ref).pow(2).sum(1).sqrt().mean().item(),
            "pixel_delta_e": delta_e(images, references).mean().item(),
            **{f"{channel}_shift": value for channel, value in zip("rgb", signed.tolist())}}


def mean_colour_delta_e(images: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    """Per image (N,): the Delta E (CIELAB) between its average colour and its reference's — blind to blur, which
    moves pixels around but hardly changes their average. About 2.3 is a just-noticeable difference."""
    lab, lab_ref = rgb_to_lab(images).mean(dim=(2, 3)), rgb_to_lab(references).mean(dim=(2, 3))
    return (lab - lab_ref).pow(2).sum(1).sqrt()


@torch.no_grad()
def encoder_extremes(model: VAE, images: torch.Tensor) -> dict[str, float]:
    """The largest and smallest posterior log-variance, the largest |mean| and the largest |decoder logit| over
    `images`: where a VAE's numbers head before exp(logvar) or a loss overflows."""
    x = _floats(images, _device(model))
    mu, logvar = model.encode(x)
    logits = model.decode(mu)
    return {"max_logvar": logvar.max().item(), "min_logvar": logvar.min().item(),
            "max_abs_mu": mu.abs().max().item(), "max_abs_logit": logits.abs().max().item()}


def blur_scores(images: torch.Tensor, references: torch.Tensor) -> dict[str, float]:
    """Both blur measures of a set of images as ratios to the same measure on `references` (1 = as sharp as the
    reference set; lower is blurrier): Laplacian variance and share of spectral energy above 0.25 cycles/pixel."""
    return {"laplacian_ratio": (laplacian_variance(images).mean() / laplacian_variance(references).mean()).item(),
            "high_frequency_ratio": (high_frequency_share(images).mean() / high_frequency_share(references).mean()).item()}


def mutual_information_from_posteriors(mu: torch.Tensor, logvar: torch.Tensor, seed: int = 0) -> float:
    """I(x;z) in nats under the encoder's joint q(x, z) = p_data(x) q(z|x), from N posteriors (N, D).

    I = E_x E_q(z|x)[log q(z|x)] - E_q(z)[log q(z)] (Hoffman & Johnson 2016; the estimator of He et al. 2019):
    one z_n ~ q(z|x_n) per image, and the aggregate posterior q(z) replaced by the mixture of the N posteriors.
    Bias: the mixture contains z_n's own component, so the estimate can never exceed log N (6.9 nats for
    N = 1000): it is accurate for weakly informative codes (a collapsed posterior gives exactly 0) and saturates
    at log N for informative ones, where it only says "at least about log N"."""
    generator = torch.Generator().manual_seed(seed)
    mu, logvar = mu.double(), logvar.double()
    z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
    own = log_normal_diag(z, mu, logvar)  # log q(z_n | x_n)
    log_aggregate = torch.stack([torch.logsumexp(log_normal_diag(z_n.unsqueeze(0), mu, logvar), 0) for z_n in z])
    return (own - (log_aggregate - math.log(len(mu)))).mean().item()


@torch.no_grad()
def mutual_information(model: VAE, images: torch.Tensor, seed: int = 0, batch_size: int = 500) -> float:
    """I(x;z) in nats over `images` (uint8 or float (N, C, H, W)); see mutual_information_from_posteriors."""
    device = _device(model)
    model.eval()
    posteriors = [model.encode(_floats(b, device)) for b in images.split(batch_size)]
    mu, logvar = (torch.cat(parts).cpu() for parts in zip(*posteriors))
    return mutual_information_from_posteriors(mu, logvar, seed)


@torch.no_grad()
def decoder_jacobian_norm(decode, codes: torch.Tensor, step: float = 1e-2, batch_size: int = 50) -> torch.Tensor:
    """Frobenius norm of the decoder's Jacobian d x_hat / d z at each code, (N,): how much the output image moves
    (in pixel-value units, summed in quadrature over pixels) per unit change of z. Central differences along
    every latent axis (error O(step^2), plus float32 rounding of about 1e-3 in the norm), all axes in one batched
    decode. decode: (B, D) -> images (B, ...); codes: (N, D)."""
    dims = codes.shape[1]
    offsets = step * torch.eye(dims, dtype=codes.dtype)
    norms = []
    for batch in codes.split(batch_size):
        plus = (batch[:, None] + offsets).flatten(0, 1)
        minus = (batch[:, None] - offsets).flatten(0, 1)
        columns = (decode(plus) - decode(minus)).flatten(1).double() / (2 * step)
        norms.append(columns.view(len(batch), dims, -1).pow(2).sum((1, 2)).sqrt())
    return torch.cat(norms).float()


@torch.no_grad()
def discrete_bits_per_dim(model: VAE, images: torch.Tensor, log_scale: torch.Tensor | float, batch_size: int = 500,
                          seed: int = 0) -> dict[str, float]:
    """-ELBO in bits per dimension under the decoder's Gaussian discretised to the 8 bits of the data (a real
    discrete likelihood, so values are comparable across models and with the literature's bits/dim), with one
    seeded z ~ q(z|x) per image. Returns mean and standard error over the uint8 images (N, C, H, W)."""
    device = _device(model)
    model.eval()
    per_image = []
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        for batch in images.split(batch_size):
            x = _floats(batch, device)
            output = model(x)
            log_px = discretized_gaussian_log_likelihood(torch.sigmoid(output["logits"]), x, log_scale)
            per_image.append((gaussian_kl(output["mu"], output["logvar"]) - log_px).cpu())
    bits = torch.cat(per_image).double() / (images[0].numel() * math.log(2))
    return {"mean": bits.mean().item(), "stderr": (bits.std() / math.sqrt(len(bits))).item()}


@torch.no_grad()
def fitted_log_scale(model: VAE, images: torch.Tensor, batch_size: int = 500, seed: int = 0,
                     bounds: tuple[float, float] = (-8.0, 2.0)) -> float:
    """The log sigma that maximises the discretised-Gaussian likelihood of uint8 `images` (N, C, H, W) under the
    decoder's means (one seeded z ~ q(z|x) per image, as discrete_bits_per_dim draws it): the decoder's noise level fitted
    on held-out images, so that models trained with different (or no) sigma are scored alike. For a continuous Gaussian
    this would be sigma^2 = MSE; the discretised one differs where pixels pile up at 0 or 255 (open-ended edge bins)."""
    from scipy.optimize import minimize_scalar

    device = _device(model)
    model.eval()
    means, targets = [], []
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        for batch in images.split(batch_size):
            x = _floats(batch, device)
            means.append(torch.sigmoid(model(x)["logits"]).double())
            targets.append(x.double())
    cost = lambda log_scale: -sum(discretized_gaussian_log_likelihood(m, x, log_scale).sum().item()
                                  for m, x in zip(means, targets))
    return float(minimize_scalar(cost, bounds=bounds, method="bounded", options={"xatol": 1e-4}).x)


class ClassifierFeatures(torch.nn.Module):
    """The feature space for a Frechet distance: a classifier trained here on real images (models.build_classifier),
    cut before its dense layer, each of the last block's channels averaged over the image. (B, C, H, W) in [0, 1]
    -> (B, num_features)."""

    def __init__(self, classifier: torch.nn.Sequential):
        super().__init__()
        body = list(classifier.children())[:-2]  # drop Flatten and the dense layer
        self.body = torch.nn.Sequential(*body).eval()
        self.num_features = [m for m in body if isinstance(m, torch.nn.Conv2d)][-1].out_channels

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images.float()).mean(dim=(2, 3))


def frechet_distance(features: torch.nn.Module, real: torch.Tensor, generated: torch.Tensor, batch_size: int = 500) -> float:
    """Frechet distance between Gaussians fitted to the features of two image sets (N, C, H, W) in [0, 1] (or uint8),
    computed by torchmetrics' FrechetInceptionDistance with `features` (a module with `num_features`) in place of
    Inception: ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2)). 0 for identical sets; lower is closer."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    fid = FrechetInceptionDistance(feature=features, normalize=True)
    for images, is_real in ((real, True), (generated, False)):
        for batch in images.split(batch_size):
            fid.update(_floats(batch, torch.device("cpu")), real=is_real)
    return max(fid.compute().item(), 0.0)


@torch.no_grad()
def fitted_gaussian_log_scale(model: VAE, images: torch.Tensor, batch_size: int = 500, seed: int = 0) -> float:
    """log sigma of the Gaussian decoder that maximises the ELBO of a model trained with a squared error, given its
    decoder means: sigma^2 = E_q[ ||x - mean(z)||^2 ] / D over `images` (uint8 or in [0, 1]), z drawn once per image
    from q(z|x) with a seeded generator. A model trained with a fixed sigma scored with this sigma instead."""
    device = _device(model)
    model.eval()
    total, count = 0.0, 0
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        for batch in images.split(batch_size):
            x = _floats(batch, device)
            mean = torch.sigmoid(model(x)["logits"])
            total += (x - mean).pow(2).sum().item()
            count += x.numel()
    return 0.5 * math.log(total / count)


@torch.no_grad()
def posterior_average_reconstructions(model: VAE, images: torch.Tensor, samples: int = 8, seed: int = 0,
                                      batch_size: int = 500) -> torch.Tensor:
    """Each image decoded the way the VAE was trained: the decoder mean averaged over `samples` codes z ~ q(z|x)
    (seeded), (N, C, H, W) in [0, 1]. `reconstructions` decodes the posterior mean mu(x) instead, a code the decoder
    never saw in training when q is wide (posterior sigma near 1)."""
    device = _device(model)
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    out = []
    for batch in images.split(batch_size):
        mu, logvar = model.encode(_floats(batch, device))
        total = torch.zeros_like(_floats(batch, device))
        for _ in range(samples):
            eps = torch.randn(mu.shape, generator=generator).to(device)
            total += torch.sigmoid(model.decode(mu + torch.exp(0.5 * logvar) * eps))
        out.append((total / samples).cpu())
    return torch.cat(out)


def halved_copy(images: torch.Tensor) -> torch.Tensor:
    """The trivial blur baseline: each image (N, C, H, W) in [0, 1] halved and re-enlarged to its size, bilinearly.
    A sharpness measure must rank real images above this before it judges a model."""
    small = F.interpolate(images, scale_factor=0.5, mode="bilinear")
    return F.interpolate(small, size=images.shape[-2:], mode="bilinear")


def decoder_draws(means: torch.Tensor, log_scale: torch.Tensor | float, generator: torch.Generator,
                  levels: int = 256) -> torch.Tensor:
    """Images drawn from a discretised Gaussian decoder p(x|z): each value independently N(mean, sigma^2) rounded to
    the nearest of `levels` grey levels in [0, 1] (the end bins take the tails). means: (N, C, H, W) in [0, 1]."""
    sigma = math.exp(float(torch.as_tensor(log_scale).detach()))
    noise = torch.randn(means.shape, generator=generator)
    return ((means + sigma * noise) * (levels - 1)).round().clamp(0, levels - 1) / (levels - 1)


class PrincipalComponents:
    """The `components` leading principal components of a set of images (uint8 or [0, 1]), fitted once; calling it
    projects images onto them, each component scaled to unit variance on the fitted set when `whiten` (so the fine,
    low-variance directions where blur shows count as much as the coarse ones)."""

    def __init__(self, images: torch.Tensor, components: int = 64, whiten: bool = True) -> None:
        x = self._flat(images)
        self.centre = x.mean(0)
        values, vectors = torch.linalg.eigh(torch.cov((x - self.centre).T))
        self.basis = vectors[:, -components:]
        if whiten:
            self.basis = self.basis / values[-components:].clamp_min(1e-12).sqrt()
        self.components = components

    @staticmethod
    def _flat(images: torch.Tensor) -> torch.Tensor:
        return (to_float(images) if images.dtype == torch.uint8 else images.float()).flatten(1).double()

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return (self._flat(images) - self.centre) @ self.basis


def pca_frechet_distance(space: PrincipalComponents, real: torch.Tensor, generated: torch.Tensor) -> float:
    """Frechet distance between Gaussians fitted to two image sets in a `PrincipalComponents` space of training
    images: ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2)). A sample-quality measure that needs no trained
    feature network; 0 for identical sets, lower is closer. Compare only sets of equal size (the estimate is biased
    upwards by about the same amount for equal n)."""
    from scipy import linalg

    (mu_r, s_r), (mu_g, s_g) = ((f.mean(0).numpy(), torch.cov(f.T).numpy()) for f in (space(real), space(generated)))
    with warnings.catch_warnings():  # a set of flat images has a singular covariance; the distance is still defined
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm(s_r @ s_g)
    return float(((mu_r - mu_g) ** 2).sum() + np.trace(s_r + s_g - 2 * root.real))


def frechet_baselines(space: PrincipalComponents, reference: torch.Tensor, other_real: torch.Tensor,
                      pixel_source: torch.Tensor, seed: int = 0) -> dict[str, float]:
    """The check a sample-quality distance must pass before it judges models: its value against `reference` (e.g. the
    test images) for real images it has not seen (`other_real`, as many as the samples it will judge, [0, 1]), the
    same halved and re-enlarged, noise with the per-pixel mean and std of `pixel_source` ([0, 1]), and flat images of
    each real image's mean colour. Real images must score lowest and the flat ones worst."""
    noise = pixel_source.mean(0) + pixel_source.std(0) * torch.randn(other_real.shape, generator=torch.Generator().manual_seed(seed))
    sets = {"held-out real images": other_real, "held-out, halved and re-enlarged": halved_copy(other_real),
            "noise with the data's pixel mean and std": noise.clamp(0, 1),
            "flat (mean colour)": other_real.mean(dim=(2, 3), keepdim=True).expand_as(other_real)}
    return {label: pca_frechet_distance(space, reference, images) for label, images in sets.items()}
