"""Training throughput of the MNIST report's conv VAE (S1, Tables 1-2): `vae_utils.train.fit` vs bare PyTorch loops.

    python benchmarks/train_throughput.py                 # fit vs bare loops, images/s and the ratio

Every loop trains the same model on the same uint8 MNIST tensor (batch 128, Adam 1e-3, Bernoulli ELBO); each is
measured `--repeats` times, interleaved, and the best run counts. Results go to benchmarks/results.json and the
docs/performance.md's performance block. Notebook run times are measured by the runner itself (docs/performance.md's timing table).
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from vae_utils import data
from vae_utils.models import ModelSpec, build_model
from vae_utils.results import cpu_model, update_readme
from vae_utils.train import TrainConfig, fit

REPO = Path(__file__).resolve().parents[1]
SPEC = ModelSpec("s1_conv", (1, 28, 28), 20, variational=True)
BATCH = 128


def bare_loop(images: torch.Tensor, channels_last: bool, compile_model: bool = False) -> float:
    """Images/s of a plain loop: slice, scale, forward, BCE summed per image + closed-form KL, Adam step."""
    torch.manual_seed(0)
    model = build_model(SPEC)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    step_model = torch.compile(model) if compile_model else model
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.randperm(len(images))
    began = time.perf_counter()
    for start in range(0, len(images), BATCH):
        x = images[order[start:start + BATCH]].float() / 255
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        out = step_model(x)
        recon = F.binary_cross_entropy_with_logits(out["logits"], x, reduction="sum") / len(x)
        kl = 0.5 * (out["mu"].pow(2) + out["logvar"].exp() - 1 - out["logvar"]).sum() / len(x)
        optimizer.zero_grad(set_to_none=True)
        (recon + kl).backward()
        optimizer.step()
    return len(images) / (time.perf_counter() - began)


def through_fit(train: data.ImageTensors) -> float:
    """Images/s of vae_utils.train.fit (one epoch, no validation, progress bar off), wall time of the whole call."""
    with tempfile.TemporaryDirectory() as checkpoints:
        began = time.perf_counter()
        fit(SPEC, TrainConfig(epochs=1, batch_size=BATCH), train, name="bench", checkpoint_dir=checkpoints,
            retrain=True, progress=False)
        return len(train) / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=120, help="training steps per measurement (batch 128)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="also time a torch.compile bare loop")
    args = parser.parse_args()
    train = data.subset(data.load_mnist("train"), args.steps * BATCH, seed=0)
    loops = {"bare loop, default layout": lambda: bare_loop(train.images, False),
             "bare loop, channels-last": lambda: bare_loop(train.images, True),
             "vae_utils.train.fit": lambda: through_fit(train)}
    if args.compile:
        loops["bare loop, channels-last + torch.compile"] = lambda: bare_loop(train.images, True, compile_model=True)
    best = {name: 0.0 for name in loops}
    for _ in range(args.repeats):
        for name, loop in loops.items():
            best[name] = max(best[name], loop())
    fastest_bare = max(v for k, v in best.items() if k.startswith("bare"))
    report = {
        "images_per_second": {k: round(v) for k, v in best.items()},
        "fit_vs_fastest_bare": round(best["vae_utils.train.fit"] / fastest_bare, 3),
        "steps": args.steps, "batch_size": BATCH, "torch": torch.__version__, "threads": torch.get_num_threads(),
        "machine": f"{cpu_model()}, {torch.get_num_threads()} threads",
    }
    for name, value in report["images_per_second"].items():
        print(f"{name:45s} {value:7,d} images/s")
    print(f"fit / fastest bare loop: {report['fit_vs_fastest_bare']:.3f}")
    (REPO / "benchmarks" / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = ["| loop | images/s |", "|---|---|"] + [f"| {k} | {v:,} |" for k, v in report["images_per_second"].items()]
    lines.append(f"\n`fit` reaches **{report['fit_vs_fastest_bare']:.2f}×** the fastest bare loop "
                 f"(S1 conv VAE, batch {BATCH}, {args.steps} steps, best of {args.repeats}; {report['machine']}, torch {torch.__version__})."
                 + (" The torch.compile figure includes its compilation, which a run this short does not earn back." if args.compile else ""))
    update_readme(REPO / "docs" / "performance.md", "performance", "\n".join(lines))


if __name__ == "__main__":
    main()
