"""Autoencoders and VAEs behind one interface: `encode`, `decode` (logits), `sample`, `forward`.

Architectures are chosen by name in a `ModelSpec`, which is plain data and part of every checkpoint key.
"""
from __future__ import annotations

from dataclasses import MISSING, dataclass, fields

import torch
from torch import nn

ARCHITECTURES = ("mlp", "conv", "conv_pool", "s1_conv", "s1_conv_pool", "pytorch_example", "blur_v1", "blur_v2",
                 "faces_conv", "s3_conv")


@dataclass(frozen=True)
class ModelSpec:
    """What to build. image_shape: (C, H, W); latent_dim: size of the code z (ignored by the fully
    convolutional blur_v1/blur_v2, whose code is a feature map); variational: VAE instead of plain AE.
    width: channels of the first conv layer of "conv"/"conv_pool" (doubling at each halving: 32, 64, 128);
    extra_decoder_layers: dense layers of 256 units (with ReLU) put between z and the conv decoder of
    "conv"/"conv_pool" (the image-construction report's deeper decoder).
    batch_norm, kernel: BatchNorm after each conv of "conv"/"conv_pool" and the side of their kernels; None keeps
    the architecture's own (conv: BatchNorm, 4x4; conv_pool: none, 3x3), so one factor can change at a time."""

    architecture: str
    image_shape: tuple[int, int, int]
    latent_dim: int = 20
    variational: bool = False
    width: int = 32
    extra_decoder_layers: int = 0
    batch_norm: bool | None = None
    kernel: int | None = None

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"Unknown architecture {self.architecture!r}; choose one of {', '.join(ARCHITECTURES)}.")
        if self.latent_dim <= 0:
            raise ValueError(f"latent_dim must be a positive integer, got {self.latent_dim}")
        if self.width <= 0 or self.extra_decoder_layers < 0:
            raise ValueError(f"width must be positive and extra_decoder_layers >= 0, got {self.width}, {self.extra_decoder_layers}")
        if (self.batch_norm is not None or self.kernel is not None) and self.architecture not in ("conv", "conv_pool"):
            raise ValueError(f"batch_norm and kernel apply to conv and conv_pool only, not {self.architecture!r}")
        if self.kernel not in (None, 3, 4):
            raise ValueError(f"kernel must be 3 or 4 (or None: the architecture's own), got {self.kernel!r}")
        if len(self.image_shape) != 3 or min(self.image_shape) <= 0:
            raise ValueError(f"image_shape must be (C, H, W) with positive sizes, got {self.image_shape}")
        object.__setattr__(self, "image_shape", tuple(int(s) for s in self.image_shape))

    def to_dict(self) -> dict:
        """The spec as plain data, fields left at their default omitted (so adding a field keeps old keys)."""
        return non_default_fields(self)


def non_default_fields(instance) -> dict:
    """A dataclass instance as a dict of the fields that differ from their defaults (and all fields without one)."""
    return {f.name: value for f in fields(instance)
            if (value := getattr(instance, f.name)) != f.default or f.default is MISSING}


class Autoencoder(nn.Module):
    """A deterministic autoencoder. encode: x (B, C, H, W) in [0, 1] -> code (B, D); decode: code -> logits (B, C, H, W)."""

    variational = False

    def __init__(self, encoder: nn.Module, decoder: nn.Module, image_shape: tuple[int, int, int], latent_dim: int):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.image_shape, self.latent_dim = tuple(image_shape), latent_dim

    def check_input(self, x: torch.Tensor) -> None:
        """Raise a clear error unless x is a float (B, C, H, W) batch in [0, 1] of this model's image shape."""
        if not torch.is_floating_point(x) or x.ndim != 4 or tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(
                f"expected float images of shape (B, {', '.join(map(str, self.image_shape))}) in [0, 1], "
                f"got {x.dtype} {tuple(x.shape)}; convert uint8 with vae_utils.data.to_float")
        low, high = torch.aminmax(x)
        if low < 0 or high > 1:
            raise ValueError(f"expected pixel values in [0, 1], got [{low.item():.3g}, {high.item():.3g}]")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z: (B, D) -> logits (B, C, H, W); pixel means are sigmoid(logits)."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.encode(x)
        return {"z": z, "logits": self.decode(z)}

    def code(self, x: torch.Tensor) -> torch.Tensor:
        """The deterministic code of x, (B, D)."""
        return self.encode(x)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decode the code of x (the posterior mean for a VAE): (B, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.decode(self.code(x)))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode n codes drawn from N(0, I): (n, C, H, W) in [0, 1]. For a plain AE nothing makes this meaningful."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator).to(device)
        return torch.sigmoid(self.decode(z))


class VAE(Autoencoder):
    """A VAE with a diagonal Gaussian posterior q(z|x) = N(mu, diag(exp(logvar))) and prior N(0, I)."""

    variational = True

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, C, H, W) -> (mu, logvar), each (B, D)."""
        self.check_input(x)
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """z = mu + sigma * eps with sigma = exp(logvar / 2), eps ~ N(0, I): a sample that gradients flow through."""
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """One stochastic pass: z ~ q(z|x) by reparameterisation, logits of p(x|z)."""
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar)
        return {"z": z, "mu": mu, "logvar": logvar, "logits": self.decode(z)}

    def code(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean E_q[z|x], (B, D)."""
        return self.encode(x)[0]


def _halvings(size: int) -> int:
    """How often a side can be halved exactly while staying >= 4 (28 -> 2, 32 -> 3)."""
    count = 0
    while size % 2 == 0 and size // 2 >= 4 and count < 3:
        size //= 2
        count += 1
    return count


def _conv_body(spec: ModelSpec, code_size: int, pooled: bool) -> tuple[nn.Module, nn.Module]:
    """Conv encoder/decoder with a dense bottleneck. pooled: conv + max-pool down, upsample + conv up (the
    blur report's v1 style: 3x3 kernels, no BatchNorm); otherwise strided (transposed) convs (its v2 style: 4x4
    kernels with BatchNorm). spec.batch_norm and spec.kernel override either style's defaults."""
    c, h, w = spec.image_shape
    steps = min(_halvings(h), _halvings(w))
    if steps == 0:
        raise ValueError(f"conv architectures need even image sides of at least 8, got {h}x{w}")
    norm = (not pooled) if spec.batch_norm is None else spec.batch_norm
    kernel = (3 if pooled else 4) if spec.kernel is None else spec.kernel
    layer = lambda conv, width: [conv, *([nn.BatchNorm2d(width)] if norm else []), nn.ReLU()]
    widths = [spec.width, 2 * spec.width, 4 * spec.width][:steps]
    down, channels = [], c
    for width in widths:
        if pooled:
            down += [*layer(nn.Conv2d(channels, width, kernel, padding="same"), width), nn.MaxPool2d(2)]
        else:
            down += layer(nn.Conv2d(channels, width, kernel, stride=2, padding=1), width)
        channels = width
    fh, fw = h >> steps, w >> steps
    encoder = nn.Sequential(*down, nn.Flatten(), nn.Linear(channels * fh * fw, code_size))
    dense, features = [], spec.latent_dim
    for _ in range(spec.extra_decoder_layers):
        dense += [nn.Linear(features, 256), nn.ReLU()]
        features = 256
    up = [*dense, nn.Linear(features, channels * fh * fw), nn.ReLU(), nn.Unflatten(1, (channels, fh, fw))]
    for width in reversed([widths[0]] + widths[:-1]):
        if pooled:
            up += [nn.Upsample(scale_factor=2), *layer(nn.Conv2d(channels, width, kernel, padding="same"), width)]
        else:
            up += layer(nn.ConvTranspose2d(channels, width, kernel, stride=2, padding=1, output_padding=kernel % 2), width)
        channels = width
    decoder = nn.Sequential(*up, nn.Conv2d(channels, c, 3, padding=1))
    return encoder, decoder


def _mlp_body(spec: ModelSpec, code_size: int, hidden: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    c, h, w = spec.image_shape
    pixels = c * h * w
    layers: list[nn.Module] = [nn.Flatten()]
    width = pixels
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU()]
        width = size
    encoder = nn.Sequential(*layers, nn.Linear(width, code_size))
    layers, width = [], spec.latent_dim
    for size in reversed(hidden):
        layers += [nn.Linear(width, size), nn.ReLU()]
        width = size
    decoder = nn.Sequential(*layers, nn.Linear(width, pixels), nn.Unflatten(1, (c, h, w)))
    return encoder, decoder


def _s1_conv_body(spec: ModelSpec, code_size: int, pooled: bool = False) -> tuple[nn.Module, nn.Module]:
    """The MNIST report's (S1) Tables 1-2. Its tconv4 row (28x28x1 in, stride 2) cannot give 28x28x1 out; we take
    32 input channels and stride 1, as in the MATLAB example it follows. pooled: the report's failed variant, each
    stride-2 conv replaced by a stride-1 conv and 2x2 max-pooling."""
    c, h, w = spec.image_shape
    if h % 4 or w % 4:
        raise ValueError(f"{spec.architecture} needs image sides divisible by 4, got {h}x{w}")
    down = (lambda i, o: [nn.Conv2d(i, o, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]) if pooled else \
        (lambda i, o: [nn.Conv2d(i, o, 3, stride=2, padding=1), nn.ReLU()])
    encoder = nn.Sequential(*down(c, 32), *down(32, 64), nn.Flatten(), nn.Linear(64 * (h // 4) * (w // 4), code_size))
    decoder = nn.Sequential(
        nn.Unflatten(1, (spec.latent_dim, 1, 1)),
        nn.ConvTranspose2d(spec.latent_dim, 64, (h // 4, w // 4), stride=(h // 4, w // 4)), nn.ReLU(),
        nn.ConvTranspose2d(64, 64, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.ConvTranspose2d(32, c, 3, stride=1, padding=1))
    return encoder, decoder


def _blur_report_body(spec: ModelSpec, version: int) -> tuple[nn.Module, nn.Module, int]:
    """The blur report's (S4) fully convolutional AEs, input side scaled from 128 to ours (divisible by 16 / 8).
    v1: conv(s2) 64, pool, conv(s2) 32, pool | tconv(s2) 32, up, tconv(s2) 64, up, conv -> C.
    v2: conv(s2) 128, conv(s2) 128, conv(s2) 256, BN | tconv(s2) 128, tconv(s2) 64, tconv(s2) -> C.
    Returns (encoder, decoder, code size), the code being the flattened bottleneck feature map."""
    c, h, w = spec.image_shape
    factor = 16 if version == 1 else 8
    if h % factor or w % factor:
        raise ValueError(f"blur_v{version} needs image sides divisible by {factor}, got {h}x{w}")
    if version == 1:
        code_shape = (32, h // 16, w // 16)
        encoder = nn.Sequential(
            nn.Conv2d(c, 64, 3, stride=2, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 32, 3, stride=2, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
        decoder = nn.Sequential(
            nn.Unflatten(1, code_shape),
            nn.ConvTranspose2d(32, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),
            nn.ConvTranspose2d(32, 64, 3, stride=2, padding=1, output_padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),
            nn.Conv2d(64, c, 3, padding=1))
    else:
        code_shape = (256, h // 8, w // 8)
        encoder = nn.Sequential(
            nn.Conv2d(c, 128, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(128, 128, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(128, 256, 3, stride=2, padding=1), nn.ReLU(), nn.BatchNorm2d(256), nn.Flatten())
        decoder = nn.Sequential(
            nn.Unflatten(1, code_shape),
            nn.ConvTranspose2d(256, 128, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(128, 64, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(64, c, 3, stride=2, padding=1, output_padding=1))
    return encoder, decoder, code_shape[0] * code_shape[1] * code_shape[2]


FACES_WIDTHS = (32, 32, 64, 64)


def _faces_conv_body(spec: ModelSpec, code_size: int) -> tuple[nn.Module, nn.Module]:
    """A conv VAE body for faces: four stride-2 4x4 convs (32, 32, 64, 64 channels, BatchNorm, ReLU) take a 64x64 face
    to 64x4x4, a dense layer to the code; the decoder mirrors it with transposed convs (the shape of the beta-VAE
    papers' CelebA networks, small enough to train on a CPU)."""
    c, h, w = spec.image_shape
    if h % 16 or w % 16:
        raise ValueError(f"faces_conv needs image sides divisible by 16, got {h}x{w}")
    block = lambda i, o: [nn.Conv2d(i, o, 4, stride=2, padding=1), nn.BatchNorm2d(o), nn.ReLU()]
    up = lambda i, o: [nn.ConvTranspose2d(i, o, 4, stride=2, padding=1), nn.BatchNorm2d(o), nn.ReLU()]
    widths = (c,) + FACES_WIDTHS
    down = [layer for i, o in zip(widths[:-1], widths[1:]) for layer in block(i, o)]
    features = (FACES_WIDTHS[-1], h // 16, w // 16)
    encoder = nn.Sequential(*down, nn.Flatten(), nn.Linear(features[0] * features[1] * features[2], code_size))
    back = [layer for i, o in zip(widths[:1:-1], widths[-2:0:-1]) for layer in up(i, o)]
    decoder = nn.Sequential(nn.Linear(spec.latent_dim, features[0] * features[1] * features[2]), nn.ReLU(),
                            nn.Unflatten(1, features), *back,
                            nn.ConvTranspose2d(FACES_WIDTHS[0], c, 4, stride=2, padding=1))
    return encoder, decoder


def _s3_conv_body(spec: ModelSpec, code_size: int) -> tuple[nn.Module, nn.Module]:
    """The CelebA interpolation report's (S3) network: two 3x3 convs with ReLU, a 512-unit dense layer, then the code;
    the decoder reverses it. The report's convs are unpadded with stride 1, so each trims a pixel from every edge
    (32 -> 30 -> 28; 32x28x28 = 25,088 features into the dense layer: 12.8 million weights in one layer); ours are
    padded with stride 2, each halving the side (32 channels at 16x16, then 16 at 8x8: 1,024 features), which keeps
    the report's layer types and the sizes of its code path at a small fraction of the weights."""
    c, h, w = spec.image_shape
    if h % 4 or w % 4:
        raise ValueError(f"s3_conv needs image sides divisible by 4, got {h}x{w}")
    features = (16, h // 4, w // 4)
    flat = features[0] * features[1] * features[2]
    encoder = nn.Sequential(nn.Conv2d(c, 32, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(32, 16, 3, stride=2, padding=1),
                            nn.ReLU(), nn.Flatten(), nn.Linear(flat, 512), nn.ReLU(), nn.Linear(512, code_size))
    decoder = nn.Sequential(nn.Linear(spec.latent_dim, 512), nn.ReLU(), nn.Linear(512, flat), nn.ReLU(),
                            nn.Unflatten(1, features),
                            nn.ConvTranspose2d(16, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
                            nn.ConvTranspose2d(32, c, 3, stride=2, padding=1, output_padding=1))
    return encoder, decoder


def build_model(spec: ModelSpec) -> Autoencoder:
    """Build the AE or VAE a spec names (weights initialised from torch's current RNG state)."""
    latent = spec.latent_dim
    code_size = 2 * latent if spec.variational else latent
    if spec.architecture in ("blur_v1", "blur_v2"):
        if spec.variational:
            raise ValueError("blur_v1/blur_v2 are the blur report's plain autoencoders; use variational=False")
        encoder, decoder, latent = _blur_report_body(spec, int(spec.architecture[-1]))
    elif spec.architecture == "mlp":
        encoder, decoder = _mlp_body(spec, code_size, hidden=(256, 128))
    elif spec.architecture == "pytorch_example":
        encoder, decoder = _mlp_body(spec, code_size, hidden=(400,))
    elif spec.architecture == "faces_conv":
        encoder, decoder = _faces_conv_body(spec, code_size)
    elif spec.architecture == "s3_conv":
        encoder, decoder = _s3_conv_body(spec, code_size)
    elif spec.architecture in ("s1_conv", "s1_conv_pool"):
        encoder, decoder = _s1_conv_body(spec, code_size, pooled=spec.architecture == "s1_conv_pool")
    else:
        encoder, decoder = _conv_body(spec, code_size, pooled=spec.architecture == "conv_pool")
    model_class = VAE if spec.variational else Autoencoder
    return model_class(encoder, decoder, spec.image_shape, latent)


def build_classifier(image_shape: tuple[int, int, int], classes: int = 10) -> nn.Module:
    """The MNIST report's (S1) Table 4 CNN classifier: three 3x3 convs (8, 16, 32) each with BatchNorm and ReLU,
    2x2 max-pooling after the first two, and a dense layer to class logits. x (B, C, H, W) in [0, 1] -> (B, classes)."""
    c, h, w = image_shape
    if h % 4 or w % 4:
        raise ValueError(f"the S1 classifier needs image sides divisible by 4, got {h}x{w}")
    block = lambda i, o: [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU()]
    return nn.Sequential(*block(c, 8), nn.MaxPool2d(2), *block(8, 16), nn.MaxPool2d(2), *block(16, 32),
                         nn.Flatten(), nn.Linear(32 * (h // 4) * (w // 4), classes))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def has_convolutions(model: nn.Module) -> bool:
    """Whether the model has 2-D (transposed) convolutions, which run faster channels-last on CPU."""
    return any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in model.modules())


class ConditionalVAE(VAE):
    """A label-conditional VAE (the CVAE of Sohn et al. 2015 in its simplest form) on the S1 conv body: the encoder
    sees the image with its one-hot label as `classes` constant extra channels, q(z|x, y); the decoder sees z next to
    the one-hot label, p(x|z, y); the prior stays N(0, I). Every method takes the labels (B,) int64 beside x or z."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int = 20, classes: int = 10):
        c, h, w = image_shape
        if classes < 2:
            raise ValueError(f"a conditional VAE needs at least 2 classes, got {classes}")
        encoder, _ = _s1_conv_body(ModelSpec("s1_conv", (c + classes, h, w), latent_dim), 2 * latent_dim)
        _, decoder = _s1_conv_body(ModelSpec("s1_conv", (c, h, w), latent_dim + classes), 2 * latent_dim)
        super().__init__(encoder, decoder, image_shape, latent_dim)
        self.classes = classes

    def one_hot(self, labels: torch.Tensor) -> torch.Tensor:
        """labels (B,) in 0..classes-1 -> (B, classes) float, with a clear error for a label out of range."""
        labels = torch.as_tensor(labels, device=next(self.parameters()).device).long().flatten()
        if len(labels) and (labels.min() < 0 or labels.max() >= self.classes):
            raise ValueError(f"labels must be in 0..{self.classes - 1}, got {labels.min().item()}..{labels.max().item()}")
        return nn.functional.one_hot(labels, self.classes).float()

    def encode(self, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        """x (B, C, H, W) in [0, 1], labels (B,) -> (mu, logvar) of q(z|x, y), each (B, D)."""
        self.check_input(x)
        if len(labels) != len(x):
            raise ValueError(f"{len(x)} images but {len(labels)} labels")
        maps = self.one_hot(labels)[:, :, None, None].expand(-1, -1, *x.shape[2:])
        mu, logvar = self.encoder(torch.cat([x, maps.to(x.dtype)], 1)).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """z (B, D), labels (B,) -> logits (B, C, H, W) of p(x|z, y)."""
        return self.decoder(torch.cat([z, self.one_hot(labels).to(z.dtype)], 1))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:  # type: ignore[override]
        mu, logvar = self.encode(x, labels)
        z = self.reparameterize(mu, logvar)
        return {"z": z, "mu": mu, "logvar": logvar, "logits": self.decode(z, labels)}

    def code(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.encode(x, labels)[0]

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return torch.sigmoid(self.decode(self.code(x, labels), labels))

    @torch.no_grad()
    def sample(self, labels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:  # type: ignore[override]
        """One image per label (B,): decode z ~ N(0, I) with that label, (B, C, H, W) in [0, 1]."""
        z = torch.randn(len(labels), self.latent_dim, generator=generator).to(next(self.parameters()).device)
        return torch.sigmoid(self.decode(z, labels))
