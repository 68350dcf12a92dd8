"""The HTML site built from the committed notebooks: every page exists, every link resolves, every image is embedded,
hidden inputs are gone, and the index carries each notebook's key number and the claims ledger."""
from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pytest

from vae_utils.claims import claim_entry, decision_over_seeds
from vae_utils.report import build_site

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]*_*.ipynb"))


class Page(HTMLParser):
    """An HTML page read into its links (tag, attribute, value, attributes), element ids and visible text."""

    def __init__(self, path: Path):
        super().__init__()
        self.links: list[tuple[str, str, str, dict]] = []
        self.ids: set[str] = set()
        self.text_parts: list[str] = []
        self._skip = 0
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.links += [(tag, name, attributes[name], attributes) for name in ("href", "src") if attributes.get(name)]
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.text_parts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.text_parts)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return build_site(REPO, tmp_path_factory.mktemp("site")).parent


def copy_of_repo(tmp_path: Path, notebooks: list[Path]) -> Path:
    """A repository root in tmp_path with copies of `notebooks` and of results/, and figures/ linked."""
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    for path in notebooks:
        shutil.copy(path, root / "notebooks" / path.name)
    shutil.copytree(REPO / "results", root / "results")
    (root / "figures").symlink_to(REPO / "figures", target_is_directory=True)
    return root


def test_one_page_per_notebook_and_an_index(site):
    assert NOTEBOOKS, "no committed notebooks found"
    assert sorted(p.name for p in site.glob("*.html")) == sorted(["index.html"] + [f"{p.stem}.html" for p in NOTEBOOKS])


def test_every_link_resolves_offline_and_every_image_is_embedded(site):
    for path in sorted(site.glob("*.html")):
        page = Page(path)
        images = [value for tag, name, value, _ in page.links if tag == "img"]
        assert images, f"{path.name} shows no image"
        for image in images:
            assert image.startswith("data:image/") and ";base64," in image, \
                f"{path.name}: <img> not embedded: {image[:80]}"
        for tag, name, value, attributes in page.links:
            target, _, fragment = value.partition("#")
            if value.startswith("data:"):
                continue
            if value.startswith(("http://", "https://", "//")):
                # A link out of the site is fine; what the page loads must not need the network, except MathJax,
                # loaded asynchronously (offline the formulas stay as TeX source).
                assert (tag == "a" or tag == "script" and "mathjax" in value and "async" in attributes), \
                    f"{path.name}: <{tag} {name}={value!r}> needs the network to read the page"
                continue
            if target:
                assert (site / unquote(target)).is_file(), f"{path.name}: <{tag} {name}={value!r}> points at nothing"
            if fragment:
                ids = Page(site / unquote(target)).ids if target else page.ids
                assert fragment in ids or unquote(fragment) in ids, f"{path.name}: anchor {value!r} not found"


def test_index_has_every_notebook_its_key_number_and_the_ledger(site):
    page = Page(site / "index.html")
    for path in NOTEBOOKS:
        assert f"{path.stem}.html" in [value for _, name, value, _ in page.links if name == "href"]
        results_path = REPO / "results" / f"{path.stem}.json"
        assert results_path.is_file(), f"{path.stem} has no {results_path.name} in results/: run the notebook"
        results = json.loads(results_path.read_text())["results"]
        assert results["headline"]["number"] in page.text, f"{path.stem}'s key number is missing from the index"
    assert "The claims ledger" in page.text
    assert "claims" in page.ids


def test_hide_input_cells_show_their_output_but_not_their_source(tmp_path):
    notebook = nbformat.read(REPO / "notebooks" / "02_vae_mnist.ipynb", as_version=4)
    shown = next(c for c in notebook.cells if c.cell_type == "code" and "top_dims" in c.source)
    hidden = nbformat.v4.new_code_cell('print("the hidden cell printed this")  # hidden-source-marker')
    hidden.metadata["tags"] = ["hide-input"]
    hidden.outputs = [nbformat.v4.new_output("stream", name="stdout", text="the hidden cell printed this\n")]
    notebook.cells.insert(5, hidden)
    root = copy_of_repo(tmp_path, [])
    nbformat.write(notebook, root / "notebooks" / "02_vae_mnist.ipynb")
    page = Page(build_site(root, tmp_path / "site").parent / "02_vae_mnist.html")
    assert "hidden-source-marker" not in page.text, "a hide-input cell's source is on the page"
    assert "the hidden cell printed this" in page.text, "the hidden cell's output is missing"
    assert shown.source.splitlines()[0] in page.text, "an ordinary cell's source is missing"


def test_committed_hide_input_and_injected_parameters_cells_are_hidden(site):
    for path in NOTEBOOKS:
        text = Page(site / f"{path.stem}.html").text
        for cell in nbformat.read(path, as_version=4).cells:
            if "hide-input" in cell.metadata.get("tags", []) and cell.source.strip():
                lines = cell.source.strip().splitlines()
                # its longest line with a {placeholder}: that cannot appear in the rendered output, nor (unlike a
                # generic first line such as display(Markdown(...))) in another cell
                telltale = max([line for line in lines if "{" in line] or lines, key=len)
                assert telltale not in text, f"{path.stem}: a hide-input cell's source shows"
            if "injected-parameters" in cell.metadata.get("tags", []):
                assert cell.source.strip() not in text, f"{path.stem}: papermill's injected parameters show"


def test_ledger_lists_recorded_claims_and_says_when_there_are_none(tmp_path):
    root = copy_of_repo(tmp_path, [REPO / "notebooks" / "02_vae_mnist.ipynb"])
    for path in (root / "results").glob("*.json"):
        payload = json.loads(path.read_text())
        payload["results"].pop("claims", None)
        path.write_text(json.dumps(payload))
    index = build_site(root, tmp_path / "none")
    assert "No claims recorded yet." in Page(index).text

    results = root / "results" / "02_vae_mnist.json"
    payload = json.loads(results.read_text())
    payload["results"]["claims"] = [claim_entry("S1-test", "S1", "a claim made up for this test", "three made-up seeds",
                                                decision_over_seeds([2.5, 3.0, 3.5], "nats"), "Latent sizes, measured")]
    results.write_text(json.dumps(payload))
    index = build_site(root, tmp_path / "one")
    page = Page(index)
    assert "a claim made up for this test" in page.text and "reproduced" in page.text
    assert "S1: a claim made up for this test" in page.text and "(3 seeds)" in page.text
    ledger_links = [value for tag, _, value, _ in page.links if tag == "a" and value == "02_vae_mnist.html"]
    assert len(ledger_links) == 2, "the notebook table and the ledger both link to the notebook's page"


def test_explorers_become_stills_with_a_note(site):
    for path in NOTEBOOKS:
        if "LatentExplorer(" in path.read_text():
            page = Page(site / f"{path.stem}.html")
            assert "An interactive explorer: in JupyterLab" in page.text, f"{path.stem}: explorer note missing"
            assert "z[0] = " in page.text, f"{path.stem}: the explorer's saved slider positions are missing"


def test_a_folder_of_the_users_own_files_is_not_overwritten(tmp_path, capsys):
    from vae_utils.report import main
    root = copy_of_repo(tmp_path, [REPO / "notebooks" / "04_posterior_collapse.ipynb"])
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "index.html").write_text("my own home page")
    assert main(["--repo", str(root), "-o", str(mine)]) == 1
    assert (mine / "index.html").read_text() == "my own home page"
    assert "not a site built by vae_utils.report (index.html)" in capsys.readouterr().err
    site = tmp_path / "site"
    assert main(["--repo", str(root), "-o", str(site)]) == 0  # new folder
    assert main(["--repo", str(root), "-o", str(site)]) == 0  # a previous site is rebuilt in place
    assert sorted(p.name for p in site.iterdir()) == ["04_posterior_collapse.html", "index.html"]
    assert main(["--repo", str(root), "-o", str(mine), "--force"]) == 0
    assert "my own home page" not in (mine / "index.html").read_text()
    (tmp_path / "a_file").write_text("")
    assert main(["--repo", str(root), "-o", str(tmp_path / "a_file")]) == 1
    assert capsys.readouterr().err.splitlines()[-1].startswith(f"error: cannot write the site into {tmp_path / 'a_file'}")


def test_ctrl_c_during_the_build_leaves_whole_pages_and_exits_130(tmp_path, monkeypatch, capsys):
    from vae_utils import report
    root = copy_of_repo(tmp_path, [REPO / "notebooks" / "04_posterior_collapse.ipynb"])
    site = tmp_path / "site"
    assert report.main(["--repo", str(root), "-o", str(site)]) == 0
    before = (site / "index.html").read_text()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "index_html", interrupted)
    assert report.main(["--repo", str(root), "-o", str(site)]) == 130
    err = capsys.readouterr().err
    assert "Interrupted" in err and "Traceback" not in err
    assert (site / "index.html").read_text() == before
    assert sorted(p.name for p in site.iterdir()) == ["04_posterior_collapse.html", "index.html"]  # no temporaries


def test_a_repository_without_notebooks_is_named(tmp_path, capsys):
    from vae_utils.report import main
    assert main(["--repo", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith(f"error: no notebooks found as {tmp_path / 'notebooks'}")
