"""Every public name has a numpydoc docstring with a runnable example.

The examples themselves run as doctests (``--doctest-modules``); this checks that
none is missing, for the names of ``sklearn_nmfx.__all__``,
``sklearn_nmfx.topics.__all__`` and ``sklearn_nmfx.model_selection.__all__``.
"""

import inspect

import pytest

import sklearn_nmfx
from sklearn_nmfx import model_selection, topics

PUBLIC = [(sklearn_nmfx, name) for name in sklearn_nmfx.__all__] + [
    (topics, name) for name in topics.__all__] + [
    (model_selection, name) for name in model_selection.__all__]


@pytest.mark.parametrize("module, name", PUBLIC, ids=[name for _, name in PUBLIC])
def test_public_name_has_a_numpydoc_docstring_with_an_example(module, name):
    doc = inspect.getdoc(getattr(module, name)) or ""
    for section in ("Parameters", "Returns" if not inspect.isclass(getattr(module, name))
                    else "Attributes", "Examples"):
        assert f"\n{section}\n{'-' * len(section)}\n" in doc, f"{name}: no {section}"
    assert "\n>>> " in doc.split("\nExamples\n", 1)[1], f"{name}: no doctest"


# -- shared parameters: one text, written out in each class (as scikit-learn does) ----
ESTIMATORS = [getattr(sklearn_nmfx, name) for name in sklearn_nmfx.__all__
              if inspect.isclass(getattr(sklearn_nmfx, name))]

# Parameters whose meaning differs between the estimators that take them, and why;
# every other parameter taken by several estimators must read the same in each.
DIFFERS = {
    "n_components": "TruncatedSVDTopics takes scikit-learn's TruncatedSVD default (2)",
    "random_state": "what is drawn at random differs (start, shuffling, ARPACK's vector)",
    "tol": "each solver has its own stopping rule",
    "max_iter": "iterations, epochs or optimizer steps",
    "verbose": "the objective is printed per iteration, epoch or step",
    "device": "AutogradNMF runs on PyTorch only: None is PyTorch's CPU",
    "beta_loss": "AutogradNMF also takes a callable loss",
    "learning_rate": "SGDNMF's H step schedule, AutogradNMF's optimizer step",
    "alpha_H": "SGDNMF scales it by the rows of a minibatch, as MiniBatchNMF does",
    "shuffle": "a no-op in MUNMF (as in scikit-learn's mu solver), SGDNMF's row order",
}


def parameter_texts(cls):
    """{name: its text} from the Parameters section of a class docstring."""
    doc = inspect.getdoc(cls)
    section = doc.split("\nParameters\n----------\n", 1)[1].split("\nAttributes\n", 1)[0]
    texts, name = {}, None
    for line in section.splitlines():
        if line and not line.startswith(" ") and " : " in line:
            name = line.split(" : ", 1)[0]
            texts[name] = []
        texts[name].append(line)
    return {name: "\n".join(lines).strip() for name, lines in texts.items()}


def test_a_parameter_shared_by_several_estimators_reads_the_same_in_each():
    texts = {cls.__name__: parameter_texts(cls) for cls in ESTIMATORS}
    for cls in ESTIMATORS:  # the docstring documents every parameter, in order
        assert list(texts[cls.__name__]) == list(inspect.signature(cls).parameters)
    names = {name for params in texts.values() for name in params}
    shared = {name for name in names
              if sum(name in params for params in texts.values()) > 1}
    assert set(DIFFERS) <= shared  # no stale entry
    for name in sorted(shared - set(DIFFERS)):
        versions = {params[name] for params in texts.values() if name in params}
        assert len(versions) == 1, f"{name!r} is documented differently:\n\n" + \
            "\n\n".join(sorted(versions))
