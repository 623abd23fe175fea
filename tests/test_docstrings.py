"""Every public name has a numpydoc docstring with a runnable example.

The examples themselves run as doctests (``--doctest-modules``); this checks that
none is missing, for the names of ``sklearn_nmfx.__all__`` and
``sklearn_nmfx.topics.__all__``.
"""

import inspect

import pytest

import sklearn_nmfx
from sklearn_nmfx import topics

PUBLIC = [(sklearn_nmfx, name) for name in sklearn_nmfx.__all__] + [
    (topics, name) for name in topics.__all__]


@pytest.mark.parametrize("module, name", PUBLIC, ids=[name for _, name in PUBLIC])
def test_public_name_has_a_numpydoc_docstring_with_an_example(module, name):
    doc = inspect.getdoc(getattr(module, name)) or ""
    for section in ("Parameters", "Returns" if not inspect.isclass(getattr(module, name))
                    else "Attributes", "Examples"):
        assert f"\n{section}\n{'-' * len(section)}\n" in doc, f"{name}: no {section}"
    assert "\n>>> " in doc.split("\nExamples\n", 1)[1], f"{name}: no doctest"
