import json

import nbformat
import pytest

from vae_utils import run


def test_unknown_profile_lists_the_allowed_ones(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run.main(["--profile", "fast"])
    assert exit_info.value.code != 0
    assert "choose one of smoke, full" in capsys.readouterr().err


def test_unknown_notebook_lists_the_collection():
    with pytest.raises(SystemExit, match="01_autoencoder_basics"):
        run.main(["99_nothing"])


def test_parse_value():
    assert run.parse_value("3") == 3 and run.parse_value("True") is True and run.parse_value("None") is None
    assert run.parse_value("smoke") == "smoke"


def test_failure_exit_names_notebook_and_cell(tmp_path, monkeypatch, capsys):
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("profile = 'full'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("raise RuntimeError('broken on purpose')"),
    ])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "nb").mkdir()
    nbformat.write(notebook, tmp_path / "nb" / "98_broken.ipynb")
    monkeypatch.setattr(run, "NOTEBOOK_DIR", tmp_path / "nb")
    assert run.main(["98", "--profile", "smoke", "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "98_broken" in err and "cell [4]" in err and "raise RuntimeError" in err and "broken on purpose" in err
