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
