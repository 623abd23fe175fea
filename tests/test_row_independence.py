"""The W of a row does not depend on the other rows of the batch (issue 19).

``transform`` of a row alone, of a few rows, and of the rows among others (a row
of a very different scale among them) give the same W, for every NMF estimator:
AutogradNMF used to fit the batch with one optimizer (L-BFGS's line search, a
reparametrization and masked Frobenius losses coupled the rows: 1e-2, 5e-5, 7e-5
relative to max |W|), and the MU row solve of MUNMF and SGDNMF took the floor of
W H from the batch's largest entry (one row 1e7 times larger moved the others'
W by 100%).
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_nmfx import MUNMF, SGDNMF, AutogradNMF


def _data(seed=0, missing=False):
    rng = np.random.RandomState(seed)
    X = rng.rand(24, 10) ** 2
    X[X < 0.1] = 0.0
    X[:12] *= 1e-6  # rows of a small scale
    if missing:
        X[rng.rand(*X.shape) < 0.1] = np.nan
    return X


def _assert_rows_independent(model, X, fmt="dense"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
        rows = X[:3]
        others = np.vstack([rows, X[12:20], X[20:21] * 1e7])
        as_input = (lambda A: sp.csr_matrix(A)) if fmt == "csr" else (lambda A: A)
        alone = np.vstack([model.transform(as_input(X[i:i + 1])) for i in range(3)])
        together = model.transform(as_input(rows))
        among = model.transform(as_input(others))[:3]
    scale = np.abs(alone).max()
    assert scale > 0
    np.testing.assert_allclose(together, alone, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(among, alone, rtol=0, atol=1e-12 * scale)


@pytest.mark.parametrize("cls", [MUNMF, SGDNMF])
@pytest.mark.parametrize("beta_loss", ["kullback-leibler", 1.5])
@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_mu_row_solve_takes_its_floor_from_the_row(cls, beta_loss, fmt):
    X = _data()
    _assert_rows_independent(cls(3, beta_loss=beta_loss, random_state=0, max_iter=100), X, fmt)


def test_mu_row_solve_with_missing_entries_and_on_torch():
    pytest.importorskip("torch")
    X = _data(missing=True)
    _assert_rows_independent(MUNMF(3, beta_loss="kullback-leibler", random_state=0,
                                   max_iter=100, device="torch"), X)


@pytest.mark.parametrize("params", [
    {},
    {"optimizer": "lbfgs"},
    {"nonnegativity": "softplus"},
    {"nonnegativity": "exp", "beta_loss": "kullback-leibler"},
    {"beta_loss": 1.5},
    {"optimizer": "sgd"},
], ids=lambda p: "-".join(f"{v}" for v in p.values()) or "default")
def test_autograd_transform_of_a_row_does_not_depend_on_the_batch(params):
    pytest.importorskip("torch")
    X = _data()
    _assert_rows_independent(AutogradNMF(3, random_state=0, max_iter=100, **params), X)


def test_autograd_masked_frobenius_transform_is_row_by_row():
    pytest.importorskip("torch")
    X = _data(missing=True)
    model = AutogradNMF(3, random_state=0, max_iter=100)
    _assert_rows_independent(model, X)
    # fit_transform is fit(X).transform(X), and the parametrizations keep W > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        W = model.fit_transform(X)
        np.testing.assert_array_equal(W, model.transform(X))
        positive = AutogradNMF(3, random_state=0, max_iter=50, nonnegativity="softplus")
        assert positive.fit_transform(_data()).min() > 0
