"""VAE-made training data: images decoded from perturbed codes of real ones (S1's recipe) or sampled from a
label-conditional VAE, labelled, and mixed with real data; the conditional VAE's training lives here too."""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .checkpoints import checkpoint_path, load_or_train
from .classify import ClassifierConfig, classifier_record, predictions
from .data import ImageTensors, iterate_batches, subset, to_float
from .losses import elbo_terms
from .models import VAE, ConditionalVAE, non_default_fields
from .train import TrainConfig, pick_device, prefers_channels_last, seed_everything


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Float images in [0, 1] -> uint8 in [0, 255] (rounded), the form every dataset here is kept in."""
    return images.detach().clamp(0, 1).mul(255).round().to(torch.uint8).cpu()


@torch.no_grad()
def perturbed_decodes(model: VAE, images: torch.Tensor, noise_scale: float, portion: float = 0.5, seed: int = 0,
                      batch_size: int = 500) -> torch.Tensor:
    """S1's recipe for new images: encode uint8 images (N, C, H, W) to their posterior means mu (N, D), add
    Gaussian noise of standard deviation `noise_scale` (in prior units: the prior is N(0, I)) to a random `portion`
    of each code's coordinates, and decode the mean image: (N, C, H, W) floats in [0, 1].
    noise_scale 0 gives the plain reconstructions; the noise and the coordinates are drawn from `seed`."""
    if noise_scale < 0 or not 0 <= portion <= 1:
        raise ValueError(f"noise_scale must be >= 0 and portion in [0, 1], got {noise_scale!r}, {portion!r}")
    if not model.variational:
        raise ValueError("perturbed_decodes needs a VAE (a model whose encode gives mu and logvar)")
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    out = []
    for batch in iterate_batches(images, batch_size):
        mu = model.code(to_float(batch).to(device))
        chosen = torch.rand(mu.shape, generator=generator) < portion
        noise = torch.randn(mu.shape, generator=generator) * chosen
        out.append(torch.sigmoid(model.decode(mu + noise_scale * noise.to(device))).cpu())
    return torch.cat(out) if out else torch.zeros(0, *images.shape[1:])


def perturbed_description(vae_name: str, source: ImageTensors, noise_scale: float, portion: float, seed: int) -> dict:
    """The description (cache key part) of `perturbed_dataset`'s output, known without decoding anything."""
    return {"generated_by": vae_name, "recipe": "perturbed_codes", "noise_scale": float(noise_scale),
            "portion": float(portion), "seed": seed, "source": source.description, "size": len(source)}


def perturbed_dataset(model: VAE, vae_name: str, source: ImageTensors, noise_scale: float, portion: float = 0.5,
                      seed: int = 0) -> ImageTensors:
    """One new image per source image by `perturbed_decodes`, labelled with its source image's label, as uint8.
    vae_name: which VAE made them (a checkpoint file name), kept in the description."""
    images = to_uint8(perturbed_decodes(model, source.images, noise_scale, portion, seed))
    return ImageTensors(images, source.labels.clone(), perturbed_description(vae_name, source, noise_scale, portion, seed))


def conditional_description(vae_name: str, labels_from: ImageTensors, seed: int) -> dict:
    """The description of `conditional_dataset`'s output, known without sampling."""
    return {"generated_by": vae_name, "recipe": "conditional_prior_samples", "seed": seed,
            "labels_from": labels_from.description, "size": len(labels_from)}


@torch.no_grad()
def conditional_dataset(model: ConditionalVAE, vae_name: str, labels_from: ImageTensors, seed: int = 0,
                        batch_size: int = 500) -> ImageTensors:
    """One prior sample of the conditional VAE per image of `labels_from`, with that image's label (so the class
    balance is the source's): z ~ N(0, I) from `seed`, decoded with the label; uint8."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    images = torch.cat([model.sample(labels, generator=generator).cpu() for labels in labels_from.labels.split(batch_size)])
    return ImageTensors(to_uint8(images), labels_from.labels.clone(), conditional_description(vae_name, labels_from, seed))


def combine_description(*descriptions: dict) -> dict:
    """The description of `combine`'s output from its parts' descriptions."""
    return {"combined": list(descriptions), "size": sum(d.get("size", 0) for d in descriptions)}


def combine(*datasets: ImageTensors) -> ImageTensors:
    """The datasets concatenated (e.g. real images and generated ones), their descriptions listed in order."""
    if not datasets:
        raise ValueError("give at least one dataset to combine")
    shapes = {d.image_shape for d in datasets}
    if len(shapes) > 1:
        raise ValueError(f"cannot combine datasets of different image shapes: {sorted(shapes)}")
    data = ImageTensors(torch.cat([d.images for d in datasets]), torch.cat([d.labels for d in datasets]),
                        combine_description(*(d.description for d in datasets)))
    if data.description["size"] != len(data):  # a part whose description lacks its size
        data.description["size"] = len(data)
    return data


@dataclass
class TrainedConditionalVAE:
    """A trained conditional VAE with its per-epoch history (nats per image), training seconds and where it is stored."""

    model: ConditionalVAE
    config: TrainConfig
    history: dict[str, list[float]]
    train_seconds: float
    from_cache: bool
    path: Path


def fit_conditional_vae(config: TrainConfig, train: ImageTensors, latent_dim: int = 20, *, name: str,
                        checkpoint_dir: str | Path = "checkpoints", retrain: bool = False,
                        device: str | torch.device | None = None, progress: bool = True) -> TrainedConditionalVAE:
    """Train a `ConditionalVAE` on labelled uint8 images with config's likelihood, beta, epochs, batch size and
    learning rate (Adam), or load the checkpoint trained with the same config and data (fp16 weights, like `fit`).
    Unlike `fit` it does not resume an interrupted run: an interruption costs the run."""
    if config.gaussian_log_scale is None:
        raise ValueError("fit_conditional_vae needs a fixed gaussian_log_scale (a learned one is not supported)")
    device = pick_device(device)
    classes = int(train.labels.max()) + 1
    key = {"model": {"conditional_vae": "s1_conv", "image_shape": list(train.image_shape), "latent_dim": latent_dim,
                     "classes": classes}, "train": non_default_fields(config), "data": train.description}
    path = checkpoint_path(checkpoint_dir, name, key)
    seed_everything(config.seed)
    model = ConditionalVAE(train.image_shape, latent_dim, classes)

    def train_model() -> tuple[dict[str, list[float]], float]:
        model.to(device)
        channels_last = prefers_channels_last(model, device)
        if channels_last:
            model.to(memory_format=torch.channels_last)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
        shuffle = torch.Generator().manual_seed(config.seed)
        history: dict[str, list[float]] = {}
        seconds = 0.0
        steps_per_epoch = -(-len(train) // config.batch_size)
        bar = tqdm(total=config.epochs * steps_per_epoch, desc=name, disable=not progress, mininterval=1.0)
        for epoch in range(config.epochs):
            model.train()
            began = time.perf_counter()
            sums = torch.zeros(3, device=device)
            for batch in iterate_batches(torch.arange(len(train)), config.batch_size, shuffle=True, generator=shuffle):
                x = to_float(train.images[batch]).to(device)
                if config.binarize:
                    x = torch.bernoulli(x)
                if channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                terms = elbo_terms(model(x, train.labels[batch]), x, config.likelihood, config.beta, config.gaussian_log_scale)
                if not torch.isfinite(terms["loss"]):
                    raise FloatingPointError(f"{name}: the loss became {terms['loss'].item()} in epoch {epoch + 1}; "
                                             f"try a lower learning_rate (now {config.learning_rate})")
                optimizer.zero_grad(set_to_none=True)
                terms["loss"].backward()
                optimizer.step()
                sums += torch.stack([terms["loss"], terms["recon"], terms["kl"]]).detach() * len(batch)
                bar.update(1)
            seconds += time.perf_counter() - began
            for part, value in zip(("loss", "recon", "kl"), (sums / len(train)).tolist()):
                history.setdefault(f"train_{part}", []).append(value)
            bar.set_postfix(loss=f"{history['train_loss'][-1]:.2f}")
        bar.close()
        return history, seconds

    history, seconds, from_cache = load_or_train(path, key, model, train_model, retrain)
    return TrainedConditionalVAE(model.to(device).eval(), config, history, seconds, from_cache, path)


@torch.no_grad()
def label_agreement(classifier: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> dict:
    """How often a classifier trained on real data gives generated images (N, C, H, W) the label they were made
    with: {"accuracy", "per_class": [...], "stderr"} (binomial standard error of the accuracy)."""
    agree = (predictions(classifier, images) == labels).float()
    accuracy = agree.mean().item()
    return {"accuracy": accuracy, "stderr": (accuracy * (1 - accuracy) / max(1, len(agree) - 1)) ** 0.5,
            "per_class": [agree[labels == c].mean().item() if (labels == c).any() else float("nan")
                          for c in range(int(labels.max()) + 1)]}


# Notebook 07's training sets for the classifier, by name: what each adds to n real images of half B.
GRID_METHODS = {"real only": "real", "real + real (half A)": "real_real", "real + VAE (S1)": "real_vae",
                "real + affine": "real_affine", "VAE only": "vae_only", "real + CVAE": "real_cvae"}
AFFINE = {"affine_degrees": 10.0, "affine_translate": 0.1}  # classic augmentation: ±10° rotations, ±10 % shifts


@dataclass
class AugmentationGrid:
    """Classifier runs on real and generated training sets, each cached as JSON by its config and data (only the
    test numbers are kept). For n real images and seed s: the real images are `subset(half_b, n, s)`; the generated
    ones come from the same n half-A images `subset(half_a, n, s)` (their perturbed codes, or conditional samples with
    their labels), and "real + real (half A)" adds those n half-A images themselves — the control that asks whether a
    generated image is worth as much as the real one it was made from."""

    half_a: ImageTensors
    half_b: ImageTensors
    test: ImageTensors
    vae: object  # a trained VAE run (.model, .path): `train.fit`'s result
    cvae: object  # a trained conditional VAE run (.model, .path)
    portion: float
    checkpoint_dir: str | Path = "checkpoints"
    retrain: bool = False

    def training_set(self, method: str, n: int, seed: int, noise_scale: float):
        """(description, maker) of a method's training set: the cache key is known before anything is generated."""
        if method not in GRID_METHODS:
            raise ValueError(f"Unknown method {method!r}; choose one of {', '.join(GRID_METHODS)}.")
        real, sources = subset(self.half_b, n, seed), subset(self.half_a, n, seed)
        if method in ("real only", "real + affine"):
            return real.description, lambda: real
        if method == "real + real (half A)":
            return combine_description(real.description, sources.description), lambda: combine(real, sources)
        if method == "real + CVAE":
            made = conditional_description(self.cvae.path.name, sources, seed)
            return combine_description(real.description, made), lambda: combine(
                real, conditional_dataset(self.cvae.model, self.cvae.path.name, sources, seed))
        made = perturbed_description(self.vae.path.name, sources, noise_scale, self.portion, seed)
        generate = lambda: perturbed_dataset(self.vae.model, self.vae.path.name, sources, noise_scale, self.portion, seed)
        if method == "VAE only":
            return made, generate
        return combine_description(real.description, made), lambda: combine(real, generate())

    def record(self, method: str, n: int, seed: int, config: ClassifierConfig, noise_scale: float = 1.0,
               prefix: str = "07_grid") -> dict:
        """The classifier trained on a method's set for `config` (its seed replaced by `seed`): {"test_accuracy",
        "per_class", "train_images", "train_seconds", "history"}, from the cache when it was run before."""
        description, make = self.training_set(method, n, seed, noise_scale)
        config = replace(config, seed=seed, **(AFFINE if method == "real + affine" else {}))
        noise = f"_noise{noise_scale:g}" if method in ("real + VAE (S1)", "VAE only") else ""
        return classifier_record(config, make, description, self.test, name=f"{prefix}_{GRID_METHODS[method]}_n{n}{noise}_s{seed}",
                                 checkpoint_dir=self.checkpoint_dir, retrain=self.retrain, progress=False)
