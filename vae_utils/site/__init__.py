"""The Sphinx configuration (conf.py) and static files of the course site; see vae_utils.report."""
