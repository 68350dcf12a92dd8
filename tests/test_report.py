"""The static site (Sphinx + MyST-NB + sphinx-book-theme, vae_utils.report) built from the committed notebooks: the
build has no warnings, every page exists, every local link resolves, nothing is loaded from the network, hidden inputs
are gone, the landing page is the README, the claims page carries every claim, docs/*.md pages join the navigation,
and a folder of the user's own files is not overwritten. The browser checks (typeset math, images, search) are in
tests/test_site.py."""
from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
from docutils.nodes import make_id

from vae_utils.claims import claim_entry, decision_over_seeds, load_claims
from vae_utils.report import EXPLORER_NOTE, _widget_still, build_site

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
    """The site of the checkout, built with warnings as errors (a warning fails every test here)."""
    return build_site(REPO, tmp_path_factory.mktemp("site") / "site", strict=True).parent


def copy_of_repo(tmp_path: Path, notebooks: list[Path]) -> Path:
    """A repository root in tmp_path with copies of `notebooks`, README.md and results/, and figures/ and data/ linked."""
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    for path in notebooks:
        shutil.copy(path, root / "notebooks" / path.name)
    shutil.copy(REPO / "README.md", root / "README.md")
    shutil.copytree(REPO / "results", root / "results")
    for folder in ("figures", "data"):
        (root / folder).symlink_to(REPO / folder, target_is_directory=True)
    return root


def straight(text: str) -> str:
    """Text with the typographic quotes that Sphinx's smartquotes puts in made straight again."""
    return text.translate(str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"}))


def html_pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.parts and "_sources" not in p.parts)


def test_one_page_per_notebook_a_landing_page_a_claims_page_and_search(site):
    assert NOTEBOOKS, "no committed notebooks found"
    for path in NOTEBOOKS:
        assert (site / "notebooks" / f"{path.stem}.html").is_file(), f"no page for {path.name}"
    for name in ("index.html", "claims.html", "search.html", "searchindex.js"):
        assert (site / name).is_file(), f"{name} is missing"


def test_every_local_link_resolves_and_nothing_is_loaded_from_the_network(site):
    for path in html_pages(site):
        page = Page(path)
        for tag, name, value, attributes in page.links:
            if value.startswith(("data:", "mailto:", "javascript:")):
                continue
            if value.startswith(("http://", "https://", "//")):
                # a link out of the site is fine; anything the page loads (scripts, styles, images, fonts) is not
                assert tag == "a", f"{path.relative_to(site)}: <{tag} {name}={value!r}> loads from the network"
                continue
            target = urlsplit(value).path
            if target:
                assert (path.parent / unquote(target)).resolve().exists(), \
                    f"{path.relative_to(site)}: <{tag} {name}={value!r}> points at nothing"
        for script in (site / "_static").rglob("*.js"):
            pass  # the bundled scripts are the theme's and MathJax's own; test_site.py checks what a browser requests
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file(), "the local MathJax is missing"


def test_notebook_pages_show_images_and_how_to_run_them(site):
    for path in NOTEBOOKS:
        page = Page(site / "notebooks" / f"{path.stem}.html")
        assert [v for tag, _, v, _ in page.links if tag == "img"], f"{path.stem} shows no image"
        for command in ("make run", "make test", "make lab"):
            assert command in page.text.replace("\xa0", " "), f"{path.stem}: the banner does not name {command!r}"
        downloads = [v for tag, _, v, _ in page.links if tag == "a" and v.endswith(f"_sources/notebooks/{path.name}")]
        assert downloads, f"{path.stem}: no download link of its .ipynb"
        assert (site / "_sources" / "notebooks" / path.name).read_bytes() == path.read_bytes(), \
            f"{path.stem}: the download is not the committed notebook"


def test_committed_hide_input_and_injected_parameters_cells_are_hidden(site):
    for path in NOTEBOOKS:
        text = Page(site / "notebooks" / f"{path.stem}.html").text
        for cell in nbformat.read(path, as_version=4).cells:
            if "hide-input" in cell.metadata.get("tags", []) and cell.source.strip():
                lines = cell.source.strip().splitlines()
                telltale = max([line for line in lines if "{" in line] or lines, key=len)
                assert telltale not in text, f"{path.stem}: a hide-input cell's source shows"
            if "injected-parameters" in cell.metadata.get("tags", []):
                assert cell.source.strip() not in text, f"{path.stem}: papermill's injected parameters show"


def test_the_landing_page_is_the_readme_with_working_links(site):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    page = Page(site / "index.html")
    hrefs = [urlsplit(v).path for tag, _, v, _ in page.links if tag == "a"]
    title = next(line.lstrip("#").strip() for line in readme.splitlines() if line.startswith("# "))
    assert title in page.text
    for path in NOTEBOOKS:
        if f"notebooks/{path.name}" in readme:  # README links to the notebook: the site links to its page
            assert f"notebooks/{path.stem}.html" in hrefs, f"the landing page does not link {path.stem}'s page"
    assert "claims.html" in hrefs, "the navigation does not reach the claims page"
    assert (site / "_sources" / "index.md").read_text(encoding="utf-8") == readme, "the landing page's download"
    in_readme = list(dict.fromkeys(re.findall(r"\(docs/(\w+)\.md\)", readme)))
    guides = list(dict.fromkeys(re.findall(r'href="docs/(\w+)\.html"', (site / "claims.html").read_text(encoding="utf-8"))))
    assert guides[:len(in_readme)] == in_readme, "the navigation's docs pages are not in the README's order"
    readme_images = [line for line in readme.splitlines() if "](figures/" in line]
    assert len([v for tag, _, v, _ in page.links if tag == "img"]) >= len(readme_images) > 0


def test_the_claims_page_lists_every_claim(site):
    page = Page(site / "claims.html")
    claims = load_claims(REPO)
    assert claims, "no claims in results/"
    for claim in claims:
        assert make_id(f"claim-{claim['id']}") in page.ids, f"claim {claim['id']} has no entry on the claims page"
        assert straight(claim["claim"])[:40] in straight(page.text), f"claim {claim['id']}'s wording is missing"
        assert claim["verdict"] in page.text


def test_explorers_become_stills_with_a_note(site):
    for path in NOTEBOOKS:
        if "LatentExplorer(" in path.read_text():
            page = Page(site / "notebooks" / f"{path.stem}.html")
            assert "An interactive explorer: in JupyterLab" in page.text, f"{path.stem}: explorer note missing"
            assert "z[0] = " in page.text, f"{path.stem}: the explorer's saved slider positions are missing"
            assert not any("widget" in v and v.endswith(".js") for _, _, v, _ in page.links), "widget JS loaded"


def test_a_progress_bar_is_no_explorer_and_menus_show_their_choice():
    """tqdm's notebook bar (an HBox of HTML, FloatProgress, HTML) is shown as a finished bar without the explorer note;
    a selection slider, a menu and a log slider show their chosen label and their real range."""
    model = lambda name, **state: {"model_name": name, "state": state}
    bar = {"bar": model("HBoxModel", children=["IPY_MODEL_l", "IPY_MODEL_p", "IPY_MODEL_r"]),
           "l": model("HTMLModel", value="epoch 1: 100%"), "p": model("FloatProgressModel", value=430.0, max=430.0),
           "r": model("HTMLModel", value=" 430/430 [00:24<00:00, 17.07it/s]")}
    still = _widget_still("bar", bar)
    assert "epoch 1: 100%" in still and "<progress" in still
    assert EXPLORER_NOTE not in still, "a progress bar is labelled an interactive explorer"
    explorer = {"box": model("VBoxModel", children=["IPY_MODEL_s", "IPY_MODEL_m", "IPY_MODEL_w"]),
                "s": model("SelectionSliderModel", description="setting", index=1, _options_labels=["w = 1", "w = 30"]),
                "m": model("DropdownModel", description="path", index=0, _options_labels=["linear", "spherical"]),
                "w": model("FloatLogSliderModel", description="weight", value=1.0, min=-3, max=6, base=10)}
    still = _widget_still("box", explorer)
    assert EXPLORER_NOTE in still
    assert "setting = w = 30" in still and "path = linear" in still and "None" not in still
    assert "from 0.001 to 1e+06" in still, "a log slider's range is given as exponents"


def test_hide_input_docs_pages_and_a_claim_in_a_repository_copy(tmp_path):
    """One build of a small copy: a hide-input cell added, a docs page (linking the README, a notebook and a plain
    file) and a made-up claim; the docs page joins the navigation without any configuration."""
    notebook = nbformat.read(REPO / "notebooks" / "02_vae_mnist.ipynb", as_version=4)
    shown = next(c for c in notebook.cells if c.cell_type == "code" and "top_dims" in c.source)
    hidden = nbformat.v4.new_code_cell('print("the hidden cell printed this")  # hidden-source-marker')
    hidden.metadata["tags"] = ["hide-input"]
    hidden.outputs = [nbformat.v4.new_output("stream", name="stdout", text="the hidden cell printed this\n")]
    notebook.cells.insert(5, hidden)
    root = copy_of_repo(tmp_path, [])
    nbformat.write(notebook, root / "notebooks" / "02_vae_mnist.ipynb")
    # a README for this copy, which has one notebook (the real one links all eight: broken links fail a strict build)
    (root / "README.md").write_text("# A copy\n\nRead [notebook 02](notebooks/02_vae_mnist.ipynb) first.\n\n"
                                    "![a figure](figures/02_vae_mnist/bound_vs_epochs.png)\n")
    (root / "docs").mkdir()
    (root / "docs" / "zz_extra.md").write_text(
        "# An extra page\n\nBack to the [front page](../README.md), on to [notebook 02](../notebooks/02_vae_mnist.ipynb)"
        " and the [data notes](../data/README.md).\n\n$$\\mathbb E[x]$$\n")
    results = root / "results" / "02_vae_mnist.json"
    payload = json.loads(results.read_text())
    payload["results"]["claims"] = [claim_entry("S1-made-up", "S1", "a claim made up for this test", "three made-up "
                                                "seeds", decision_over_seeds([2.5, 3.0, 3.5], "nats"), "Latent sizes")]
    results.write_text(json.dumps(payload))
    for other in (root / "results").glob("*.json"):
        if other != results:
            other.unlink()

    site = build_site(root, tmp_path / "site", strict=True).parent
    page = Page(site / "notebooks" / "02_vae_mnist.html")
    assert "hidden-source-marker" not in page.text, "a hide-input cell's source is on the page"
    assert "the hidden cell printed this" in page.text, "the hidden cell's output is missing"
    assert shown.source.splitlines()[0] in page.text, "an ordinary cell's source is missing"
    extra = Page(site / "docs" / "zz_extra.html")
    hrefs = [urlsplit(v).path for tag, _, v, _ in extra.links if tag == "a"]
    assert "../index.html" in hrefs and "../notebooks/02_vae_mnist.html" in hrefs
    assert any(h.endswith("/README.md") and "_downloads" in h for h in hrefs), "the plain file is not downloadable"
    assert "docs/zz_extra.html" in [urlsplit(v).path for tag, _, v, _ in Page(site / "index.html").links]
    claims = Page(site / "claims.html")
    assert "claim-s1-made-up" in claims.ids and "a claim made up for this test" in claims.text
    assert "reproduced" in claims.text and "(3 seeds)" in claims.text


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
    assert (site / "notebooks" / "04_posterior_collapse.html").is_file()
    (tmp_path / "a_file").write_text("")
    assert main(["--repo", str(root), "-o", str(tmp_path / "a_file")]) == 1
    assert capsys.readouterr().err.splitlines()[-1].startswith(f"error: cannot write the site into {tmp_path / 'a_file'}")


def test_ctrl_c_during_the_build_exits_130_without_a_traceback(tmp_path, monkeypatch, capsys):
    from vae_utils import report
    root = copy_of_repo(tmp_path, [REPO / "notebooks" / "04_posterior_collapse.ipynb"])

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "sphinx_build", interrupted)
    assert report.main(["--repo", str(root), "-o", str(tmp_path / "site")]) == 130
    err = capsys.readouterr().err
    assert "Interrupted" in err and "Traceback" not in err


def test_a_repository_without_notebooks_is_named(tmp_path, capsys):
    from vae_utils.report import main
    assert main(["--repo", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith(f"error: no notebooks found as {tmp_path / 'notebooks'}")
