"""Sphinx configuration of the course's site (the engine under Jupyter Book 1: Sphinx + MyST-NB + sphinx-book-theme).

`python -m vae_utils.report` stages the sources (README as the landing page, the committed executed notebooks, the
`docs/*.md` pages, a claims page generated from `results/`) into `build/site-src/` and runs Sphinx with this folder
as its configuration directory; nothing here is read from the Markdown pages themselves, so they stay plain Markdown
that also reads well on GitHub. The notebooks are never executed (`nb_execution_mode = "off"`).
"""
from __future__ import annotations

import os

from docutils import nodes

project = "VAE Notebooks"
author = "the VAE Notebooks authors"
copyright = "the VAE Notebooks authors"

extensions = [
    "myst_nb",                 # notebooks and MyST Markdown (brings myst_parser)
    "sphinx-mathjax-offline",  # MathJax 3 copied into _static/mathjax: formulas typeset offline, no CDN
]

# The staging step writes these; Sphinx should read nothing else.
exclude_patterns = ["_*.md", "_repo", ".doctrees", "**.ipynb_checkpoints", "figures"]
root_doc = "index"
smartquotes = False  # the claims quote the reports verbatim: keep their quotes and dots as written

# MyST: $...$ / $$...$$ math as in the notebooks, ::: fences, and heading anchors so that README-style links
# (docs/running.md#a-heading) resolve.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

# MyST-NB: show the notebooks as committed, never run them.
nb_execution_mode = "off"
nb_render_markdown_format = "gfm"  # the notebooks' Markdown outputs are GitHub-style tables
nb_ipywidgets_js = {}              # explorers are shown as stills (see vae_utils.report); no widget JS from a CDN

html_theme = "sphinx_book_theme"
html_title = "VAE Notebooks"
html_last_updated_fmt = None
html_copy_source = True            # the download button serves _sources/notebooks/NN_x.ipynb
html_static_path = ["_static"]
html_css_files = ["site.css"]

# Filled in by vae_utils.report from pyproject's [project.urls] Repository (or $VAE_SITE_REPOSITORY_URL) when known:
# then every page also links to its source file in the repository.
_repository = os.environ.get("VAE_SITE_REPOSITORY_URL", "")
html_theme_options = {
    "use_download_button": True,
    "use_fullscreen_button": False,
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "navigation_with_keys": False,
}
if _repository:
    html_theme_options.update({"repository_url": _repository, "repository_branch": "main", "path_to_docs": "",
                               "use_repository_button": True, "use_source_button": True, "use_issues_button": False})

RUN_COMMANDS = (("make run", "executes every notebook with papermill (full profile), then rebuilds this site"),
                ("make test", "runs the unit, notebook and browser tests and nbval on the committed notebooks"),
                ("make lab", "opens the notebooks in JupyterLab, where the explorers' sliders are live"))


def add_run_banner(app, doctree) -> None:
    """Put a 'how to run this notebook' admonition under each notebook page's title (the notebooks stay as they are)."""
    docname = app.env.docname
    if not docname.startswith("notebooks/"):
        return
    name = docname.rsplit("/", 1)[-1]
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    banner = nodes.admonition(classes=["tip", "vae-run-banner"])
    banner += nodes.title(text="Run this notebook")
    intro = nodes.paragraph()
    intro += nodes.Text("This page is ")
    intro += nodes.reference("", "", nodes.literal(text=f"notebooks/{name}.ipynb"),
                             refuri=f"../_sources/notebooks/{name}.ipynb", classes=["vae-notebook-source"])
    intro += nodes.Text(" as it was last executed and committed (the site does not re-run it); the download button "
                        "at the top of the page gives the same file. From the repository's root:")
    banner += intro
    items = nodes.bullet_list()
    for command, what in RUN_COMMANDS:
        item = nodes.paragraph()
        item += nodes.literal(text=command)
        item += nodes.Text(f": {what}.")
        items += nodes.list_item("", item)
    banner += items
    section.insert(1, banner)


def setup(app):
    app.connect("doctree-read", add_run_banner)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
