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
    scratch = tmp_path / "scratch.json"
    scratch.write_text(json.dumps({"01_a": {"train_minutes": 21.04, "machine": "CPU X, 2 threads, 2 cores", "date": "2026-01-02",
                                            "load_average_during_run": {"max": 2.5, "mean": 2.1}}}))
    table = results.timing_table(timings, tmp_path, scratch)
    assert table.index("| 01_a |") < table.index("| 02_b |")
    assert ("| 01_a | 30 min | 21.0 min (CPU X, 2 threads, 2 cores, 2026-01-02; load average 2.1) | 1500 s | trained 3 checkpoint(s) |" in table
            and "| 02_b | — | — | 40 s | loaded every model" in table)


def test_update_readme_replaces_only_its_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("top\n<!-- timings:start -->\nold\n<!-- timings:end -->\nbottom\n")
    results.update_readme(readme, "timings", "new")
    assert readme.read_text() == "top\n<!-- timings:start -->\nnew\n<!-- timings:end -->\nbottom\n"


def test_mean_std_table_writes_mean_plus_minus_std_per_model():
    table = results.mean_std_table({"a": {"x": (1.23456, 0.0123)}, "b": {"x": (2.0, 0.5)}}, ["x"], fmt=".3f")
    assert table.splitlines() == ["| model | x |", "|---|---|", "| a | 1.235 ± 0.012 |", "| b | 2.000 ± 0.5 |"]


def test_mean_std_table_shows_a_single_run_without_a_spread_and_a_missing_value_as_a_dash():
    table = results.mean_std_table({"one run": {"x": (0.5, float("nan")), "y": (float("nan"), float("nan"))}}, ["x", "y"], fmt=".2f")
    assert table.splitlines()[-1] == "| one run | 0.50 | — |"


def test_training_time_sentence_adds_the_from_scratch_run_when_recorded(tmp_path):
    assert results.training_time_sentence("01_a", 600.0, tmp_path) == "10.0 min as this notebook's checkpoints recorded it (not yet timed from an empty cache)"
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "training_from_scratch.json").write_text(json.dumps({"01_a": {
        "train_minutes": 4.25, "machine": "CPU X, 2 threads, 2 cores", "date": "2026-01-02", "load_average_during_run": {"max": 2.4, "mean": 2.04}}}))
    assert results.training_time_sentence("01_a", 600.0, tmp_path).endswith(
        "from an empty cache by `benchmarks/training_from_scratch.py`: **4.2 min** (CPU X, 2 threads, 2 cores, load average 2.0, 2026-01-02)")


def test_reading_table_times_each_notebook_and_rounds_reading_up_to_five_minutes(tmp_path):
    (tmp_path / "notebooks").mkdir()
    cells = [{"cell_type": "markdown", "source": ["word " * 1100]},          # 5.5 min of prose
             {"cell_type": "code", "source": ["x = 1\n" * 20], "outputs": []}]  # 2 min of code
    (tmp_path / "notebooks" / "01_toy.ipynb").write_text(json.dumps({"cells": cells}))
    assert results.reading_minutes(tmp_path / "notebooks" / "01_toy.ipynb") == 10  # 7.5 min, rounded up to 10
    timings = tmp_path / "timings.json"
    timings.write_text(json.dumps({"01_toy": {"wall_seconds": 90.0, "trained_checkpoints": 0}}))
    table = results.reading_table(tmp_path, guide={"01_toy": ("Why?", "this")}, timings_path=timings)
    assert table.splitlines()[-1] == "| 01 | [Why?](notebooks/01_toy.ipynb) | this | 10 min | 1.5 min |"
    # a run that trained something is not a re-run from checkpoints
    timings.write_text(json.dumps({"01_toy": {"wall_seconds": 900.0, "trained_checkpoints": 2}}))
    assert results.reading_table(tmp_path, guide={}, timings_path=timings).splitlines()[-1].endswith("| 10 min | — |")


def test_every_notebook_has_its_line_in_the_reading_guide():
    from vae_utils import config, run
    assert set(run.available_notebooks()) == set(config.NOTEBOOK_GUIDE)
    assert all("|" not in text for pair in config.NOTEBOOK_GUIDE.values() for text in pair)  # a pipe breaks the table


def test_key_figure_table_links_by_reference_and_sets_minus_signs(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01_a.ipynb").write_text("{}")
    headline = {"figure": "figures/01_a/x.png", "number": "-3.53 [-4.67, -2.39] with a 4,096-number code, runs 1-2, σ-VAE"}
    (tmp_path / "results" / "01_a.json").write_text(json.dumps({"notebook": "01_a", "results": {"headline": headline}}))
    row = results.notebook_table(tmp_path, reference=True).splitlines()[2]
    assert row == ("| [01][nb01] | ![key figure of 01](figures/01_a/x.png) | "
                   "−3.53 [−4.67, −2.39] with a 4,096-number code, runs 1-2, σ-VAE |")
    assert results.notebook_links(tmp_path) == "[nb01]: notebooks/01_a.ipynb"
    assert "[01_a](notebooks/01_a.ipynb)" in results.notebook_table(tmp_path)
