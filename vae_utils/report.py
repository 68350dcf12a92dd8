"""The browsable report: the executed notebooks as a static HTML site (nbconvert) with an index page.

`python -m vae_utils.report [-o build/site]` writes one page per notebook (inputs of cells tagged `hide-input`
removed, every image embedded) and `index.html` (each notebook's title, question, key figure and key number from
`results/`, then the claims ledger). Links are relative and nothing is needed from the network to read it, so the
folder opens from file:// offline and can be copied anywhere.
"""
from __future__ import annotations

import argparse
import base64
import html
import json
import mimetypes
import os
import sys
import time
from pathlib import Path

import mistune
import nbformat
from jinja2 import DictLoader
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor, TagRemovePreprocessor

from vae_utils.claims import ledger_markdown, load_claims

REPO = Path(__file__).resolve().parents[1]
SITE_MARK = '<meta name="generator" content="vae_utils.report">'  # in every index.html this module writes
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

# The lab template without what needs the network: require.js and the widget manager come from CDNs (widgets are
# replaced by a still, below), and MathJax loads asynchronously so that offline the page reads at once, with the
# formulas left as their TeX source.
PAGE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}
{{ mathjax(resources.mathjax_url) | replace('<script src=', '<script async src=') }}
{%- endblock html_head_js_mathjax -%}
{%- block extra_css -%}
<style>
.vae-site-nav { font-family: var(--jp-ui-font-family); font-size: var(--jp-ui-font-size1); padding: 0.5rem 1rem; }
</style>
{%- endblock extra_css -%}
{%- block body_header -%}
{{ super() }}
<nav class="vae-site-nav"><a href="index.html">&larr; all notebooks</a></nav>
{%- endblock body_header -%}
"""

INDEX_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 72rem; margin: 2rem auto;
       padding: 0 1.5rem; line-height: 1.5; color: #1b1b1b; }
h1 { margin-bottom: 0.2rem; } .subtitle { color: #555; margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0 2rem; }
th, td { border: 1px solid #ccc; padding: 0.5rem 0.7rem; vertical-align: top; text-align: left; }
th { background: #f2f2f2; }
td.figure img { max-width: 26rem; height: auto; display: block; }
td.number { font-weight: 600; }
"""


def _widget_still(model_id: str, state: dict) -> str:
    """HTML for a saved widget view: its images (from the saved widget state) and slider positions, as a still."""
    images, controls, seen = [], [], set()

    def walk(mid: str) -> None:
        model = state.get(mid)
        if model is None or mid in seen:
            return
        seen.add(mid)
        name, values = model["model_name"], model.get("state", {})
        if name == "ImageModel":
            for buffer in model.get("buffers", []):
                if buffer.get("path") == ["value"] and buffer.get("encoding", "base64") == "base64":
                    images.append(f'<img alt="explorer image" src="data:image/{values.get("format", "png")};base64,'
                                  f'{buffer["data"]}">')
        elif name in ("HTMLModel", "LabelModel") and values.get("value"):
            controls.append(str(values["value"]) if name == "HTMLModel" else html.escape(str(values["value"])))
        elif "Slider" in name:
            value = values.get("value")
            shown = f"{value:.2f}" if isinstance(value, float) else html.escape(str(value))
            span = f" (slider from {values['min']:g} to {values['max']:g})" if "min" in values and "max" in values else ""
            controls.append(f'{html.escape(str(values.get("description", "")))} = {shown}{span}')
        for child in values.get("children", []):
            walk(str(child).removeprefix("IPY_MODEL_"))

    walk(model_id)
    still = "".join(images) + "".join(f"<div>{c}</div>" for c in controls)
    return (f'<div class="vae-widget-still">{still}<p><em>An interactive explorer: in JupyterLab '
            "(<code>make lab</code>) its sliders redraw the image live; this static page shows where it started."
            "</em></p></div>")


class WidgetStillPreprocessor(Preprocessor):
    """Replaces each ipywidgets view by a static HTML still built from the notebook's saved widget state (or by a
    note where no state was saved), since the live widget needs a kernel and the widget manager needs a CDN."""

    def preprocess(self, nb: nbformat.NotebookNode, resources: dict) -> tuple[nbformat.NotebookNode, dict]:
        """Swap every widget view for its still, then drop the widget state the template would load from a CDN."""
        state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                view = output.get("data", {}).get(WIDGET_VIEW)
                if view is not None:
                    output["data"] = {"text/html": _widget_still(view["model_id"], state)}
        nb.metadata.pop("widgets", None)
        return nb, resources


def page_exporter() -> HTMLExporter:
    """nbconvert's HTML exporter (lab template) for one site page: `hide-input` inputs and papermill's
    injected-parameters cells removed, images embedded, widgets as stills."""
    exporter = HTMLExporter(template_name="lab", embed_images=True,
                            extra_loaders=[DictLoader({"vae_site.html.j2": PAGE_TEMPLATE})])
    exporter.template_file = "vae_site.html.j2"
    # papermill's injected-parameters cell holds the paths of the machine that ran the notebook, nothing to read.
    exporter.register_preprocessor(TagRemovePreprocessor(remove_input_tags={"hide-input"},
                                                         remove_cell_tags={"injected-parameters"}), enabled=True)
    exporter.register_preprocessor(WidgetStillPreprocessor(), enabled=True)
    return exporter


def title_and_question(notebook: nbformat.NotebookNode) -> tuple[str, str]:
    """A notebook's title (its first Markdown heading) and question (the first paragraph after it), as Markdown."""
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.strip().splitlines()
        heading = next((i for i, line in enumerate(lines) if line.startswith("#")), None)
        if heading is None:
            continue
        paragraphs = "\n".join(lines[heading + 1:]).strip().split("\n\n")
        return lines[heading].lstrip("#").strip(), paragraphs[0].strip() if paragraphs else ""
    return "", ""


def data_uri(path: Path) -> str:
    """A file as a base64 data URI, its media type guessed from its suffix."""
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{media_type};base64," + base64.b64encode(path.read_bytes()).decode()


def headline(repo_root: Path, name: str) -> dict:
    """`results.headline` of `results/<name>.json` ({} when the notebook has not written one)."""
    path = repo_root / "results" / f"{name}.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text()).get("results", {}).get("headline", {}) or {}


def index_html(repo_root: Path, notebooks: list[Path]) -> str:
    """The index page: a row per notebook (title, question, key figure embedded, key number, link), then the ledger."""
    markdown = mistune.create_markdown(escape=False, plugins=["table"])
    rows = []
    for path in notebooks:
        title, question = title_and_question(nbformat.read(path, as_version=4))
        key = headline(repo_root, path.stem)
        figure = repo_root / key["figure"] if key.get("figure") else None
        figure_cell = (f'<img alt="{html.escape(key["figure"])}" src="{data_uri(figure)}">'
                       if figure is not None and figure.is_file() else "<em>no key figure yet</em>")
        number = html.escape(str(key["number"]), quote=False) if key.get("number") else "<em>not measured yet</em>"
        rows.append(f'<tr><td><a href="{path.stem}.html">{html.escape(title or path.stem)}</a></td>'
                    f'<td>{markdown(question)}</td><td class="figure">{figure_cell}</td>'
                    f'<td class="number">{number}</td></tr>')
    ledger = markdown(ledger_markdown(load_claims(repo_root), link_prefix="", link_suffix=".html"))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">{SITE_MARK}
<title>VAE Notebooks — report</title><style>{INDEX_STYLE}</style></head>
<body>
<h1>VAE Notebooks</h1>
<p class="subtitle">Autoencoders and VAEs in PyTorch, taught by reproducing real experiments: the executed notebooks
as committed, with each one's key figure and measured number. Each page is a notebook as it last ran.</p>
<h2>The notebooks</h2>
<table>
<thead><tr><th>notebook</th><th>question</th><th>key figure</th><th>key measured number</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
<h2 id="claims">The claims ledger</h2>
{ledger}
</body></html>
"""


class NoNotebooksError(FileNotFoundError):
    """The repository given has no notebooks to build a site from."""


class NotASiteError(FileExistsError):
    """The output folder holds files of its own, not a site this module built: writing there would overwrite them."""


def is_site_or_empty(folder: Path) -> bool:
    """Whether `folder` is missing, empty, or a site this module built (its index.html carries SITE_MARK)."""
    if not folder.is_dir() or not any(folder.iterdir()):
        return True
    index = folder / "index.html"
    return index.is_file() and SITE_MARK in index.read_text(encoding="utf-8", errors="replace")[:4096]


def write_whole(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`: an interrupted build leaves each
    page either old or new, never cut short."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def build_site(repo_root: str | Path = REPO, output: str | Path | None = None, force: bool = False) -> Path:
    """Export `notebooks/NN_*.ipynb` of `repo_root` to `output` (default `<repo_root>/build/site`) as one HTML page
    each, plus `index.html`; returns the index's path. A given `output` that holds other files than a previous site
    raises NotASiteError, unless force (then index.html and the pages are written among them)."""
    repo_root = Path(repo_root).resolve()
    notebooks = sorted((repo_root / "notebooks").glob("[0-9][0-9]*_*.ipynb"))
    if not notebooks:
        raise NoNotebooksError(f"no notebooks found as {repo_root / 'notebooks' / 'NN_*.ipynb'}; --repo names the "
                               "repository that holds notebooks/, results/ and figures/")
    if output is not None and not force and not is_site_or_empty(Path(output)):
        others = sorted(p.name for p in Path(output).iterdir())
        raise NotASiteError(f"{output} already holds files that are not a site built by vae_utils.report "
                            f"({', '.join(others[:3])}{', ...' if len(others) > 3 else ''}); writing there would "
                            "replace its index.html. Choose a new or empty folder, or pass --force.")
    output = Path(output) if output is not None else repo_root / "build" / "site"
    output.mkdir(parents=True, exist_ok=True)
    exporter = page_exporter()
    for path in notebooks:
        body, _ = exporter.from_notebook_node(nbformat.read(path, as_version=4),
                                              resources={"metadata": {"name": path.stem, "path": str(path.parent)}})
        write_whole(output / f"{path.stem}.html", body)
    index = output / "index.html"
    write_whole(index, index_html(repo_root, notebooks))
    return index


def main(argv: list[str] | None = None) -> int:
    """The command line: build the site and print where to open it."""
    parser = argparse.ArgumentParser(prog="python -m vae_utils.report", description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="folder to write the site into (default: build/site under the repository)")
    parser.add_argument("--repo", type=Path, default=REPO, help="repository with notebooks/, results/, figures/")
    parser.add_argument("--force", action="store_true",
                        help="write into an -o folder that holds other files than a previous site (its index.html is replaced)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    where = args.output or Path(args.repo) / "build" / "site"
    try:
        index = build_site(args.repo, args.output, args.force)
    except (NotASiteError, NoNotebooksError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        cause = "it is a file, not a folder" if isinstance(error, FileExistsError) else error.strerror or str(error)
        print(f"error: cannot write the site into {where}: {cause}" + (f" ({error.filename})" if error.filename else ""),
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\nInterrupted: the site in {where} is incomplete (every page there is whole, old or new); run the "
              "same command again.", file=sys.stderr)
        return 130
    print(f"site written in {time.perf_counter() - start:.1f} s: open {index.resolve().as_uri()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
