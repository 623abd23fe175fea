"""Every NMF estimator follows X's scale (issue 19).

``fit(c * X)`` for c from 1e-6 to 1e10 reaches a relative error within 10% of
scikit-learn's NMF on the same data, and its components are those of X times
``sqrt(c)``. AutogradNMF used to end at H = 0 on X * 1e10, SGDNMF at relative error
0.8 on a matrix with one entry of 1e60 among O(1) entries.
"""

import warnings

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from sklearn.decomposition import NMF

from sklearn_nmfx import MUNMF, SGDNMF, AutogradNMF

SCALES = [1e-6, 4.0 ** -10, 1.0, 1e6, 1e10]


def _data():
    rng = np.random.RandomState(0)
    X = rng.rand(30, 3) @ rng.rand(3, 12) + 0.05 * rng.rand(30, 12)
    X[X < 0.3] = 0.0
    return X


def _exact():
    """An exactly low-rank X whose factorization is unique (each topic has a word of
    its own, each document type a row of its own): every good fit finds its H."""
    rng = np.random.RandomState(1)
    W = np.vstack([np.eye(3), rng.rand(27, 3)])
    H = np.hstack([np.eye(3), rng.rand(3, 9)])
    return W @ H


def _estimators():
    return {
        "MUNMF": lambda: MUNMF(3, random_state=0, max_iter=400),
        "SGDNMF": lambda: SGDNMF(3, random_state=0, max_iter=400),
        "SGDNMF-minibatch": lambda: SGDNMF(3, random_state=0, batch_size=10, max_iter=200,
                                           tol=0, max_no_improvement=None),
        "AutogradNMF": lambda: AutogradNMF(3, random_state=0, max_iter=400),
    }


def _topics(H, reference=None):
    """The rows of H of unit norm, in the order of the rows of ``reference`` that
    they match best (the components of a fit come in any order)."""
    unit = H / np.linalg.norm(H, axis=1, keepdims=True)
    if reference is None:
        return unit
    _, order = linear_sum_assignment(-(_topics(reference) @ unit.T))
    return unit[order]


def _relative_error(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        W = model.fit_transform(X)
    return np.linalg.norm(X - W @ model.components_) / np.linalg.norm(X)


def _reference_error(X):
    return _relative_error(NMF(3, init="nndsvda", random_state=0, max_iter=400), X)


@pytest.mark.parametrize("name", list(_estimators()))
@pytest.mark.parametrize("c", SCALES)
def test_fit_of_scaled_data_is_as_good_as_scikit_learn(name, c):
    if name == "AutogradNMF":
        pytest.importorskip("torch")
    X = _data() * c
    error = _relative_error(_estimators()[name](), X)
    assert error <= 1.1 * _reference_error(X) + 1e-12
    # the components of c X are those of X, up to the scale
    unit, scaled = _estimators()[name](), _estimators()[name]()
    _relative_error(unit, _exact())
    _relative_error(scaled, _exact() * c)
    np.testing.assert_allclose(_topics(scaled.components_, unit.components_),
                               _topics(unit.components_), rtol=0, atol=5e-3)
    if c in (1.0, 4.0 ** -10):  # a power of 4: the fit is X's, scaled exactly
        np.testing.assert_array_equal(scaled.components_, unit.components_ * np.sqrt(c))


@pytest.mark.parametrize("name", ["MUNMF", "SGDNMF", "AutogradNMF"])
@pytest.mark.parametrize("shape, position", [((50, 30), (10, 10)), ((30, 20), (3, 4))])
def test_one_huge_entry_among_unit_entries_is_fitted(name, shape, position):
    if name == "AutogradNMF":
        pytest.importorskip("torch")
    rng = np.random.RandomState(3)
    X = rng.rand(*shape)
    X[position] = 1e60
    params = {"batch_size": 16} if name == "SGDNMF" else {}
    model = {"MUNMF": MUNMF, "SGDNMF": SGDNMF, "AutogradNMF": AutogradNMF}[name](
        4, random_state=0, **params)
    assert _relative_error(model, X) < 1e-6
