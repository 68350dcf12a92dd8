"""Log-likelihoods, the Gaussian KL and the (beta-)ELBO, always per sample and in nats.

Every term is summed over the pixels (or latent dimensions) of one sample first; only then may a batch be
reduced. This is what keeps reconstruction and KL on the same scale: a per-pixel *mean* next to a summed KL
weights the KL by the number of pixels and collapses the posterior. `training_loss` can reproduce that
mismatch, but only when asked by name (`recon_reduction="mean"`, with a `recon_weight`), for notebook 04.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LIKELIHOODS = ("bernoulli", "gaussian", "discretized_gaussian", "squared_error", "bernoulli_naive")
PIXEL_LEVELS = 256
REDUCTIONS = ("none", "mean", "sum")
RECON_REDUCTIONS = ("sum", "mean")


def bernoulli_log_likelihood(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x|z) for independent Bernoulli pixels with p = sigmoid(logits). x, logits: (B, ...); returns (B,) nats.

    For binarised x this is an exact log-probability; for grey levels in [0, 1] it is the BCE that
    pytorch/examples trains with, not a normalised density."""
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def naive_bernoulli_log_likelihood(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The same Bernoulli log-likelihood written the way many tutorials write it, for notebook 03b only:
    x log p + (1 - x) log(1 - p) with p = sigmoid(logits) computed first. In float32, sigmoid rounds to exactly 1
    for logits above about 17 and to 0 below about -103; log then gives -inf, and 0 * -inf (a pixel at exactly 0
    or 1) gives NaN. `bernoulli_log_likelihood` computes the same quantity from the logits and never does.
    x, logits: (B, ...); returns (B,) nats."""
    p = torch.sigmoid(logits)
    return (x * torch.log(p) + (1 - x) * torch.log(1 - p)).flatten(1).sum(1)


def gaussian_log_likelihood(mean: torch.Tensor, x: torch.Tensor, log_scale: torch.Tensor | float = 0.0) -> torch.Tensor:
    """log N(x; mean, sigma^2) summed over pixels with sigma = exp(log_scale) (a float or a tensor that broadcasts,
    e.g. a learned scalar). x, mean: (B, ...); returns (B,) nats."""
    log_scale = torch.as_tensor(log_scale, dtype=mean.dtype, device=mean.device)
    per_pixel = -0.5 * ((x - mean) * torch.exp(-log_scale)) ** 2 - log_scale - 0.5 * math.log(2 * math.pi)
    return per_pixel.expand_as(x).flatten(1).sum(1)


def discretized_gaussian_log_likelihood(mean: torch.Tensor, x: torch.Tensor, log_scale: torch.Tensor | float = 0.0,
                                       levels: int = PIXEL_LEVELS) -> torch.Tensor:
    """log P(x|z) for 8-bit pixels: a Gaussian N(mean, sigma^2) integrated over each pixel's bin, summed over pixels.

    x: (B, ...) in [0, 1] on the grid k / (levels - 1); mean: same shape; sigma = exp(log_scale). The bin of level k
    is [x - h, x + h] with h = 1 / (2 (levels - 1)), the first bin reaching down to -inf and the last up to +inf, so
    the probabilities of the `levels` values sum to 1: a real discrete distribution, whose -log is a code length.
        P(x) = Phi((x + h - mean) / sigma) - Phi((x - h - mean) / sigma).
    Returns (B,) nats (always <= 0)."""
    log_scale = torch.as_tensor(log_scale, dtype=mean.dtype, device=mean.device)
    half_bin = 0.5 / (levels - 1)
    scale = torch.exp(log_scale)
    upper = (x + half_bin - mean) / scale
    lower = (x - half_bin - mean) / scale
    # Phi(b) - Phi(a) loses every digit when both are near 1; by symmetry use Phi(-a) - Phi(-b) there.
    flip = (upper + lower) > 0
    high, low = torch.where(flip, -lower, upper), torch.where(flip, -upper, lower)
    log_high, log_low = torch.special.log_ndtr(high), torch.special.log_ndtr(low)
    inner = log_high + torch.log(-torch.expm1((log_low - log_high).clamp(max=-1e-12)))
    first, last = x < half_bin, x > 1 - half_bin
    per_pixel = torch.where(first, torch.special.log_ndtr(upper), torch.where(last, torch.special.log_ndtr(-lower), inner))
    return per_pixel.flatten(1).sum(1)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL( N(mu, diag(exp(logvar))) || N(0, I) ) in closed form, summed over latent dims. (B, D) -> (B,) nats.

    = 1/2 * sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2), always >= 0."""
    return kl_per_dim(mu, logvar).sum(1)


def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The KL of each latent dimension separately, (B, D) nats: where the information goes."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def log_normal_diag(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))), summed over the last dim: (..., D) -> (...) nats."""
    return (-0.5 * (math.log(2 * math.pi) + logvar + (z - mu).pow(2) / logvar.exp())).sum(-1)


def optimal_log_scale(mean: torch.Tensor, x: torch.Tensor, floor: float = -6.0) -> torch.Tensor:
    """The calibrated decoder of the sigma-VAE (Rybkin et al. 2021): the log sigma shared by all pixels that maximises
    the Gaussian likelihood of this batch in closed form, sigma^2 = mean squared error, floored at exp(floor).
    Gradients flow through it, so the objective becomes D/2 * log(MSE) + KL (+ const) per image."""
    return (0.5 * (x - mean).pow(2).mean().log()).clamp_min(floor)


def squared_error(mean: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Sum of squared errors over the pixels of each image, (B,). Not a log-density: it is the Gaussian
    -log p(x|z) with sigma^2 = 1/2 less its constant D/2 * log(pi), the plain "MSE loss" of many reports."""
    return (x - mean).pow(2).flatten(1).sum(1)



def gaussian_nll_to_mse(nats: float, pixels: int, log_scale: float = 0.0) -> float:
    """The mean squared error per pixel value behind a Gaussian -log p(x|z) of `nats` per image with fixed sigma =
    exp(log_scale) over `pixels` values: -log p = SSE / (2 sigma^2) + pixels * (log sigma + log(2 pi) / 2), so
    MSE = 2 sigma^2 (nats - pixels * (log sigma + log(2 pi) / 2)) / pixels. Removes the constant that hides
    differences between loss curves."""
    constant = pixels * (log_scale + 0.5 * math.log(2 * math.pi))
    return 2 * math.exp(2 * log_scale) * (nats - constant) / pixels

def log_likelihood(logits: torch.Tensor, x: torch.Tensor, likelihood: str, gaussian_log_scale: torch.Tensor | float = 0.0) -> torch.Tensor:
    """log p(x|z) per sample, (B,) nats, for a decoder that outputs logits; the Gaussian mean is sigmoid(logits).

    'gaussian' is a density on the real line (not a probability of 8-bit pixels); 'discretized_gaussian' is the
    probability of the 256 pixel levels (see discretized_gaussian_log_likelihood). gaussian_log_scale "optimal":
    sigma set to its closed-form optimum on this batch (`optimal_log_scale`), for either Gaussian.
    likelihood "squared_error" returns minus the summed squared error (see `squared_error`): a loss, not nats."""
    if likelihood == "bernoulli":
        return bernoulli_log_likelihood(logits, x)
    if likelihood == "squared_error":
        return -squared_error(torch.sigmoid(logits), x)
    if likelihood == "bernoulli_naive":
        return naive_bernoulli_log_likelihood(logits, x)
    if likelihood in ("gaussian", "discretized_gaussian"):
        mean = torch.sigmoid(logits)
        if isinstance(gaussian_log_scale, str):
            gaussian_log_scale = optimal_log_scale(mean, x) if gaussian_log_scale == "optimal" else float(gaussian_log_scale)
        if likelihood == "gaussian":
            return gaussian_log_likelihood(mean, x, gaussian_log_scale)
        return discretized_gaussian_log_likelihood(mean, x, gaussian_log_scale)
    raise ValueError(f"Unknown likelihood {likelihood!r}; choose one of {', '.join(LIKELIHOODS)}.")


def reduce(values: torch.Tensor, reduction: str) -> torch.Tensor:
    """Reduce per-sample values (B,) over the batch: 'none', 'mean' (per sample) or 'sum'."""
    if reduction == "none":
        return values
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    raise ValueError(f"Unknown reduction {reduction!r}; choose one of {', '.join(REDUCTIONS)}.")


def elbo_terms(output: dict[str, torch.Tensor], x: torch.Tensor, likelihood: str = "bernoulli", beta: float = 1.0,
               gaussian_log_scale: torch.Tensor | float = 0.0, reduction: str = "mean") -> dict[str, torch.Tensor]:
    """The training objective and its named parts, in nats.

    output: a model's forward() dict (logits, and mu/logvar for a VAE); x: (B, C, H, W) in [0, 1].
    Returns recon = -log p(x|z), kl = KL(q(z|x) || p(z)) (0 for a plain AE), loss = recon + beta * kl, and
    elbo = -(recon + kl) (the bound itself, whatever beta is), each per sample reduced over the batch by `reduction`.
    """
    recon = -log_likelihood(output["logits"], x, likelihood, gaussian_log_scale)
    kl = gaussian_kl(output["mu"], output["logvar"]) if "mu" in output else torch.zeros_like(recon)
    terms = {"recon": recon, "kl": kl, "loss": recon + beta * kl, "elbo": -(recon + kl)}
    return {name: reduce(value, reduction) for name, value in terms.items()}


def kl_weight(step: int, warmup_steps: int, beta: float = 1.0) -> float:
    """KL annealing (Bowman et al. 2016), linear: the KL's weight at optimiser step `step` (counted from 0) rises
    from 0 to `beta` over the first `warmup_steps` steps, then stays at beta. warmup_steps = 0: beta throughout."""
    if warmup_steps < 0 or step < 0:
        raise ValueError(f"step and warmup_steps must be >= 0, got {step} and {warmup_steps}")
    return beta if warmup_steps == 0 else beta * min(1.0, step / warmup_steps)


def free_bits_kl(kl_dims: torch.Tensor, free_bits: float) -> torch.Tensor:
    """The KL term with free bits (Kingma et al. 2016), one group per latent dimension: sum_j max(lambda, mean_b KL_bj).

    kl_dims: (B, D) nats per dimension (`kl_per_dim`); returns a scalar, nats per image. A dimension whose KL,
    averaged over the batch, is below lambda costs lambda and gets no gradient: the encoder may put up to lambda
    nats of information into it for free. free_bits = 0 gives the batch mean of the summed KL."""
    if free_bits < 0:
        raise ValueError(f"free_bits must be >= 0, got {free_bits}")
    return kl_dims.mean(0).clamp_min(free_bits).sum()


def training_loss(output: dict[str, torch.Tensor], x: torch.Tensor, likelihood: str = "bernoulli", beta: float = 1.0,
                  gaussian_log_scale: torch.Tensor | float = 0.0, recon_weight: float = 1.0,
                  recon_reduction: str = "sum", free_bits: float = 0.0) -> dict[str, torch.Tensor]:
    """The objective that training minimises, averaged over the batch, and the unweighted parts it is made of.

    loss = recon_weight * R + beta * K, with R = -log p(x|z) summed over the D pixel values of an image
    (recon_reduction "sum") or its per-pixel mean R/D ("mean": the mismatch of the image-construction report,
    a per-pixel mean next to a summed KL), and K the KL (with free bits when free_bits > 0).
    Returns loss (scalar) and recon, kl: batch means of the unweighted per-image terms (nats; for the
    "squared_error" likelihood, recon is the summed squared error).

    The equivalence that notebook 04 derives: with likelihood "squared_error", recon_reduction "mean" and weight w,
        loss = w * MSE + KL = sum (x - x_hat)^2 / (2 sigma^2) + KL  with  sigma^2 = D / (2 w),
    which is -ELBO of a Gaussian decoder with that fixed sigma, less the constant D * (log sigma + log(2 pi) / 2).
    w = 1 on CIFAR-10 (D = 3072) is sigma = 39 on data in [0, 1]; w = 6000 is sigma = 0.51.
    """
    if recon_reduction not in RECON_REDUCTIONS:
        raise ValueError(f"Unknown recon_reduction {recon_reduction!r}; choose one of {', '.join(RECON_REDUCTIONS)}.")
    recon = -log_likelihood(output["logits"], x, likelihood, gaussian_log_scale)
    weighted = recon if recon_reduction == "sum" else recon / x[0].numel()
    if recon_weight != 1.0:
        weighted = recon_weight * weighted
    if "mu" not in output:
        kl = torch.zeros_like(recon)
        return {"loss": weighted.mean(), "recon": recon.mean(), "kl": kl.mean()}
    kl_dims = kl_per_dim(output["mu"], output["logvar"])
    kl = kl_dims.sum(1)
    if free_bits > 0:
        loss = weighted.mean() + beta * free_bits_kl(kl_dims, free_bits)
    else:
        loss = (weighted + beta * kl).mean()  # the order elbo_terms uses: default configs train bit for bit as before
    return {"loss": loss, "recon": recon.mean(), "kl": kl.mean()}


@torch.no_grad()
def evaluate_elbo(model: torch.nn.Module, images: torch.Tensor, likelihood: str = "bernoulli", beta: float = 1.0,
                  gaussian_log_scale: torch.Tensor | float = 0.0, batch_size: int = 500, seed: int = 0) -> dict[str, float]:
    """Mean per-sample recon, kl, loss and elbo (nats) over uint8 images (N, C, H, W), in eval mode.

    The VAE's z is sampled once per image from a seeded generator, so the same weights give the same numbers."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    totals: dict[str, float] = {}
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        for batch in images.split(batch_size):
            x = batch.to(device).float().div_(255.0)
            for name, value in elbo_terms(model(x), x, likelihood, beta, gaussian_log_scale, reduction="sum").items():
                totals[name] = totals.get(name, 0.0) + value.item()
    model.train(was_training)
    return {name: total / len(images) for name, total in totals.items()}
