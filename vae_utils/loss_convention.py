"""What a VAE loss written in someone's code means: the decoder and beta it implies, its units, and whether the
posterior is expected to collapse under it.

A loss as people write it is `recon_weight * R + kl_weight * K`, each term reduced over pixels (or latent
dimensions) and over the batch in its own way. Per image this is `A * sum_i e_i + C * KL` for the per-pixel error
e_i, and that is, up to a positive factor and a constant, the negative (beta-)ELBO of one decoder:
  * e = (x - x_hat)^2 (MSE):  a Gaussian decoder N(x_hat, sigma^2 I) with sigma^2 = C / (2 A), beta = 1;
  * e = |x - x_hat| (L1):     a Laplace decoder of scale b = C / A, beta = 1;
  * e = BCE:                  a Bernoulli decoder (a normalised one only for binary data), beta = C / A;
  * e = BCE + log-normaliser: the continuous Bernoulli (a density on [0, 1]), beta = C / A.
`translate` turns a `LossConvention` into these terms, as numbers and as plain words, with the factor that turns the
printed loss into nats per image, and a collapse check against the data's spectrum (see `collapse_check`).
Notebooks 04 and 05 derive and measure the Gaussian case (sigma^2 = D / (2 w)); `convention_table` applies it to
the reports' and the peers' losses, each quoted from its source.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import torch

from .losses import gaussian_kl

RECONSTRUCTIONS = ("mse", "bce", "continuous_bernoulli", "l1")
PIXEL_REDUCTIONS = ("mean", "sum")
BATCH_REDUCTIONS = ("mean", "sum")
KL_DIM_REDUCTIONS = ("sum", "mean")
DATA_RANGES = ("[0, 1]", "[-1, 1]", "{0, 1}")
WEIGHT_SCALINGS = ("none", "batch_size/dataset_size", "dataset_size/batch_size", "1/batch_size", "batch_size",
                   "1/dataset_size", "dataset_size")
GREY_LEVELS = 255  # steps between the darkest and the brightest of 8-bit data
_RANGE_WIDTH = {"[0, 1]": 1.0, "[-1, 1]": 2.0, "{0, 1}": 1.0}
_DECODERS = {"mse": "gaussian", "l1": "laplace", "bce": "bernoulli", "continuous_bernoulli": "continuous_bernoulli"}


def _number(value: float) -> str:
    """A readable number: thousands separated above 1,000, else 4 significant figures."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def _offset(value: float) -> str:
    return "" if value == 0 else f" {'+' if value > 0 else '−'} {abs(value):,.1f}"


def _choice(name: str, value: str, allowed: tuple[str, ...], hint: str) -> None:
    if value not in allowed:
        raise ValueError(f"Unknown {name} {value!r}: expected one of {', '.join(repr(a) for a in allowed)}. {hint}")


@dataclass(frozen=True)
class LossConvention:
    """A VAE loss as written in code: `recon_weight * R + kl_weight * K`, printed as one number per batch.

    reconstruction: the per-pixel error e_i, "mse" (x - x_hat)^2, "bce" (binary cross-entropy), "continuous_bernoulli"
    (BCE plus the continuous Bernoulli's log-normaliser) or "l1" |x - x_hat|.
    pixel_reduction, batch_reduction: R is e summed or averaged over the D = C*H*W values of an image ("sum" | "mean";
    F.mse_loss's default "mean" averages over pixels *and* batch: pixel "mean", batch "mean"), then over the batch.
    kl_dim_reduction, kl_batch_reduction: K is the closed-form KL summed or averaged over the latent dims, then over
    the batch (`-0.5 * torch.sum(...)` over a whole batch: dims "sum", batch "sum").
    recon_weight, kl_weight (>= 0; recon_weight > 0): the written weights. recon_weight_scaling, kl_weight_scaling:
    a factor multiplying the weight that depends on the batch or the dataset (one of WEIGHT_SCALINGS), e.g. AntixK's
    `M_N = batch_size / num_train_imgs` is kl_weight 1 with kl_weight_scaling "batch_size/dataset_size".
    batch_size, dataset_size, latent_dim: needed when a reduction or a scaling uses them (the error says when).
    image_shape: (C, H, W); data_range: what x lives in, "[0, 1]", "[-1, 1]" or "{0, 1}" (binarised).
    dataset: a key of DATA_SPECTRA ("mnist", "cifar10", "celeba32", "celeba64") for the collapse check, or None.
    """

    reconstruction: str = "mse"
    pixel_reduction: str = "sum"
    batch_reduction: str = "mean"
    recon_weight: float = 1.0
    kl_weight: float = 1.0
    kl_dim_reduction: str = "sum"
    kl_batch_reduction: str = "mean"
    recon_weight_scaling: str = "none"
    kl_weight_scaling: str = "none"
    image_shape: tuple[int, int, int] = (1, 28, 28)
    data_range: str = "[0, 1]"
    batch_size: int | None = None
    dataset_size: int | None = None
    latent_dim: int | None = None
    dataset: str | None = None

    def __post_init__(self) -> None:
        _choice("reconstruction", self.reconstruction, RECONSTRUCTIONS,
                "Name the per-pixel error your code computes: F.mse_loss is 'mse', F.binary_cross_entropy 'bce', F.l1_loss 'l1'.")
        _choice("pixel_reduction", self.pixel_reduction, PIXEL_REDUCTIONS,
                "Say how R is reduced over the pixels of one image: PyTorch's default reduction is 'mean', reduction='sum' is 'sum'.")
        _choice("batch_reduction", self.batch_reduction, BATCH_REDUCTIONS,
                "Say how R is reduced over the images of a batch: torch.mean / the default is 'mean', torch.sum is 'sum'.")
        _choice("kl_dim_reduction", self.kl_dim_reduction, KL_DIM_REDUCTIONS,
                "Say how the KL is reduced over the latent dimensions: torch.sum(..., dim=1) is 'sum'.")
        _choice("kl_batch_reduction", self.kl_batch_reduction, BATCH_REDUCTIONS,
                "Say how the KL is reduced over the batch: torch.mean(..., dim=0) is 'mean', a sum over everything is 'sum'.")
        for name in ("recon_weight_scaling", "kl_weight_scaling"):
            _choice(name, getattr(self, name), WEIGHT_SCALINGS,
                    "Use 'none' for a fixed number, 'batch_size/dataset_size' for AntixK's M_N = batch_size / num_train_imgs.")
        _choice("data_range", self.data_range, DATA_RANGES,
                "ToTensor() gives '[0, 1]'; Normalize(0.5, 0.5) or 2 * x - 1 gives '[-1, 1]'; binarised pixels are '{0, 1}'.")
        for name in ("recon_weight", "kl_weight"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(
                    f"{name} is {value!r}: expected a finite number >= 0. A negative weight rewards its term instead of "
                    "charging it, so no decoder or beta describes the loss. If your KL line reads "
                    "sum(1 + logvar - mu^2 - exp(logvar)) without the factor -0.5, the sign is the bug: the KL is "
                    "0.5 * sum(mu^2 + exp(logvar) - 1 - logvar); restore the -0.5 and give the weight that multiplies it.")
        if self.recon_weight == 0:
            raise ValueError("recon_weight is 0: expected a positive weight; without a reconstruction term the loss "
                             "trains nothing but the prior. Give the weight that multiplies the reconstruction term.")
        shape = tuple(self.image_shape)
        if len(shape) != 3 or not all(isinstance(n, int) and n > 0 for n in shape):
            raise ValueError(f"image_shape is {self.image_shape!r}: expected (C, H, W), three positive integers, "
                             "e.g. (3, 32, 32) for CIFAR-10 or (1, 28, 28) for MNIST.")
        if self.dataset is not None:
            if self.dataset not in DATA_SPECTRA:
                raise ValueError(f"Unknown dataset {self.dataset!r}: expected one of {', '.join(DATA_SPECTRA)} (or None). "
                                 "For other data pass translate(..., spectrum=data_spectrum(images)).")
            expected = DATA_SPECTRA[self.dataset].image_shape
            if shape != expected:
                raise ValueError(f"image_shape {shape} does not match dataset {self.dataset!r}, whose images are {expected}. "
                                 f"Give image_shape={expected}, or another dataset (or None) for images of shape {shape}.")
        if self.reconstruction in ("bce", "continuous_bernoulli") and self.data_range == "[-1, 1]":
            raise ValueError(f"reconstruction {self.reconstruction!r} with data in [-1, 1]: a cross-entropy needs targets in "
                             "[0, 1]. Expected data_range '[0, 1]' or '{0, 1}'; with [-1, 1] data use 'mse' or 'l1'.")
        needs = {"batch_size": self.batch_reduction == "sum" or self.kl_batch_reduction == "sum"
                 or any("batch_size" in s for s in (self.recon_weight_scaling, self.kl_weight_scaling)),
                 "dataset_size": any("dataset_size" in s for s in (self.recon_weight_scaling, self.kl_weight_scaling)),
                 "latent_dim": self.kl_dim_reduction == "mean"}
        why = {"batch_size": "a term is summed over the batch or a weight scales with the batch size, so the loss depends on it",
               "dataset_size": "a weight scales with the dataset size",
               "latent_dim": "the KL is averaged over the latent dimensions"}
        for name, needed in needs.items():
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                raise ValueError(f"{name} is {value!r}: expected a positive integer (or None when nothing needs it).")
            if needed and value is None:
                raise ValueError(f"{name} is missing: {why[name]}. Give {name}=... (the number your code runs with).")

    @property
    def pixels(self) -> int:
        """D = C * H * W, the values of one image."""
        return math.prod(self.image_shape)

    def weight_factor(self, scaling: str) -> float:
        """The number a weight's scaling multiplies it by, for this batch and dataset size."""
        b, n = self.batch_size, self.dataset_size
        return {"none": lambda: 1.0, "batch_size/dataset_size": lambda: b / n, "dataset_size/batch_size": lambda: n / b,
                "1/batch_size": lambda: 1 / b, "batch_size": lambda: float(b), "1/dataset_size": lambda: 1 / n,
                "dataset_size": lambda: float(n)}[scaling]()

    def per_image_weights(self) -> tuple[float, float]:
        """(A, C): the loss of a batch of B images is sum over images of (A * sum_i e_i + C * KL), e and KL per image.

        A = recon_weight * scaling * (1/D if pixel mean) * (1/B if batch mean); C likewise for the KL. When a term is
        averaged over the batch and B is not given, B is left out of both (only their ratio and per-image values
        matter then: both terms are batch means)."""
        b = self.batch_size or 1
        recon = self.recon_weight * self.weight_factor(self.recon_weight_scaling)
        recon /= self.pixels if self.pixel_reduction == "mean" else 1
        recon /= b if self.batch_reduction == "mean" else 1
        kl = self.kl_weight * self.weight_factor(self.kl_weight_scaling)
        kl /= self.latent_dim if self.kl_dim_reduction == "mean" else 1
        kl /= b if self.kl_batch_reduction == "mean" else 1
        return recon, kl


@dataclass(frozen=True)
class DataSpectrum:
    """The largest eigenvalues of a dataset's pixel covariance, in [0, 1] units (pixel values / 255), largest first.

    total_variance: the trace (sum of all D eigenvalues); source: what it was computed from, and how."""

    name: str
    image_shape: tuple[int, int, int]
    top_eigenvalues: tuple[float, ...]
    total_variance: float
    source: str

    def count_above(self, variance: float) -> tuple[int, bool]:
        """(how many stored eigenvalues exceed `variance`, whether that count is exact: False when all stored ones do)."""
        count = sum(value > variance for value in self.top_eigenvalues)
        return count, count < len(self.top_eigenvalues)


def data_spectrum(images: torch.Tensor, name: str = "", top: int = 128, chunk: int = 5000, seed: int = 0) -> DataSpectrum:
    """The `top` largest eigenvalues of the pixel covariance of images (N, C, H, W), uint8 or floats in [0, 1].

    D <= 4096: the exact covariance (accumulated in float64 over chunks) and its eigenvalues; larger images: a seeded
    randomised SVD of the centred data (torch.svd_lowrank, 32 extra directions, 6 power iterations): exact to 1e-3
    where the spectrum decays, as images' do (tested), a few % low where it is flat (noise). Units: [0, 1] pixel values,
    so a decoder's sigma^2 in [0, 1] units compares with them."""
    if images.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {tuple(images.shape)}")
    scale = 255.0 if images.dtype == torch.uint8 else 1.0
    count, pixels = len(images), images[0].numel()
    total, squares = torch.zeros(pixels, dtype=torch.float64), None
    for block in images.split(chunk):
        total += block.reshape(len(block), -1).double().sum(0) / scale
    mean = total / count
    variances = torch.zeros(pixels, dtype=torch.float64)
    for block in images.split(chunk):
        centred = block.reshape(len(block), -1).double() / scale - mean
        variances += centred.pow(2).sum(0)
        if pixels <= 4096:
            product = (centred.T @ centred)
            squares = product if squares is None else squares + product
    if pixels <= 4096:
        eigenvalues = torch.linalg.eigvalsh(squares / count).flip(0)[:top]
    else:
        centred = (images.reshape(count, -1).float() / scale - mean.float())
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            singular = torch.svd_lowrank(centred, q=min(top + 32, count, pixels), niter=6)[1]
        eigenvalues = singular.double().pow(2)[:top] / count
    return DataSpectrum(name, tuple(images.shape[1:]), tuple(float(v) for v in eigenvalues),
                        float(variances.sum() / count), f"{count:,} images, data_spectrum(top={top})")


def _spectrum(name: str, shape: tuple[int, int, int], total: float, source: str, text: str) -> DataSpectrum:
    return DataSpectrum(name, shape, tuple(float(v) for v in text.split()), total, source)


# Computed by data_spectrum from the real data (tests/test_loss_convention.py recomputes them): the top 128 eigenvalues of
# each dataset's pixel covariance, [0, 1] units, 4 significant figures; the second number is the total variance (trace).
DATA_SPECTRA: dict[str, DataSpectrum] = {
    "mnist": _spectrum("mnist", (1, 28, 28), 52.725,
                        "MNIST training split, all 60,000 images; exact covariance", """
    5.117 3.741 3.253 2.842 2.567 2.274 1.725 1.521 1.456 1.243 1.112 1.067 0.9047 0.8922 0.8323 0.7819 0.6984
    0.6732 0.626 0.6078 0.5621 0.5308 0.5028 0.4811 0.4658 0.4425 0.4284 0.4146 0.3927 0.3643 0.347 0.3417 0.3177
    0.3093 0.3005 0.2866 0.2667 0.2572 0.2538 0.249 0.2408 0.2345 0.2207 0.21 0.203 0.1978 0.1909 0.1854 0.1793
    0.1697 0.1682 0.1649 0.1561 0.1524 0.1498 0.1431 0.1421 0.1363 0.1338 0.1291 0.1268 0.1262 0.1215 0.1168 0.1127
    0.1093 0.1071 0.1038 0.1017 0.09946 0.09858 0.09548 0.09362 0.09222 0.0874 0.08641 0.08513 0.08179 0.07783
    0.07549 0.07492 0.07442 0.07391 0.07157 0.07057 0.06981 0.06863 0.06637 0.06476 0.06411 0.06171 0.06057 0.05971
    0.05846 0.05747 0.05638 0.05494 0.05484 0.05339 0.053 0.05188 0.05007 0.04963 0.0483 0.04787 0.04729 0.04563
    0.04509 0.04459 0.04337 0.04174 0.04144 0.04137 0.04054 0.04028 0.03971 0.03885 0.03834 0.03794 0.03727 0.03667
    0.03649 0.03603 0.03554 0.03516 0.03402 0.03351 0.0333"""),
    "cifar10": _spectrum("cifar10", (3, 32, 32), 190.401,
                        "CIFAR-10 training split, all 50,000 images; exact covariance", """
    55.36 21.43 12.75 7 6.871 5.349 5.166 4.126 3.931 2.738 2.495 2.03 1.999 1.912 1.749 1.556 1.408 1.364 1.309
    1.225 1.132 1.118 0.9436 0.9345 0.9148 0.887 0.8594 0.8447 0.7631 0.7499 0.6973 0.6343 0.6168 0.5907 0.5856
    0.5545 0.4974 0.4936 0.4843 0.4729 0.462 0.4366 0.4344 0.4218 0.4003 0.3936 0.3664 0.3625 0.3516 0.346 0.339
    0.3305 0.3259 0.3232 0.3091 0.302 0.2978 0.2938 0.2915 0.2855 0.2776 0.271 0.2687 0.2622 0.2568 0.2526 0.2453
    0.2367 0.2311 0.2308 0.2257 0.2225 0.2171 0.2138 0.2126 0.2114 0.21 0.1996 0.1974 0.1937 0.1902 0.1885 0.1863
    0.1851 0.1795 0.1769 0.1753 0.1714 0.1684 0.1673 0.1653 0.1607 0.1603 0.1573 0.155 0.1517 0.1494 0.1433 0.1427
    0.1416 0.1411 0.139 0.136 0.1341 0.1319 0.1294 0.1291 0.1282 0.1269 0.1256 0.1238 0.1235 0.1202 0.1176 0.1156
    0.1154 0.1134 0.1125 0.1111 0.111 0.1099 0.1076 0.1069 0.1068 0.1058 0.1041 0.1034 0.1025"""),
    "celeba32": _spectrum("celeba32", (3, 32, 32), 188.956,
                        "CelebA, the 10,000 faces of the shared subset (all in the official train split), centre crop 148/178, 32x32; exact covariance", """
    57.89 18.53 16.36 10.85 10.33 8.552 4.039 3.642 3.147 2.925 2.656 2.511 1.941 1.755 1.452 1.39 1.318 1.203 1.143
    1.138 1.074 0.9701 0.9179 0.839 0.7814 0.7311 0.688 0.6745 0.6458 0.6091 0.5908 0.5594 0.5332 0.5152 0.4954
    0.4902 0.4757 0.4653 0.4234 0.4104 0.4035 0.3956 0.3723 0.3627 0.3596 0.3493 0.3379 0.3174 0.3136 0.3046 0.284
    0.2748 0.2684 0.2659 0.2603 0.2567 0.2436 0.2395 0.2359 0.2287 0.2196 0.2104 0.2092 0.2014 0.1948 0.1887 0.1845
    0.1802 0.1741 0.1722 0.1687 0.1649 0.164 0.1614 0.1581 0.153 0.1524 0.1516 0.1494 0.1471 0.1441 0.141 0.1384
    0.1362 0.1334 0.1307 0.1278 0.1245 0.1236 0.1202 0.1181 0.116 0.1135 0.112 0.1113 0.1101 0.1084 0.1065 0.1042
    0.1024 0.1012 0.09967 0.09896 0.09801 0.09652 0.09491 0.09444 0.09238 0.09082 0.08941 0.08909 0.08616 0.0853
    0.08386 0.08321 0.08144 0.08018 0.07898 0.07778 0.07586 0.07504 0.07436 0.07386 0.07248 0.07176 0.07047 0.07033
    0.06937"""),
    "celeba64": _spectrum("celeba64", (3, 64, 64), 795.615,
                        "CelebA, the 10,000 faces of the shared subset (all in the official train split), centre crop 148/178, 64x64; randomised SVD", """
    232 74.41 65.99 43.54 41.99 34.75 16.42 14.62 12.7 11.81 11 10.44 8.094 7.186 5.959 5.859 5.371 5.032 4.732
    4.665 4.48 3.992 3.855 3.558 3.216 3.068 2.952 2.825 2.769 2.591 2.527 2.381 2.268 2.179 2.136 2.035 1.99 1.934
    1.844 1.767 1.737 1.731 1.617 1.566 1.521 1.503 1.437 1.402 1.337 1.335 1.266 1.22 1.176 1.16 1.145 1.126 1.091
    1.085 1.038 1.008 0.9953 0.9463 0.9219 0.8921 0.8821 0.8637 0.8407 0.8277 0.8195 0.7864 0.7566 0.7478 0.7396
    0.7361 0.7177 0.7081 0.702 0.6896 0.6844 0.6637 0.6568 0.6329 0.6287 0.6256 0.6078 0.603 0.597 0.5903 0.5772
    0.5617 0.5501 0.5473 0.536 0.5233 0.5144 0.5139 0.5028 0.4972 0.49 0.4884 0.4846 0.4732 0.4704 0.4661 0.4591
    0.4489 0.4446 0.4406 0.437 0.4367 0.4252 0.4221 0.4152 0.4082 0.4023 0.4 0.3943 0.3869 0.3809 0.3727 0.3692
    0.3667 0.364 0.3615 0.3584 0.3537 0.35 0.3427"""),
}


@dataclass(frozen=True)
class MeasuredRun:
    """One trained setting of notebooks 04/05: w * mean-MSE + KL on [0, 1] data (sigma^2 = D / (2 w)), and how many
    latent dims it kept active (Burda et al.: Cov_x(E[z_d|x]) > 0.01 on 1,000 test images; mean over seeds).
    Copied from results/ (tests/test_loss_convention.py checks every number against the files)."""

    dataset: str
    weight: float
    latent_dim: int
    active_units: float
    seeds: int
    results_file: str
    results_keys: tuple[str, ...]

    @property
    def source(self) -> str:
        """Where the number is: the results file and the keys down to the setting."""
        return f"results/{self.results_file}, " + " / ".join(self.results_keys)

    @property
    def sigma_squared(self) -> float:
        """D / (2 w): the decoder variance the weight implies, [0, 1] units."""
        return math.prod(DATA_SPECTRA[self.dataset].image_shape) / (2 * self.weight)

    @property
    def ratio(self) -> float:
        """sigma^2 / lambda_1 (lambda_1: the data covariance's largest eigenvalue)."""
        return self.sigma_squared / DATA_SPECTRA[self.dataset].top_eigenvalues[0]

    @property
    def linear_active_dims(self) -> int:
        """How many latent dims a linear VAE keeps at this sigma: eigenvalues above sigma^2, at most latent_dim."""
        return min(self.latent_dim, DATA_SPECTRA[self.dataset].count_above(self.sigma_squared)[0])


_04, _05 = "04_posterior_collapse.json", "05_reconstruction_weighting.json"
MEASURED_RUNS: tuple[MeasuredRun, ...] = (
    MeasuredRun("cifar10", 1.0, 32, 0.0, 3, _04, ("settings", "report's loss (w = 1)")),
    MeasuredRun("cifar10", 1.0, 32, 0.0, 3, _04, ("settings", "deeper decoder")),  # w = 1 with 3 more dense layers
    MeasuredRun("cifar10", 6000.0, 32, 32.0, 3, _04, ("settings", "w = 6000")),
    *(MeasuredRun("mnist", w, 16, active, 3, _05, ("sweep", "mnist", f"w={w:g}"))
      for w, active in ((1.0, 0.0), (30.0, 0.0), (300.0, 16.0), (1000.0, 16.0), (6000.0, 16.0), (30000.0, 16.0), (300000.0, 16.0))),
    *(MeasuredRun("cifar10", w, 32, active, 3, _05, ("sweep", "cifar10", f"w={w:g}"))
      for w, active in ((1.0, 0.0), (30.0, 0.0), (300.0, 20 / 3), (1000.0, 83 / 3), (6000.0, 32.0), (30000.0, 32.0),
                        (300000.0, 32.0))),
)
_COLLAPSED = min((run for run in MEASURED_RUNS if run.active_units == 0), key=lambda run: run.ratio)
_KEPT = max((run for run in MEASURED_RUNS if run.active_units >= 1), key=lambda run: run.ratio)
COLLAPSED_FROM = _COLLAPSED.ratio  # every measured run with sigma^2 >= this * lambda_1 kept no active unit
ACTIVE_UP_TO = _KEPT.ratio  # every measured run with sigma^2 <= this * lambda_1 kept active units
PARTIAL_EXCESS = max(run.active_units / run.linear_active_dims for run in MEASURED_RUNS
                     if 0 < run.linear_active_dims < run.latent_dim)  # measured active units / the linear VAE's count


DATASET_NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10", "celeba32": "CelebA 32×32", "celeba64": "CelebA 64×64"}


def _run_name(run: MeasuredRun) -> str:
    return f"{DATASET_NAMES[run.dataset]} w = {run.weight:g}"


@dataclass(frozen=True)
class CollapseCheck:
    """Whether a decoder noise variance sigma^2 ([0, 1] units) is expected to collapse the posterior on a dataset.

    The criterion is the linear VAE's (probabilistic PCA; Lucas et al. 2019): latent dim i collapses when sigma^2
    exceeds the data covariance's i-th eigenvalue, all collapse when sigma^2 >= lambda_1. The verdict's thresholds are
    measured, from notebooks 04/05 (MEASURED_RUNS): "collapse expected" from sigma^2 >= COLLAPSED_FROM * lambda_1 (the
    smallest ratio at which a trained conv VAE kept no active unit: CIFAR-10 at w = 30, 0.92), "no total collapse
    expected" up to ACTIVE_UP_TO * lambda_1 (the largest ratio at which one kept active units: MNIST at w = 300, 0.26),
    "collapse possible" in between, where no run was measured."""

    dataset: str
    noise_variance: float
    top_eigenvalue: float
    linear_active_dims: int
    count_is_exact: bool
    latent_dim: int | None

    @property
    def ratio(self) -> float:
        """sigma^2 / lambda_1."""
        return self.noise_variance / self.top_eigenvalue

    @property
    def verdict(self) -> str:
        if self.ratio >= min(1.0, COLLAPSED_FROM) * (1 - 1e-9):  # the measured run itself, however σ² was rounded
            return "collapse expected"
        if self.ratio > ACTIVE_UP_TO:
            return "collapse possible"
        return "no total collapse expected"

    @property
    def warns(self) -> bool:
        """True when the posterior is expected, or possibly expected, to collapse entirely."""
        return self.verdict != "no total collapse expected"

    @property
    def text(self) -> str:
        """The verdict in plain words, with the numbers and the evidence behind its threshold."""
        head = (f"σ² = {self.noise_variance:,.4g} ([0, 1] units) is {self.ratio:.3g} × λ₁ = {self.top_eigenvalue:.4g}, the "
                f"largest eigenvalue of the {DATASET_NAMES.get(self.dataset, self.dataset)} pixel covariance.")
        evidence = (f"Notebooks 04/05 measured no active unit in every run at σ² ≥ {COLLAPSED_FROM:.2f} λ₁ (the lowest: "
                    f"{_run_name(_COLLAPSED)}) and active units in every run at σ² ≤ {ACTIVE_UP_TO:.2f} λ₁ (the highest: "
                    f"{_run_name(_KEPT)}); the linear VAE (Lucas et al. 2019) collapses every latent dimension at σ² ≥ λ₁.")
        count = f"{self.linear_active_dims}" + ("" if self.count_is_exact else "+")
        if self.verdict == "collapse expected":
            return f"WARNING, posterior collapse expected: {head} {evidence}"
        if self.verdict == "collapse possible":
            return (f"WARNING, posterior collapse possible: {head} That lies between the ratios measured to keep and to lose "
                    f"every unit. {evidence} A linear VAE would keep {count} dimension(s).")
        partial = ""
        if self.latent_dim is not None and self.count_is_exact and self.linear_active_dims < self.latent_dim:
            partial = (f" Only {count} of its {self.latent_dim} latent dims can carry information in a linear VAE (partial "
                       f"collapse); the measured conv VAEs kept up to {PARTIAL_EXCESS:.1f}× the linear count.")
        return (f"No total collapse expected: {head} A linear VAE uses the {count} principal directions with variance "
                f"above σ².{partial} {evidence}")


def collapse_check(noise_variance: float, spectrum: DataSpectrum, latent_dim: int | None = None) -> CollapseCheck:
    """The collapse verdict for a decoder of noise variance sigma^2 ([0, 1] units) on data with this spectrum."""
    count, exact = spectrum.count_above(noise_variance)
    return CollapseCheck(spectrum.name, noise_variance, spectrum.top_eigenvalues[0], count, exact, latent_dim)


def collapse_evidence() -> list[dict]:
    """The measured runs behind the threshold, one row each: dataset, w, sigma, sigma^2 / lambda_1, the dims a linear
    VAE keeps, the active units measured, and the verdict `collapse_check` gives at that sigma."""
    return [{"dataset": run.dataset, "w": run.weight, "σ": math.sqrt(run.sigma_squared), "σ²/λ₁": run.ratio,
             "linear VAE dims": run.linear_active_dims, "active units (measured)": run.active_units,
             "latent dims": run.latent_dim, "seeds": run.seeds,
             "verdict": collapse_check(run.sigma_squared, DATA_SPECTRA[run.dataset], run.latent_dim).verdict,
             "source": run.source} for run in MEASURED_RUNS]


_OBJECTIVES = {
    "gaussian": "−ELBO (β = 1) of a Gaussian decoder N(x̂, σ²I)",
    "laplace": "−ELBO (β = 1) of a Laplace decoder of scale b (std √2·b) per pixel",
    "bernoulli": "the β-weighted negative ELBO of a Bernoulli decoder",
    "continuous_bernoulli": "the β-weighted negative ELBO of a continuous Bernoulli decoder (a density on [0, 1])",
}


@dataclass(frozen=True)
class Translation:
    """What a LossConvention means. Per image the loss is A * sum_i e_i + C * KL (`LossConvention.per_image_weights`).

    decoder: "gaussian", "laplace", "bernoulli", "continuous_bernoulli", or "none" (no KL: an autoencoder).
    scale: the decoder's sigma (Gaussian) or b (Laplace) in the data's own units at beta = 1, C / (2A) resp. C / A;
    scale_unit: the same in [0, 1] units (pixel value / 255); grey_levels: in steps of 8-bit data (255 * scale_unit).
    beta: the KL's weight relative to the ELBO of that decoder (1 for Gaussian and Laplace, read at their implied
    scale; C / A for the Bernoullis). weight_w: notebooks 04/05's w, the loss being proportional to
    w * mean-MSE([0, 1] units) + KL (Gaussian only); sigma_unit^2 = D / (2 w).
    loss_to_nats, nats_offset: printed loss * loss_to_nats + nats_offset = the objective in nats per image
    (-ELBO when beta = 1; offset = the Gaussian/Laplace normaliser of a density of x in [0, 1]^D).
    recon_to_nats, kl_to_nats: the same for the two unweighted printed terms (-log p(x|z) before its constant, KL).
    bits_per_dim: nats per image * this = bits/dim, only for a proper discrete likelihood (Bernoulli, binary data).
    scales_with: {"batch_size" or "dataset_size": p}, the objective's KL-to-reconstruction balance ∝ size^p.
    collapse: the collapse check, when the data's spectrum is known."""

    loss: LossConvention
    decoder: str
    objective: str
    beta: float
    scale: float | None
    scale_unit: float | None
    grey_levels: float | None
    weight_w: float | None
    loss_to_nats: float | None
    nats_offset: float
    recon_to_nats: float
    kl_to_nats: float
    bits_per_dim: float | None
    scales_with: dict[str, float] = field(default_factory=dict)
    collapse: CollapseCheck | None = None
    notes: tuple[str, ...] = ()

    def nats_per_image(self, printed_loss: float) -> float:
        """A printed loss value in nats per image (-ELBO when beta = 1, the beta-objective otherwise)."""
        if self.loss_to_nats is None:
            raise ValueError("This loss has no KL term, so it is not an ELBO and has no value in nats; "
                             "convert its reconstruction term with recon_to_nats instead.")
        return printed_loss * self.loss_to_nats + self.nats_offset

    def beta_at(self, scale_unit: float) -> float:
        """beta relative to the ELBO of a Gaussian (Laplace) decoder whose sigma (b) you state, in [0, 1] units:
        (implied / stated)^2 for the Gaussian, implied / stated for the Laplace; 1 at the implied scale."""
        if self.decoder not in ("gaussian", "laplace") or self.scale_unit is None:
            raise ValueError(f"beta_at needs a Gaussian or Laplace decoder with a KL term; this loss is {self.decoder!r}: "
                             "read its beta from .beta.")
        if scale_unit <= 0:
            raise ValueError(f"scale_unit must be positive, got {scale_unit!r}")
        ratio = self.scale_unit / scale_unit
        return ratio ** 2 if self.decoder == "gaussian" else ratio

    @property
    def text(self) -> str:
        """The translation in plain words."""
        parts = [f"{self.objective}"]
        if self.decoder in ("gaussian", "laplace") and self.scale_unit is not None:
            symbol = "σ" if self.decoder == "gaussian" else "b"
            parts[0] += (f" with {symbol} = {self.scale_unit:.4g} in [0, 1] units ({_number(self.grey_levels)} grey levels "
                         "of 8-bit data)")
            if self.loss.data_range == "[-1, 1]":
                parts[0] += f", i.e. {self.scale:.4g} in the data's [−1, 1] units"
            if self.weight_w is not None:
                parts[0] += f"; in notebooks 04/05's terms w = {_number(self.weight_w)} on mean-MSE + KL"
        elif self.decoder != "none":
            parts[0] += f", β = {self.beta:.4g}"
        parts[0] += "."
        if self.loss_to_nats is not None:
            meaning = "−ELBO" if self.beta == 1 else f"the β = {self.beta:.4g} objective (−ELBO needs the terms: recon × " \
                                                     f"{self.recon_to_nats:.4g} + KL × {self.kl_to_nats:.4g})"
            parts.append(f"Printed loss × {self.loss_to_nats:.6g}{_offset(self.nats_offset)} = {meaning} in nats per image.")
        if self.bits_per_dim is not None:
            parts.append(f"On binary data that is a real code length: nats per image × {self.bits_per_dim:.4g} = bits/dim.")
        elif self.decoder in ("gaussian", "laplace", "continuous_bernoulli"):
            parts.append("No bits/dim from it: a density, not a probability of 8-bit pixels (evaluate the decoder "
                         "discretised to 256 levels for that, as notebook 05 does).")
        elif self.decoder == "bernoulli":
            parts.append("No bits/dim and not a normalised likelihood: BCE on grey levels is a cross-entropy, "
                         "a log-probability only for binarised pixels.")
        parts.extend(self.notes)
        for size, power in self.scales_with.items():
            value = getattr(self.loss, size)
            parts.append(f"The balance depends on the {size.replace('_', ' ')} ({value:,}): the KL's weight relative to the "
                         f"reconstruction ∝ {size}^{power:g}, so the same code trains another objective at another {size}.")
        if self.collapse is not None:
            parts.append(self.collapse.text)
        elif self.decoder in ("bernoulli", "continuous_bernoulli"):
            parts.append("No collapse verdict: notebooks 04/05 measured the threshold for Gaussian decoders only.")
        elif self.decoder != "none":
            parts.append("No collapse check: the data's spectrum is unknown (give dataset=..., or "
                         "translate(..., spectrum=data_spectrum(images))).")
        return " ".join(parts)


def _kl_to_reconstruction(loss: LossConvention) -> float:
    recon, kl = loss.per_image_weights()
    return kl / recon


def _scaling_powers(loss: LossConvention) -> dict[str, float]:
    """For each size the loss is given, the power p with C / A ∝ size^p (0 left out)."""
    powers = {}
    base = _kl_to_reconstruction(loss)
    for size in ("batch_size", "dataset_size"):
        value = getattr(loss, size)
        if value is None or base == 0:
            continue
        power = math.log(_kl_to_reconstruction(replace(loss, **{size: 2 * value})) / base, 2)
        if abs(power) > 1e-9:
            powers[size] = round(power, 6)
    return powers


def translate(loss: LossConvention, spectrum: DataSpectrum | None = None) -> Translation:
    """The objective a written loss trains, its decoder scale, beta, units and collapse verdict (see Translation).

    spectrum: the data's covariance spectrum for the collapse check; default DATA_SPECTRA[loss.dataset]."""
    recon, kl = loss.per_image_weights()
    batch = loss.batch_size or 1
    pixels = loss.pixels
    width = _RANGE_WIDTH[loss.data_range]
    decoder = _DECODERS[loss.reconstruction] if kl > 0 else "none"
    pixel_share = 1 / pixels if loss.pixel_reduction == "mean" else 1.0
    batch_share_recon = 1 / batch if loss.batch_reduction == "mean" else 1.0
    kl_share = (1 / loss.latent_dim if loss.kl_dim_reduction == "mean" else 1.0) * (1 / batch if loss.kl_batch_reduction == "mean" else 1.0)
    kl_to_nats = 1 / (batch * kl_share)
    if spectrum is None and loss.dataset is not None:
        spectrum = DATA_SPECTRA[loss.dataset]
    if spectrum is not None and spectrum.image_shape != tuple(loss.image_shape):
        raise ValueError(f"the spectrum is of images {spectrum.image_shape} but the loss's image_shape is {tuple(loss.image_shape)}: "
                         "compute the spectrum from the images this loss trains on.")
    notes = []
    if decoder == "none":
        notes.append("The KL weight is 0: no KL term, so no ELBO and no σ (the β → 0 limit: a plain autoencoder).")
        return Translation(loss, "none", "an autoencoder's reconstruction loss (no KL term)", 0.0, None, None, None, None,
                           None, 0.0, 1 / (batch * batch_share_recon * pixel_share), kl_to_nats, None,
                           _scaling_powers(loss), None, tuple(notes))
    scale = scale_unit = grey = weight_w = bits = None
    collapse = None
    if decoder in ("gaussian", "laplace"):
        beta = 1.0
        scale = math.sqrt(kl / (2 * recon)) if decoder == "gaussian" else kl / recon
        scale_unit = scale / width
        grey = GREY_LEVELS * scale_unit
        per_pixel_constant = (math.log(scale_unit) + 0.5 * math.log(2 * math.pi) if decoder == "gaussian"
                              else math.log(2 * scale_unit))
        offset = pixels * per_pixel_constant
        loss_to_nats = 1 / (kl * batch)
        recon_to_nats = (recon / kl) / (batch * batch_share_recon * pixel_share)
        noise_variance = scale_unit ** 2 if decoder == "gaussian" else 2 * scale_unit ** 2
        if decoder == "gaussian":
            weight_w = width ** 2 * pixels * recon / kl
        else:
            notes.append("The collapse check uses the Laplace decoder's variance 2b² in place of σ² (the linear-VAE "
                         "criterion is derived for a Gaussian decoder).")
        if spectrum is not None:
            collapse = collapse_check(noise_variance, spectrum, loss.latent_dim)
    else:
        beta = kl / recon
        offset = 0.0
        loss_to_nats = 1 / (recon * batch)
        recon_to_nats = 1 / (batch * batch_share_recon * pixel_share)
        if decoder == "bernoulli" and loss.data_range == "{0, 1}":
            bits = 1 / (pixels * math.log(2))
        if beta > 1:
            notes.append(f"β = {beta:.4g} > 1 charges the KL {beta:.4g}× what the ELBO does (a per-pixel mean next to a summed "
                         "KL does this, like notebook 04's mean-MSE); notebooks 04/05 measured Gaussian decoders only, so no "
                         "measured collapse threshold applies.")
    return Translation(loss, decoder, _OBJECTIVES[decoder], beta, scale, scale_unit, grey, weight_w, loss_to_nats, offset,
                       recon_to_nats, kl_to_nats, bits, _scaling_powers(loss), collapse, tuple(notes))


def loss_as_written(loss: LossConvention, x: torch.Tensor, x_hat: torch.Tensor, mu: torch.Tensor,
                    logvar: torch.Tensor) -> torch.Tensor:
    """The loss computed the way the convention says, a scalar: for checking a translation on real tensors.

    x: (B, C, H, W) in the data's range; x_hat: the decoder's output in the same range (probabilities for the
    cross-entropies); mu, logvar: (B, latent) of the encoder's Gaussian."""
    if tuple(x.shape[1:]) != tuple(loss.image_shape) or x.shape != x_hat.shape:
        raise ValueError(f"x is {tuple(x.shape)} and x_hat {tuple(x_hat.shape)}, but the loss is for images of shape "
                         f"{tuple(loss.image_shape)}: expected both (B, {', '.join(map(str, loss.image_shape))}). "
                         "Fix image_shape or pass images of that shape.")
    if mu.shape != logvar.shape or mu.ndim != 2 or len(mu) != len(x):
        raise ValueError(f"mu {tuple(mu.shape)} and logvar {tuple(logvar.shape)} must both be (B, latent) with B = {len(x)}.")
    if loss.latent_dim is not None and mu.shape[1] != loss.latent_dim:
        raise ValueError(f"mu has {mu.shape[1]} latent dims but the loss says latent_dim={loss.latent_dim}.")
    if loss.batch_size is not None and len(x) != loss.batch_size:
        raise ValueError(f"x holds {len(x)} images but the loss says batch_size={loss.batch_size}: its weights or "
                         "reductions depend on the batch, so pass a batch of that size (or change batch_size).")
    if loss.reconstruction == "mse":
        errors = (x - x_hat) ** 2
    elif loss.reconstruction == "l1":
        errors = (x - x_hat).abs()
    elif loss.reconstruction == "bce":
        errors = torch.nn.functional.binary_cross_entropy(x_hat, x, reduction="none")
    else:
        errors = -torch.distributions.ContinuousBernoulli(probs=x_hat).log_prob(x)
    per_image = errors.flatten(1).sum(1) if loss.pixel_reduction == "sum" else errors.flatten(1).mean(1)
    recon = per_image.sum() if loss.batch_reduction == "sum" else per_image.mean()
    kl_per_image = gaussian_kl(mu, logvar) / (mu.shape[1] if loss.kl_dim_reduction == "mean" else 1)
    kl = kl_per_image.sum() if loss.kl_batch_reduction == "sum" else kl_per_image.mean()
    return (loss.recon_weight * loss.weight_factor(loss.recon_weight_scaling) * recon
            + loss.kl_weight * loss.weight_factor(loss.kl_weight_scaling) * kl)


@dataclass(frozen=True)
class Quote:
    """Lines quoted verbatim (leading indentation removed) from a file: a report of shared/seeds/ (repo "seeds") or a
    public repository at a commit."""

    repo: str
    path: str
    commit: str
    lines: tuple[str, ...]

    @property
    def citation(self) -> str:
        return f"{self.path} (report)" if self.repo == "seeds" else f"{self.repo}, {self.path} @ {self.commit[:7]}"


@dataclass(frozen=True)
class ConventionExample:
    """A loss from a report or a peer's code: quoted, read as a LossConvention (`reading` says what we had to assume),
    and translated. convention is None when the loss as written is no VAE objective; `problem` then says why."""

    label: str
    quotes: tuple[Quote, ...]
    reading: str
    convention: LossConvention | None
    problem: str | None = None

    @property
    def translation(self) -> Translation | None:
        return None if self.convention is None else translate(self.convention)

    def row(self) -> dict[str, str]:
        """One line of notebook 05's table: what it is, where from, and the translation's numbers."""
        cited = "; ".join(dict.fromkeys(quote.citation for quote in self.quotes))
        t = self.translation
        if t is None:
            return {"loss": self.label, "source": cited, "decoder": "none: not a VAE objective", "σ ([0, 1])": "–",
                    "grey levels": "–", "β": "–", "depends on": "–", "loss → nats/image": "–", "collapse": "–"}
        if t.collapse is not None:
            collapse = f"{t.collapse.verdict} (σ²/λ₁ = {t.collapse.ratio:.3g})"
        else:
            collapse = "not measured for Bernoulli decoders" if "bernoulli" in t.decoder else "unknown (no spectrum)"
        return {"loss": self.label, "source": cited, "decoder": t.decoder,
                "σ ([0, 1])": "–" if t.scale_unit is None else f"{t.scale_unit:.3g}",
                "grey levels": "–" if t.grey_levels is None else _number(t.grey_levels),
                "β": f"{t.beta:.4g}",
                "depends on": ", ".join(f"{size.replace('_', ' ')} (KL weight ∝ {size}^{power:g})"
                                        for size, power in t.scales_with.items()) or "–",
                "loss → nats/image": f"× {t.loss_to_nats:.4g}{_offset(t.nats_offset)}", "collapse": collapse}


def _example(label: str, quotes: tuple[Quote, ...], reading: str, **convention) -> ConventionExample:
    try:
        return ConventionExample(label, quotes, reading, LossConvention(**convention))
    except ValueError as error:
        return ConventionExample(label, quotes, reading, None, f"not a VAE objective: {error}")


_S0 = Quote("seeds", "000_8af6cf21620374b2.txt", "", (
    "I found out that reconstruction loss is usually 0.2 and remains the same during the process. The KL loss is usually "
    "a few hundred initially and then rapidly decreasing to 1 or 2.",))
_S0_FIX = Quote("seeds", "000_8af6cf21620374b2.txt", "", (
    "Threfore, I heavily penalized reconstruction loss, multiplying it by 6000.",))
_S1 = Quote("seeds", "001_acf54d83c46437e1.txt", "", (
    r"$$ L = ||x-\hat{x}||^2+\mathbb{KL}(\mathbf{N}(\mu_x, \sigma_x),\mathbf{N}(0, 1)) $$",
    r"$$ \text{MSE} = \frac{1}{n}\sum_{i=1}^n||x-\hat{x}||^2 $$",
    "where $n$ is the number of training data, and",
    r"$$ \text{KL Loss} = \sum_{i=1}^n(1+\log(\sigma_i^2)-\mu_i^2-\sigma_i^2) $$"))
_S3 = Quote("seeds", "003_67a2d54604a2d723.txt", "", (
    "use MSE Loss as the reconstruction loss",
    r"$$Loss = MSE_{loss} + 0.5 \times KL$$",
    "Since the input picture is 32X32",
    "map to the 64-dimensional potential feature space"))
_PYTORCH = Quote("pytorch/examples", "vae/main.py", "cd01f93000a6679e768700dd29e417a1e5fd10e5", (
    "transform=transforms.ToTensor()),",
    "BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction='sum')",
    "KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())",
    "return BCE + KLD",
    "loss.item() / len(data)))"))
_PYTORCH_CB = Quote("pytorch/examples", "vae/main.py", "0a8329cff339f4195f4c893780c18caaa51ee732", (
    "BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction='sum')",
    "NLNC = -torch.sum(cont_bern_log_norm(recon_x)) # negative log normalizing constant",
    "KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())",
    "return BCE + NLNC + KLD"))
_ANTIXK_LOSS = ("kld_weight = kwargs['M_N'] # Account for the minibatch samples from the dataset",
                "recons_loss =F.mse_loss(recons, input)",
                "kld_loss = torch.mean(-0.5 * torch.sum(1 + log_var - mu ** 2 - log_var.exp(), dim = 1), dim = 0)",
                "loss = recons_loss + kld_weight * kld_loss")
_ANTIXK_OLD = (
    Quote("AntixK/PyTorch-VAE", "models/vanilla_vae.py", "2946d7a0b9e31eb023ca60f8793656fe97cc198a", _ANTIXK_LOSS),
    Quote("AntixK/PyTorch-VAE", "experiment.py", "2946d7a0b9e31eb023ca60f8793656fe97cc198a", (
        "M_N = self.params['batch_size']/ self.num_train_imgs,",
        "SetRange = transforms.Lambda(lambda X: 2 * X - 1.)")),
    Quote("AntixK/PyTorch-VAE", "configs/vae.yaml", "2946d7a0b9e31eb023ca60f8793656fe97cc198a", (
        "latent_dim: 128", "img_size: 64", "batch_size: 144 # Better to have a square number")))
_ANTIXK_NEW = (
    Quote("AntixK/PyTorch-VAE", "models/vanilla_vae.py", "8bf7be5c83c35a2027aa1771e6f0fb1ad9425536", _ANTIXK_LOSS),
    Quote("AntixK/PyTorch-VAE", "experiment.py", "8bf7be5c83c35a2027aa1771e6f0fb1ad9425536", (
        "M_N = self.params['kld_weight'], #al_img.shape[0]/ self.num_train_imgs,",)),
    Quote("AntixK/PyTorch-VAE", "configs/vae.yaml", "a6896b944c918dd7030e7d795a8c13e5c6345ec7", (
        "latent_dim: 128", "train_batch_size: 64", "patch_size: 64", "kld_weight: 0.00025")),
    Quote("AntixK/PyTorch-VAE", "dataset.py", "af3f9a5376a737828c2b543bdc5b81ed61451d24", (
        "transforms.ToTensor(),])",)))
_KERAS = Quote("keras-team/keras-io", "examples/generative/vae.py", "cca4efba8e0b8514ae3817931696294039b3bfc9", (
    "latent_dim = 2",
    "reconstruction_loss = tf.reduce_mean(",
    "tf.reduce_sum(",
    "keras.losses.binary_crossentropy(data, reconstruction), axis=(1, 2)",
    "kl_loss = -0.5 * (1 + z_log_var - tf.square(z_mean) - tf.exp(z_log_var))",
    "kl_loss = tf.reduce_mean(tf.reduce_sum(kl_loss, axis=1))",
    "total_loss = reconstruction_loss + kl_loss",
    'mnist_digits = np.expand_dims(mnist_digits, -1).astype("float32") / 255',
    "vae.fit(mnist_digits, epochs=30, batch_size=128)"))
CELEBA_TRAIN_IMAGES = 162_770  # the official train split: 000001.jpg-162770.jpg (list_eval_partition.txt)
_CIFAR = {"image_shape": (3, 32, 32), "dataset": "cifar10"}
_MEAN_MSE = {"reconstruction": "mse", "pixel_reduction": "mean", "batch_reduction": "mean"}


def convention_table() -> list[ConventionExample]:
    """The losses of the reports (S0, S1, S3) and of the peers users copy (pytorch/examples, AntixK/PyTorch-VAE,
    the Keras example), each quoted from its source and translated; where a report leaves a reduction or the data's
    range open, one row per reading."""
    pixel_mean_reading = "F.mse_loss's default: a mean over pixels and batch; KL summed over dims, batch mean"
    return [
        _example("S0: mean-MSE + KL, data in [0, 1]", (_S0,), f"notebook 04's reading ({pixel_mean_reading})",
                 **_MEAN_MSE, **_CIFAR),
        _example("S0: mean-MSE + KL, data in [−1, 1]", (_S0,),
                 f"{pixel_mean_reading}; [−1, 1] is the range at which its 'usually 0.2' matches notebook 04's flat MSE",
                 **_MEAN_MSE, **_CIFAR, data_range="[-1, 1]"),
        _example("S0's fix: 6000 × mean-MSE + KL, data in [0, 1]", (_S0, _S0_FIX), pixel_mean_reading,
                 **_MEAN_MSE, **_CIFAR, recon_weight=6000.0),
        _example("S0's fix: 6000 × mean-MSE + KL, data in [−1, 1]", (_S0, _S0_FIX), pixel_mean_reading,
                 **_MEAN_MSE, **_CIFAR, recon_weight=6000.0, data_range="[-1, 1]"),
        _example("S1 as written: ‖x − x̂‖² + Σ(1 + log σ² − μ² − σ²)", (_S1,),
                 "squared error summed over pixels, batch mean; the KL line as written is −2 × KL (the −½ is missing)",
                 reconstruction="mse", pixel_reduction="sum", kl_weight=-2.0, image_shape=(1, 28, 28), dataset="mnist",
                 latent_dim=20),
        _example("S1 with the KL's −½ restored: ‖x − x̂‖² + KL", (_S1,),
                 "squared error summed over pixels, batch mean; KL summed over its 20 dims; data in [0, 1] (not stated)",
                 reconstruction="mse", pixel_reduction="sum", image_shape=(1, 28, 28), dataset="mnist", latent_dim=20),
        _example("S3: MSE + 0.5·KL, MSE a mean (PyTorch's default)", (_S3,),
                 "nn.MSELoss's default mean; KL summed over its 64 dims, batch mean; data in [0, 1] (not stated)",
                 **_MEAN_MSE, kl_weight=0.5, image_shape=(3, 32, 32), dataset="celeba32", latent_dim=64),
        _example("S3: MSE + 0.5·KL, MSE summed over pixels", (_S3,),
                 "MSE summed over the 3,072 values, batch mean; KL summed, batch mean; data in [0, 1] (not stated)",
                 reconstruction="mse", pixel_reduction="sum", kl_weight=0.5, image_shape=(3, 32, 32), dataset="celeba32",
                 latent_dim=64),
        _example("pytorch/examples: BCE + KLD, both summed", (_PYTORCH,),
                 "both terms summed over pixels/dims and over the batch of 128 (its default; it prints loss / len(data), "
                 "already per image); grey-level MNIST in [0, 1]",
                 reconstruction="bce", pixel_reduction="sum", batch_reduction="sum", kl_batch_reduction="sum",
                 batch_size=128, image_shape=(1, 28, 28), dataset="mnist", latent_dim=20),
        _example("pytorch/examples: BCE + NLNC + KLD (continuous Bernoulli)", (_PYTORCH_CB,),
                 "as the row above, with the continuous Bernoulli's log-normaliser: a density on [0, 1]",
                 reconstruction="continuous_bernoulli", pixel_reduction="sum", batch_reduction="sum",
                 kl_batch_reduction="sum", batch_size=128, image_shape=(1, 28, 28), dataset="mnist", latent_dim=20),
        _example("AntixK vanilla_vae (2946d7a): mean-MSE + (batch/N)·KL, data in [−1, 1]", _ANTIXK_OLD,
                 f"F.mse_loss mean over pixels and batch; KL summed over dims, batch mean, times M_N = 144 / "
                 f"{CELEBA_TRAIN_IMAGES:,} (CelebA's train split); SetRange maps the faces to [−1, 1]",
                 **_MEAN_MSE, kl_weight_scaling="batch_size/dataset_size", batch_size=144,
                 dataset_size=CELEBA_TRAIN_IMAGES, image_shape=(3, 64, 64), data_range="[-1, 1]", dataset="celeba64",
                 latent_dim=128),
        _example("AntixK vanilla_vae (8bf7be5): mean-MSE + 0.00025·KL, data in [0, 1]", _ANTIXK_NEW,
                 "as above with the fixed kld_weight of configs/vae.yaml; dataset.py's ToTensor() without SetRange: [0, 1]",
                 **_MEAN_MSE, kl_weight=0.00025, image_shape=(3, 64, 64), dataset="celeba64", latent_dim=128),
        _example("Keras example: summed BCE + KL, batch means", (_KERAS,),
                 "binary_crossentropy averages over the last axis (the one channel), reduce_sum over the 28×28 "
                 "pixels, batch mean; KL summed over the 2 dims, batch mean; grey-level MNIST / 255",
                 reconstruction="bce", pixel_reduction="sum", image_shape=(1, 28, 28), dataset="mnist", latent_dim=2),
    ]
