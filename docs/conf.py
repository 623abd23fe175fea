"""Sphinx configuration: numpydoc, autosummary, sphinx-gallery, pydata theme.

Build (warnings are errors, the gallery is executed):

    sphinx-build -W --keep-going -b html docs docs/_build/html
"""

import os
import sys
import warnings

sys.path.insert(0, os.path.abspath(".."))  # the checkout's sklearn_nmfx
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # _gallery_order

import sklearn_nmfx  # noqa: E402

project = "sklearn-nmfx"
author = "the sklearn-nmfx developers"
copyright = "the sklearn-nmfx developers"
release = version = sklearn_nmfx.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.md5", "auto_examples/*.zip", "**.codeobj.json",
                    "sg_execution_times.rst"]
templates_path = ["_templates"]

# API reference: one page per public name, generated from the docstrings.
autosummary_generate = True
autodoc_default_options = {}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Every documented object has a docstring whose parameters and return value are
# all described (sklearn-nmfx's own; scikit-learn's inherited methods pass too).
# tests/test_docstrings.py checks that every public name has an Examples section.
numpydoc_validation_checks = {"GL08", "PR01", "PR02", "RT01"}

# No network during the build: cross-references to these projects are written
# out as plain text instead of links.
intersphinx_mapping = {}
nitpicky = False

html_theme = "pydata_sphinx_theme"
html_title = "sklearn-nmfx"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_static_path = []

# The gallery: every examples/plot_*.py is executed (20 Newsgroups comes from
# $SCIKIT_LEARN_DATA in CI); figures are saved with matplotlib's Agg backend.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "plot_gallery": "True",
    "download_all_examples": False,
    "remove_config_comments": True,
    # what a user needs first, not alphabetical: docs/_gallery_order.py
    "within_subsection_order": "_gallery_order.ExampleOrder",
    "matplotlib_animations": False,
    "show_memory": False,
    "min_reported_time": 1,
}

# Examples run with warnings shown in their output, not turned into build errors.
warnings.filterwarnings("ignore", category=UserWarning,
                        message="Matplotlib is currently using agg")
