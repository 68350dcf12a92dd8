import matplotlib

matplotlib.use("Agg")

import torch

from vae_utils import plots


def test_figures_save_themselves_under_the_notebook_folder(tmp_path):
    folder = plots.setup("99_test", tmp_path)
    plots.image_rows({"a": torch.rand(3, 1, 8, 8), "b": torch.rand(3, 1, 8, 8)}, "rows", name="rows")
    plots.interpolation_strip({"path": torch.rand(5, 3, 8, 8)}, [0, 0.25, 0.5, 0.75, 1], "strip", name="strip")
    plots.loss_curves({"run": {"train_loss": [3.0, 2.0], "val_loss": [3.5, 2.5]}}, "loss", "curves", name="curves")
    plots.latent_scatter(torch.randn(20, 2), torch.arange(20) % 4, "scatter", name="scatter")
    plots.latent_manifold(lambda z: torch.rand(len(z), 1, 4, 4), (-1, 1, -1, 1), "manifold", name="manifold", steps=3)
    plots.line_chart([1, 2, 3], {"a": [1, 2, 3]}, "line", "x", "y", name="line", references={"ref": 2.0})
    plots.bar_chart({"a": 1.0, "b": 2.0}, "bars", "y", name="bars", reference=1.5)
    plots.grouped_bar_chart({"a": {"x": 1.0, "y": 0.5}, "b": {"x": 2.0, "y": 1.0}}, "groups", "y", name="groups", reference=1.0)
    plots.image_grid(torch.randint(0, 256, (12, 1, 8, 8), dtype=torch.uint8), "grid", name="grid", nrow=4)
    assert folder == tmp_path / "figures" / "99_test"
    assert sorted(p.stem for p in folder.glob("*.png")) == sorted(
        ["rows", "strip", "curves", "scatter", "manifold", "line", "bars", "groups", "grid"])


def test_plot_helpers_return_nothing_to_show_twice(tmp_path):
    """A helper whose Figure were a cell's last value would be displayed a second time by Jupyter."""
    import matplotlib.pyplot as plt
    plots.setup("99_test", tmp_path)
    assert plots.bar_chart({"a": 1.0}, "bars", "y", name="bars") is None
    assert plots.image_rows({"a": torch.rand(2, 1, 8, 8)}, "rows") is None
    assert not plt.get_fignums()  # and the figure is closed, not kept in memory


def test_log_axis_labels_every_measured_value(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt
    shown = []
    monkeypatch.setattr(plots, "finish", lambda fig, name: shown.append(fig))
    plots.line_chart([2, 4, 10, 20, 100], {"a": [1, 2, 3, 4, 5]}, "t", "latent", "y", logx=True)
    labels = [t.get_text() for t in shown[0].axes[0].get_xticklabels()]
    assert labels == ["2", "4", "10", "20", "100"]
    plt.close("all")


def test_errorbar_chart_saves_and_labels_every_x(tmp_path, monkeypatch):
    folder = plots.setup("99_test", tmp_path)
    plots.errorbar_chart([100, 1000], {"a": ([90.0, 95.0], [1.0, 0.5]), "b": ([80.0], [2.0])}, "t", "n", "acc",
                         name="bars_err", logx=True, references={"ref": 99.0})
    assert (folder / "bars_err.png").is_file()
    shown = []
    monkeypatch.setattr(plots, "finish", lambda fig, name: shown.append(fig))
    plots.errorbar_chart([100, 300, 1000], {"a": ([1, 2, 3], [0, 0, 0])}, "t", "n", "acc", logx=True)
    assert [t.get_text() for t in shown[0].axes[0].get_xticklabels()] == ["100", "300", "1000"]


def test_grouped_bars_carry_their_error_bars(monkeypatch):
    shown = []
    monkeypatch.setattr(plots, "finish", lambda fig, name: shown.append(fig))
    plots.grouped_bar_chart({"a": {"x": 1.0, "y": 0.5}, "b": {"x": 2.0, "y": 1.0}}, "groups", "y",
                            errors={"a": {"x": 0.1, "y": 0.2}, "b": {"x": 0.3, "y": 0.4}})
    bars = [c for c in shown[0].axes[0].containers if hasattr(c, "errorbar") and c.errorbar is not None]
    segments = [s for bar in bars for s in bar.errorbar.lines[2][0].get_segments()]
    assert sorted(round(float(s[1][1] - s[0][1]) / 2, 6) for s in segments) == [0.1, 0.2, 0.3, 0.4]


def test_rate_distortion_draws_each_setting_at_its_seed_mean_with_its_spread_and_a_legend_off_the_axes(monkeypatch):
    shown = []
    monkeypatch.setattr(plots, "finish", lambda fig, name: shown.append(fig))
    plots.rate_distortion({"mnist": {"w = 1": [(0.07, 0.01), (0.09, 0.03)], "w = 10": [(0.02, 10.0), (0.02, 30.0)],
                                     "σ-VAE": [(0.01, 40.0), (0.03, 40.0)]}}, "rd")
    ax = shown[0].axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"  # no symlog axis with negative rate ticks
    bars = [c for c in ax.containers if hasattr(c, "has_xerr")]
    assert [(round(b.lines[0].get_xdata()[0], 6), round(b.lines[0].get_ydata()[0], 6)) for b in bars] == [
        (0.08, 0.02), (0.02, 20.0), (0.02, 40.0)]
    assert bars[2].lines[0].get_marker() == "*"
    y_spread = bars[1].lines[2][1].get_segments()[0]  # the rate's error bar: one std over the two seeds (14.14)
    assert round(float(y_spread[1][1] - y_spread[0][1]) / 2, 2) == 14.14
    assert not ax.get_legend() and shown[0].legends  # the legend is the figure's, beside the axes
    assert not ax.texts  # no point labels on the data to pile up


def test_sweep_panels_draw_error_bars_where_given(monkeypatch):
    shown = []
    monkeypatch.setattr(plots, "finish", lambda fig, name: shown.append(fig))
    plots.sweep_panels([1, 10], {"KL": {"a": [1.0, 2.0]}}, "w", "t", errors={"KL": {"a": [0.5, 0.25]}})
    segments = shown[0].axes[0].containers[0].lines[2][0].get_segments()
    assert [round(float(s[1][1] - s[0][1]) / 2, 6) for s in segments] == [0.5, 0.25]
