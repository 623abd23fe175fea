"""Every NMF estimator follows X's scale (issue 19).

``fit(c * X)`` for c from 1e-6 to 1e10 reaches a relative error within 10% of
scikit-learn's NMF on the same data, and its components are those of X times
``sqrt(c)``. AutogradNMF used to end at H = 0 on X * 1e10, SGDNMF at relative error
0.8 on a matrix with one entry of 1e60 among O(1) entries. MUNMF and SGDNMF fit X
itself in the band [2**-10, 2**10) of its largest entry, else X / s for s a power of
4**10, the same minimization (penalties, start, mask mapped), scaled back exactly.
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


# -- MUNMF and SGDNMF: the fit of X / s (issue 19) ---------------------------------
BAND = 4.0 ** 10  # the step of banded_scale: X and BAND * X have the same working data


@pytest.mark.parametrize("largest, scale", [
    (2.0 ** -10, 1.0), (1.0, 1.0), (1000.0, 1.0), (2.0 ** 10 * (1 - 2 ** -52), 1.0),
    (2.0 ** 10, BAND), (3e6, BAND), (2.0 ** -10 * (1 - 2 ** -52), 1 / BAND),
    (1e60, BAND ** 10), (1e-100, BAND ** -17), (0.0, 1.0),
])
def test_banded_scale_is_one_for_ordinary_data_and_follows_bands(largest, scale):
    from types import SimpleNamespace

    from sklearn_nmfx._base import banded_scale

    assert banded_scale(SimpleNamespace(max_value=largest), 2.0) == scale
    if largest:  # the band of BAND * X is that of X, one up: exactly
        assert banded_scale(SimpleNamespace(max_value=largest * BAND), 2.0) == scale * BAND


def _mapped_alpha(alpha, l1_ratio, beta, c):
    """The alpha on X of the problem that alpha is on c X (l1_ratio 0 or 1): the
    penalties of W and H scale by sqrt(c) (L1) or c (L2), the divergence by c**beta."""
    return alpha * c ** ((0.5 if l1_ratio else 1.0) - beta)


MAPPED_CASES = {
    "frobenius": ({}, {}),
    "kl": ({"beta_loss": "kullback-leibler"}, {}),
    "beta-0.5": ({"beta_loss": 0.5}, {}),
    "beta-3": ({"beta_loss": 3.0}, {}),
    "l2": ({"alpha_W": 0.01, "l1_ratio": 0.0}, {}),
    "l1-kl": ({"alpha_W": 0.001, "alpha_H": 0.002, "l1_ratio": 1.0,
               "beta_loss": "kullback-leibler"}, {}),
    "custom": ({"init": "custom"}, {"custom": True}),
    "fixed": ({}, {"fixed": True}),
    "mask": ({}, {"mask": True}),
    "mask-kl": ({"beta_loss": 1.0}, {"mask": True}),
}


@pytest.mark.parametrize("case", list(MAPPED_CASES))
@pytest.mark.parametrize("name", ["MUNMF", "SGDNMF", "SGDNMF-minibatch"])
@pytest.mark.parametrize("c", [BAND, 1 / BAND, BAND ** 3])
def test_fit_of_band_scaled_data_is_the_fit_of_the_mapped_problem(name, case, c):
    """fit(c X) for c a power of 4**10 is the fit of X scaled back exactly, with the
    penalties, the start, the fixed rows and the mask mapped: the same minimization."""
    params, options = MAPPED_CASES[case]
    make = {"MUNMF": lambda **p: MUNMF(3, random_state=0, max_iter=100, **p),
            "SGDNMF": lambda **p: SGDNMF(3, random_state=0, max_iter=50, **p),
            "SGDNMF-minibatch": lambda **p: SGDNMF(3, random_state=0, batch_size=8,
                                                   max_iter=20, **p)}[name]
    beta = {"kullback-leibler": 1.0}.get(params.get("beta_loss"), params.get("beta_loss", 2.0))
    X = _exact() + 0.01
    root = np.sqrt(c)
    unit_params, fit, scaled_fit = dict(params), {}, {}
    for key in ("alpha_W", "alpha_H"):
        if key in params:
            unit_params[key] = _mapped_alpha(params[key], params["l1_ratio"], beta, c)
    rng = np.random.RandomState(5)
    if options.get("custom"):
        W0, H0 = rng.rand(30, 3), rng.rand(3, 12)
        fit, scaled_fit = {"W": W0, "H": H0}, {"W": W0 * root, "H": H0 * root}
    if options.get("fixed"):
        H0 = rng.rand(1, 12)
        fit = {"H": H0, "fixed_components": [1]}
        scaled_fit = {"H": H0 * root, "fixed_components": [1]}
    if options.get("mask"):
        mask = rng.rand(*X.shape) > 0.2
        fit["mask"] = scaled_fit["mask"] = mask
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        unit = make(**unit_params).fit(X, **fit)
        scaled_X, scaled_args = X * c, {k: v.copy() if hasattr(v, "copy") else v
                                        for k, v in scaled_fit.items()}
        scaled = make(**params).fit(scaled_X, **scaled_args)
    # the caller's arrays are left as they were
    np.testing.assert_array_equal(scaled_X, X * c)
    for key, value in scaled_args.items():
        np.testing.assert_array_equal(value, scaled_fit[key])
    np.testing.assert_array_equal(scaled.components_, unit.components_ * root)
    if options.get("fixed"):
        np.testing.assert_array_equal(scaled.components_[1], H0[0] * root)
    mask = fit.get("mask")
    np.testing.assert_array_equal(scaled.transform(X * c, mask=mask),
                                  unit.transform(X, mask=mask) * root)
    assert scaled.n_iter_ == unit.n_iter_
    assert scaled.reconstruction_err_ == pytest.approx(
        unit.reconstruction_err_ * c ** (beta / 2), rel=1e-12)
    np.testing.assert_allclose(scaled.loss_curve_, np.asarray(unit.loss_curve_) * c ** beta,
                               rtol=1e-12)


@pytest.mark.parametrize("c", [BAND, 1 / BAND])
@pytest.mark.parametrize("beta_loss", ["frobenius", "kullback-leibler"])
def test_partial_fit_of_band_scaled_chunks_is_the_stream_of_x(c, beta_loss):
    X = _exact() + 0.01
    unit = SGDNMF(3, random_state=0, batch_size=8, beta_loss=beta_loss)
    scaled = SGDNMF(3, random_state=0, batch_size=8, beta_loss=beta_loss)
    for chunk in np.array_split(X, 3):
        unit.partial_fit(chunk)
        scaled.partial_fit(chunk * c)
        np.testing.assert_array_equal(scaled.components_, unit.components_ * np.sqrt(c))
        beta = 2.0 if beta_loss == "frobenius" else 1.0
        assert scaled.reconstruction_err_ == pytest.approx(
            unit.reconstruction_err_ * c ** (beta / 2), rel=1e-12)
    np.testing.assert_array_equal(scaled.transform(X * c), unit.transform(X) * np.sqrt(c))
    # a fit goes on with partial_fit in its own working units
    fitted_unit = SGDNMF(3, random_state=0, beta_loss=beta_loss).fit(X[:20])
    fitted_scaled = SGDNMF(3, random_state=0, beta_loss=beta_loss).fit(X[:20] * c)
    fitted_unit.partial_fit(X[20:])
    fitted_scaled.partial_fit(X[20:] * c)
    np.testing.assert_array_equal(fitted_scaled.components_,
                                  fitted_unit.components_ * np.sqrt(c))


@pytest.mark.parametrize("storage", ["csr", "float32", "torch", "dask"])
@pytest.mark.parametrize("cls", [MUNMF, SGDNMF])
def test_band_scaled_fit_is_exact_whatever_the_storage(cls, storage):
    import scipy.sparse as sp

    X = _exact() + 0.01
    X[X < 0.3] = 0.0
    params, to = {}, np.asarray
    if storage == "csr":
        to = sp.csr_matrix
    elif storage == "float32":
        def to(A):
            return A.astype(np.float32)
    elif storage == "torch":
        pytest.importorskip("torch")
        params = {"device": "torch"}
    else:
        if cls is SGDNMF:
            pytest.skip("SGDNMF takes in-memory X only")
        da = pytest.importorskip("dask.array")

        def to(A):
            return da.from_array(A, chunks=(10, 12))
    unit = cls(3, random_state=0, **params).fit(to(X))
    scaled = cls(3, random_state=0, **params).fit(to(X * BAND))
    np.testing.assert_array_equal(scaled.components_, unit.components_ * 2.0 ** 10)
    W_unit, W_scaled = unit.transform(to(X)), scaled.transform(to(X * BAND))
    if storage == "dask":
        W_unit, W_scaled = W_unit.compute(), W_scaled.compute()
    np.testing.assert_array_equal(W_scaled, W_unit * 2.0 ** 10)
