"""One look for every figure, and figures that save themselves under `figures/<notebook>/` when shown."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter, ScalarFormatter
import numpy as np
import torch
from torchvision.utils import make_grid

STYLE = {
    "figure.dpi": 100, "savefig.dpi": 120, "savefig.bbox": "tight", "font.size": 10, "axes.titlesize": 11,
    "axes.titleweight": "bold", "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
    "axes.spines.right": False, "image.cmap": "gray", "legend.frameon": False,
}
_figure_dir: Path | None = None


def setup(notebook: str, artifacts_dir: str | Path = ".") -> Path:
    """Apply the house style and send this notebook's figures to `<artifacts_dir>/figures/<notebook>/`."""
    global _figure_dir
    plt.rcParams.update(STYLE)
    _figure_dir = Path(artifacts_dir) / "figures" / notebook
    _figure_dir.mkdir(parents=True, exist_ok=True)
    return _figure_dir


def finish(fig: plt.Figure, name: str | None) -> None:
    """Save `fig` as `<figure dir>/<name>.png` (when a name is given and `setup` was called), then show it."""
    if name is not None and _figure_dir is not None:
        fig.savefig(_figure_dir / f"{name}.png")
    plt.show()
    plt.close(fig)  # nothing is returned: a Figure left as a cell's value would be shown a second time


def log_x_axis(ax: plt.Axes, x: Sequence[float]) -> None:
    """A logarithmic x axis labelled at every measured x (a plain log axis labels only the powers of ten)."""
    ax.set_xscale("log")
    ax.set_xticks(list(x), [f"{v:,.0f}" if v >= 1 and float(v).is_integer() else f"{v:g}" for v in x])
    ax.xaxis.set_minor_locator(plt.NullLocator())
    if len(x) > 5:  # neighbours on a log axis can sit closer than their labels are wide
        ax.tick_params(axis="x", labelrotation=45)


def _as_grid_image(images: torch.Tensor, nrow: int) -> np.ndarray:
    images = images.detach().float().cpu()
    if images.max() > 1.0:
        images = images / 255.0
    grid = make_grid(images, nrow=nrow, padding=1, pad_value=1.0)
    return grid.permute(1, 2, 0).numpy()


def image_rows(rows: Mapping[str, torch.Tensor], title: str, name: str | None = None, scale: float = 0.9) -> None:
    """Rows of images, one labelled row per entry (e.g. originals, then each model's reconstructions).

    rows: label -> (N, C, H, W) images in [0, 1] (or uint8), the same N in every row."""
    finish(_image_rows_figure(rows, title, scale), name)


def _image_rows_figure(rows: Mapping[str, torch.Tensor], title: str, scale: float = 0.9) -> None:
    count = max(len(v) for v in rows.values())
    fig, axes = plt.subplots(len(rows), 1, figsize=(scale * count, scale * 1.1 * len(rows) + 0.4), squeeze=False,
                             layout="constrained")
    for ax, (label, images) in zip(axes[:, 0], rows.items()):
        ax.imshow(_as_grid_image(images, nrow=count), vmin=0, vmax=1)
        ax.set_ylabel(label, rotation=0, ha="right", va="center")
        ax.set_xticks([]), ax.set_yticks([]), ax.grid(False)
    fig.suptitle(title)
    return fig


def image_table(rows: Mapping[str, torch.Tensor], columns: Sequence[str], title: str, name: str | None = None,
                size: float = 1.1) -> None:
    """A table of images with every row and column labelled: rows maps a row label (e.g. a setting) to (K, C, H, W)
    images in [0, 1], one per column label in `columns` (K of them). Each image is drawn `size` inches wide (1.1 in is
    132 px at the saved 120 dpi, so a 32-px CIFAR image is shown at least 4x, without smoothing)."""
    fig, axes = plt.subplots(len(rows), len(columns), figsize=(size * len(columns) + 1.6, size * len(rows) + 0.6),
                             squeeze=False, layout="constrained")
    for r, (label, images) in enumerate(rows.items()):
        if len(images) != len(columns):
            raise ValueError(f"row {label!r} has {len(images)} images for {len(columns)} column labels")
        for c, image in enumerate(images):
            ax = axes[r, c]
            ax.imshow(image.detach().float().cpu().clamp(0, 1).permute(1, 2, 0).squeeze(-1).numpy(),
                      vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([]), ax.grid(False)
            ax.spines[:].set_visible(False)
            if r == 0:
                ax.set_title(columns[c], fontsize=9, fontweight="normal")
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle(title)
    finish(fig, name)


def seed_band_chart(x: Sequence[float], series: Mapping[str, Sequence[Sequence[float]]], title: str, xlabel: str,
                    ylabel: str, name: str | None = None, logy: bool = False) -> None:
    """One line per series at the mean over seeds, with a band over the range of the seeds: series maps a label to
    per-seed sequences (seeds x len(x)). The legend sits beside the axes, off the lines."""
    fig, ax = plt.subplots(figsize=(7.0, 3.8), layout="constrained")
    for label, per_seed in series.items():
        values = np.asarray(per_seed, dtype=float)
        (line,) = ax.plot(list(x), values.mean(0), marker="o", ms=3, label=f"{label} (mean of {len(values)} seeds)")
        ax.fill_between(list(x), values.min(0), values.max(0), color=line.get_color(), alpha=0.25, lw=0)
    if logy:
        ax.set_yscale("log")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="band: range over seeds", title_fontsize=8)
    finish(fig, name)


def image_grid(images: torch.Tensor, title: str, name: str | None = None, nrow: int = 10, size: float = 6.0) -> None:
    """A square-ish grid of images (N, C, H, W) in [0, 1] (or uint8)."""
    fig, ax = plt.subplots(figsize=(size, size * (-(-len(images) // nrow)) / nrow))
    ax.imshow(_as_grid_image(images, nrow), vmin=0, vmax=1)
    ax.set_title(title), ax.set_axis_off()
    finish(fig, name)


def loss_curves(histories: Mapping[str, Mapping[str, Sequence[float]]], key: str, title: str,
                ylabel: str = "nats per image", name: str | None = None, log: bool = False, first_epoch: int = 1) -> None:
    """One curve per run of history[key] against epoch (with the held-out 'val_' curve dashed when present), from
    `first_epoch` on (2 leaves out a first epoch whose average, taken while the weights are still random, would
    flatten the rest of the curve)."""
    fig, ax = plt.subplots(figsize=(8.5, 3.8), layout="constrained")
    for label, history in histories.items():
        skip = max(0, min(first_epoch - 1, len(history[f"train_{key}"]) - 1))  # a one-epoch run (smoke) keeps its one point
        epochs = np.arange(1, len(history[f"train_{key}"]) + 1)[skip:]
        (line,) = ax.plot(epochs, history[f"train_{key}"][skip:], marker="o", ms=3, label=f"{label} (train)")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"][skip:], ls="--", color=line.get_color(), label=f"{label} (held-out)")
    ax.set(title=title, xlabel="epoch", ylabel=ylabel)
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))  # beside the axes, never over the curves
    finish(fig, name)


def latent_scatter(codes: torch.Tensor, labels: torch.Tensor, title: str, name: str | None = None,
                   class_names: Sequence[str] | None = None) -> None:
    """2-D codes (N, 2) as points coloured by label."""
    fig, ax = plt.subplots(figsize=(6, 5))
    points = ax.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=3, alpha=0.6)
    handles = points.legend_elements()[0]
    ax.legend(handles, class_names or [str(i) for i in range(len(handles))], title="label", fontsize=8,
              loc="center left", bbox_to_anchor=(1, 0.5))
    ax.set(title=title, xlabel="$z_1$", ylabel="$z_2$")
    finish(fig, name)


def latent_manifold(decode: Callable[[torch.Tensor], torch.Tensor], extent: tuple[float, float, float, float],
                    title: str, name: str | None = None, steps: int = 15) -> None:
    """Decode a steps x steps grid of 2-D codes over extent = (z1_min, z1_max, z2_min, z2_max); decode: (M, 2) -> images in [0, 1]."""
    z1 = torch.linspace(extent[0], extent[1], steps)
    z2 = torch.linspace(extent[3], extent[2], steps)  # top row = largest z2, as on the scatter's axes
    grid = torch.stack(torch.meshgrid(z2, z1, indexing="ij")[::-1], dim=-1).view(-1, 2)
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.imshow(_as_grid_image(decode(grid), nrow=steps), extent=extent, vmin=0, vmax=1, aspect="auto")
    ax.set(title=title, xlabel="$z_1$", ylabel="$z_2$")
    ax.grid(False)
    finish(fig, name)


def bar_chart(values: Mapping[str, float], title: str, ylabel: str, name: str | None = None,
              reference: float | None = None, reference_label: str = "") -> None:
    """One bar per entry, with an optional horizontal reference line (e.g. the value for real images)."""
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(values)), 3.6))
    ax.bar(list(values), list(values.values()), color="tab:blue")
    if reference is not None:
        ax.axhline(reference, color="tab:red", ls="--", label=reference_label)
        ax.legend()
    ax.set(title=title, ylabel=ylabel)
    ax.tick_params(axis="x", rotation=30)
    finish(fig, name)


def line_chart(x: Sequence[float], series: Mapping[str, Sequence[float]], title: str, xlabel: str, ylabel: str,
               name: str | None = None, logx: bool = False, references: Mapping[str, float] | None = None,
               logy: bool = False, markers: Mapping[str, float] | None = None) -> None:
    """One line per series against x, with optional labelled horizontal reference lines (e.g. published values)
    and labelled vertical markers at given x (e.g. a report's setting on a sweep)."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for label, values in series.items():
        ax.plot(list(x)[:len(values)], values, marker="o", ms=3, label=label)
    for (label, value), style in zip((references or {}).items(), ("--", ":", "-.")):
        ax.axhline(value, color="gray", ls=style, label=label)
    for (label, value), style in zip((markers or {}).items(), ("--", ":", "-.", (0, (1, 3)))):
        ax.axvline(value, color="tab:red", ls=style, label=label)
    if logx:
        log_x_axis(ax, x)
    if logy:
        ax.set_yscale("log")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the axes, off the lines
    finish(fig, name)


def training_terms(histories: Mapping[str, Mapping[str, Sequence[float]]], recon_scale: float, recon_label: str,
                   title: str, name: str | None = None) -> None:
    """Reconstruction and KL during training, side by side: each optimiser step of the first epoch (thin line, from
    the history's first_epoch_* lists), then the mean of every epoch (dots). recon is multiplied by recon_scale
    (e.g. 1/D for a per-pixel mean); the KL axis is logarithmic."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    for label, history in histories.items():
        steps = len(history["first_epoch_kl"])
        step_x = (np.arange(steps) + 1) / steps
        epoch_x = np.arange(1, len(history["train_kl"]) + 1)
        for ax, key, scale in ((axes[0], "recon", recon_scale), (axes[1], "kl", 1.0)):
            (line,) = ax.plot(step_x, np.asarray(history[f"first_epoch_{key}"]) * scale, lw=0.8, alpha=0.7)
            ax.plot(epoch_x, np.asarray(history[f"train_{key}"]) * scale, marker="o", ms=3, color=line.get_color(), label=label)
    axes[0].set(title="reconstruction term", xlabel="epoch (first epoch: every step)", ylabel=recon_label)
    axes[1].set(title="KL(q(z|x) ‖ p(z))", xlabel="epoch (first epoch: every step)", ylabel="nats per image", yscale="log")
    fig.legend(*axes[1].get_legend_handles_labels(), fontsize=8, loc="outside right upper")  # off the data
    fig.suptitle(title)
    finish(fig, name)


def interpolation_strip(rows: Mapping[str, torch.Tensor], alphas: Sequence[float], title: str,
                        name: str | None = None) -> None:
    """Rows of images along a path from one image (alpha = 0) to another (alpha = 1), labelled by alpha.

    rows: label -> (len(alphas), C, H, W) images in [0, 1]."""
    fig = _image_rows_figure(rows, title)
    axes = fig.axes
    width = axes[-1].get_xlim()[1] / len(alphas)
    axes[-1].set_xticks([width * (i + 0.5) for i in range(len(alphas))], [f"{a:.2f}" for a in alphas])
    axes[-1].set_xlabel("α (0: first image, 1: second)")
    finish(fig, name)


def grouped_bar_chart(groups: Mapping[str, Mapping[str, float]], title: str, ylabel: str, name: str | None = None,
                      reference: float | None = None, reference_label: str = "",
                      errors: Mapping[str, Mapping[str, float]] | None = None, log_y: bool = False) -> None:
    """Bars in groups: groups maps a group label (e.g. an image set) to {series label: value} (e.g. one value per
    measure), every group with the same series; optional error bars (errors: the same shape, e.g. std over seeds),
    an optional horizontal reference line, and a logarithmic y axis (log_y) for values spanning decades. The legend
    sits beside the axes, off the bars."""
    series = list(next(iter(groups.values())))
    width = 0.8 / len(series)
    positions = np.arange(len(groups))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(groups)), 3.8))
    for i, label in enumerate(series):
        ax.bar(positions + (i - (len(series) - 1) / 2) * width, [values[label] for values in groups.values()], width, label=label,
               yerr=None if errors is None else [errors[group][label] for group in groups], capsize=3)
    if reference is not None:
        ax.axhline(reference, color="tab:red", ls="--", label=reference_label)
    ax.set_xticks(positions, list(groups), rotation=30, ha="right")
    ax.set(title=title, ylabel=ylabel)
    if log_y:
        ax.set_yscale("log")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    finish(fig, name)


def sweep_panels(x: Sequence[float], panels: Mapping[str, Mapping[str, Sequence[float]]], xlabel: str, title: str,
                 name: str | None = None, markers: Mapping[str, float] | None = None, logx: bool = True,
                 ylabels: Mapping[str, str] | None = None, log_panels: Sequence[str] = (),
                 errors: Mapping[str, Mapping[str, Sequence[float]]] | None = None) -> None:
    """One small panel per measurement against a swept setting (e.g. the reconstruction weight), one line per
    series (e.g. dataset) in each, with labelled vertical markers (e.g. the reports' settings) in every panel.
    errors: the same shape as panels (e.g. the standard deviation over seeds), drawn as error bars."""
    columns = min(3, len(panels))
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False, layout="constrained")
    for ax, (panel, series) in zip(axes.flat, panels.items()):
        for label, values in series.items():
            spread = (errors or {}).get(panel, {}).get(label)
            ax.errorbar(list(x)[:len(values)], values, yerr=spread, marker="o", ms=3, capsize=2, label=label)
        for (label, value), style in zip((markers or {}).items(), ("--", ":", "-.", (0, (1, 3)))):
            ax.axvline(value, color="tab:red", ls=style, lw=1, label=label)
        ax.set(title=panel, xlabel=xlabel, ylabel=(ylabels or {}).get(panel, ""))
        if logx:
            log_x_axis(ax, x)
        if panel in log_panels:
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(ScalarFormatter())
            ax.yaxis.set_minor_formatter(ScalarFormatter())
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.legend(*axes.flat[0].get_legend_handles_labels(), fontsize=7, loc="outside right upper")
    fig.suptitle(title)
    finish(fig, name)


def rate_distortion(points: Mapping[str, Mapping[str, Sequence[tuple[float, float]]]], title: str,
                    name: str | None = None) -> None:
    """Rate (KL, nats per image) against distortion (MSE per pixel value), one panel per dataset, both axes logarithmic
    (rates run from a collapsed ~0.01 nats to hundreds). points maps a dataset to {setting label: [(distortion, rate)
    for each seed]}, in the order of the curve; each setting is drawn at its mean over seeds with error bars of one
    standard deviation on both axes, in its own colour with its own legend entry beside the axes (no labels on the
    data to overlap), the settings joined by a thin line. Labels starting with "σ-VAE" are drawn as stars, off the line."""
    fig, axes = plt.subplots(1, len(points), figsize=(4.6 * len(points) + 2.4, 4.0), squeeze=False, layout="constrained")
    labels = list(dict.fromkeys(label for settings in points.values() for label in settings))
    swept = [label for label in labels if not label.startswith("σ-VAE")]
    colours = {label: plt.cm.viridis(i / max(1, len(swept) - 1)) for i, label in enumerate(swept)}
    colours.update({label: "tab:red" for label in labels if label not in colours})
    handles = {}
    for ax, (dataset, settings) in zip(axes[0], points.items()):
        centres = {}
        for label, per_seed in settings.items():
            values = np.asarray(per_seed, dtype=float).reshape(-1, 2)
            mean, std = values.mean(0), values.std(0, ddof=1) if len(values) > 1 else np.zeros(2)
            centres[label] = mean
            star = label.startswith("σ-VAE")
            handles[label] = ax.errorbar([mean[0]], [mean[1]], xerr=[std[0]], yerr=[std[1]], marker="*" if star else "o",
                                         ms=12 if star else 6, color=colours[label], capsize=2, ls="none",
                                         label=f"{label} ({len(values)} seed{'s' if len(values) > 1 else ''})")
        line = np.array([centres[label] for label in settings if not label.startswith("σ-VAE")])
        if len(line) > 1:
            ax.plot(line[:, 0], line[:, 1], color="0.6", lw=0.8, zorder=0)
        ax.set(title=dataset, xlabel="distortion: MSE per pixel value ([0, 1] data)", ylabel="rate: KL (nats per image)",
               xscale="log", yscale="log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))  # a narrow range: label 1-2-5, not every minor tick
        ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    fig.legend(list(handles.values()), [h.get_label() for h in handles.values()], loc="outside right center", fontsize=8)
    fig.suptitle(title)
    finish(fig, name)


def errorbar_chart(x: Sequence[float], series: Mapping[str, tuple[Sequence[float], Sequence[float]]], title: str,
                   xlabel: str, ylabel: str, name: str | None = None, logx: bool = False,
                   references: Mapping[str, float] | None = None) -> None:
    """One line per series against x with error bars: series maps a label to (means, errors), e.g. mean ± std over
    seeds; optional labelled horizontal reference lines. A series shorter than x is drawn over the first x values."""
    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    for label, (means, errors) in series.items():
        ax.errorbar(list(x)[:len(means)], means, yerr=errors, marker="o", ms=3, capsize=3, label=label)
    for (label, value), style in zip((references or {}).items(), ("--", ":", "-.")):
        ax.axhline(value, color="gray", ls=style, label=label)
    if logx:
        ax.set_xscale("log")
        ax.set_xticks(list(x), [f"{v:g}" for v in x])
        ax.xaxis.set_minor_locator(plt.NullLocator())
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the axes, off the lines
    finish(fig, name)


def rate_chart(groups: Mapping[str, Mapping[str, Mapping[str, float]]], title: str, name: str | None = None,
               xlabel: str = "share of faces") -> None:
    """Proportions with intervals, grouped: groups maps an item (e.g. an attribute) to {series (e.g. an image set):
    {"rate", "low", "high"}}; one horizontal bar per series in each group, its interval as an error bar."""
    items = list(groups)
    series = list(next(iter(groups.values())))
    height = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(7.0, 0.5 + 0.22 * len(items) * len(series)))
    for i, label in enumerate(series):
        positions = np.arange(len(items)) + (i - (len(series) - 1) / 2) * height
        rates = np.array([groups[item][label]["rate"] for item in items])
        errors = np.array([[groups[item][label]["rate"] - groups[item][label]["low"] for item in items],
                           [groups[item][label]["high"] - groups[item][label]["rate"] for item in items]])
        ax.barh(positions, rates, height, xerr=errors, label=label, capsize=2, error_kw={"elinewidth": 0.8})
    ax.set_yticks(np.arange(len(items)), items)
    ax.invert_yaxis()
    ax.set(title=title, xlabel=xlabel, xlim=(0, 1))
    ax.legend(fontsize=8, loc="lower right")
    finish(fig, name)


def labelled_scatter(points: Mapping[str, Mapping[str, tuple[float, float]]], title: str, xlabel: str, ylabel: str,
                     name: str | None = None, reference: float | None = 0.0) -> None:
    """Labelled points in series: points maps a series (e.g. a model) to {label: (x, y)}; an optional horizontal line."""
    fig, ax = plt.subplots(figsize=(6.5, 4.0))
    for series, members in points.items():
        xs, ys = [p[0] for p in members.values()], [p[1] for p in members.values()]
        ax.scatter(xs, ys, label=series, s=25)
        for label, (x, y) in members.items():
            ax.annotate(label, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    if reference is not None:
        ax.axhline(reference, color="gray", ls="--", lw=0.8)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the axes, off the lines
    finish(fig, name)


def interval_chart(rows: Mapping[str, Mapping[str, Mapping[str, float]]], title: str, xlabel: str,
                   name: str | None = None) -> None:
    """Differences with their 95 % intervals, one panel per measure: rows maps a comparison (e.g. one step of a
    one-factor ladder) to {measure: {"estimate", "low", "high"}}; a dashed line marks zero (no difference).
    Each panel has its own x axis, so small differences are not flattened against a shared 0–1 scale."""
    measures = list(next(iter(rows.values())))
    fig, axes = plt.subplots(1, len(measures), figsize=(4.2 * len(measures) + 2.4, 0.55 * len(rows) + 1.4),
                             sharey=True, squeeze=False, layout="constrained")
    positions = np.arange(len(rows))[::-1]
    for ax, measure in zip(axes[0], measures):
        estimates = np.array([row[measure]["estimate"] for row in rows.values()])
        low = estimates - np.array([row[measure]["low"] for row in rows.values()])
        high = np.array([row[measure]["high"] for row in rows.values()]) - estimates
        ax.errorbar(estimates, positions, xerr=[low, high], fmt="o", capsize=4, color="tab:blue")
        ax.axvline(0.0, color="tab:red", ls="--", lw=1)
        ax.set(title=measure, xlabel=xlabel)
        ax.title.set_fontweight("normal")
    axes[0, 0].set_yticks(positions, list(rows))
    fig.suptitle(title)
    finish(fig, name)
