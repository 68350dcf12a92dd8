import json

from vae_utils import results


def test_rewrite_only_when_a_number_changes(tmp_path):
    path = results.write_results("98_toy", {"mse": 0.25}, {"seed": 0}, 12.0, tmp_path)
    first = path.read_text()
    assert json.loads(first)["wall_seconds"] == 12.0
    results.write_results("98_toy", {"mse": 0.25}, {"seed": 0}, 99.0, tmp_path)  # only the wall time differs
    assert path.read_text() == first
    results.write_results("98_toy", {"mse": 0.26}, {"seed": 0}, 99.0, tmp_path)
    assert json.loads(path.read_text())["results"] == {"mse": 0.26} and json.loads(path.read_text())["wall_seconds"] == 99.0
    path.write_text("{broken")
    results.write_results("98_toy", {"mse": 0.26}, {"seed": 0}, 5.0, tmp_path)
    assert json.loads(path.read_text())["wall_seconds"] == 5.0


def test_timing_table_comes_from_recorded_runs(tmp_path):
    timings = tmp_path / "timings.json"
    assert "No full-profile run" in results.timing_table(timings, tmp_path)
    results.record_timing(timings, "02_b", 40.4, trained=0)
    results.record_timing(timings, "01_a", 1500.0, trained=3)
    results.write_results("01_a", {"train_seconds_total": 1800.0}, {}, 1.0, tmp_path)
    table = results.timing_table(timings, tmp_path)
    assert table.index("| 01_a |") < table.index("| 02_b |")
    assert "| 01_a | 30 min | 1500 s | trained 3 checkpoint(s) |" in table and "| 02_b | — | 40 s | loaded every model" in table


def test_update_readme_replaces_only_its_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("top\n<!-- timings:start -->\nold\n<!-- timings:end -->\nbottom\n")
    results.update_readme(readme, "timings", "new")
    assert readme.read_text() == "top\n<!-- timings:start -->\nnew\n<!-- timings:end -->\nbottom\n"
