"""Property-based tests (hypothesis) of MUNMF and its kernel, on small matrices."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from sklearn_nmfx import MUNMF
from sklearn_nmfx._backend import resolve_backend
from sklearn_nmfx._kernels.init import initialize_factors
from sklearn_nmfx._kernels.mu import multiplicative_update


@st.composite
def nonnegative_matrices(draw, max_side=12):
    """Random non-negative matrices: shapes 1x1 to tall and wide, densities 0-1,
    both dtypes, dense, CSR or CSC, values over many scales."""
    n_samples = draw(st.integers(1, max_side))
    n_features = draw(st.integers(1, max_side))
    density = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    scale = draw(st.sampled_from([1e-6, 1.0, 1e6]))
    fmt = draw(st.sampled_from(["dense", "csr", "csc"]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.RandomState(seed)
    X = rng.rand(n_samples, n_features) * (rng.rand(n_samples, n_features) < density)
    X = (X * scale).astype(dtype)
    return X if fmt == "dense" else sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)


def _fit(X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MUNMF(**params)
        return model, model.fit_transform(X)


def _frobenius(X, W, H):
    X = X.toarray() if sp.issparse(X) else X
    return np.linalg.norm(X.astype(np.float64) - W.astype(np.float64) @ H.astype(np.float64))


@given(X=nonnegative_matrices(), n_components=st.integers(1, 4),
       beta_loss=st.sampled_from(["frobenius", "kullback-leibler", 1.5]))
def test_factors_are_nonnegative_finite_and_of_X_dtype(X, n_components, beta_loss):
    model, W = _fit(X, n_components=n_components, init="random", beta_loss=beta_loss,
                    random_state=0, max_iter=30)
    for A in (W, model.components_):
        assert A.dtype == X.dtype
        assert np.all(np.isfinite(A)) and np.all(A >= 0)
    assert np.isfinite(model.reconstruction_err_)


@given(X=nonnegative_matrices(), n_components=st.integers(1, 4))
def test_frobenius_objective_never_increases(X, n_components):
    X = X.astype(np.float64)  # monotonicity is exact arithmetic; float64 keeps round-off tiny
    B = resolve_backend(None)
    data = B.data_matrix(X)
    W0, H0 = initialize_factors(data, n_components, "random", 0)
    *_, history, _ = multiplicative_update(
        data, W0, np.ascontiguousarray(H0.T), beta=2.0, l1_W=0.0, l2_W=0.0, l1_H=0.0,
        l2_H=0.0, max_iter=25, tol=0.0, check_every=1,
    )
    objectives = np.array([value for _, value in history])
    assert np.all(np.diff(objectives) <= 1e-9 * max(objectives[0], 1e-300))


@given(X=nonnegative_matrices(), n_components=st.integers(1, 4))
def test_transform_reconstructs_as_well_as_the_fit(X, n_components):
    model, W = _fit(X, n_components=n_components, init="random", random_state=0, max_iter=100)
    W_new = model.transform(X)
    np.testing.assert_array_equal(W_new, W)  # fit_transform is fit().transform()
    X_back = model.inverse_transform(W_new)
    scale = np.linalg.norm(X.toarray() if sp.issparse(X) else X) + 1e-30
    err = _frobenius(X, W_new, model.components_)
    assert abs(err - model.reconstruction_err_) <= 1e-3 * scale
    X_dense = X.toarray() if sp.issparse(X) else X
    assert np.linalg.norm(X_dense - X_back) <= err + 1e-3 * scale


@given(X=nonnegative_matrices(max_side=8), n_components=st.integers(1, 3))
def test_numpy_and_torch_backends_agree(X, n_components):
    pytest.importorskip("torch")
    X = X.astype(np.float64)
    a, _ = _fit(X, n_components=n_components, init="random", random_state=0, max_iter=20)
    b, _ = _fit(X, n_components=n_components, init="random", random_state=0, max_iter=20,
                device="torch")
    scale = np.abs(a.components_).max() + 1e-300
    np.testing.assert_allclose(b.components_, a.components_, rtol=1e-6, atol=1e-8 * scale)


# -- every estimator (issue 7) -------------------------------------------------------
def _estimators():
    from sklearn_nmfx import SGDNMF, AutogradNMF, TruncatedSVDTopics

    cases = [(MUNMF, {"max_iter": 30}), (SGDNMF, {"max_iter": 5, "batch_size": 4}),
             (TruncatedSVDTopics, {"algorithm": "randomized"})]
    try:
        import torch  # noqa: F401
    except ImportError:
        return cases
    return cases + [(AutogradNMF, {"max_iter": 30})]


@st.composite
def scaled_matrices(draw):
    """nonnegative_matrices() times a scale that may be out of the dtype's range."""
    X = draw(nonnegative_matrices(max_side=6))
    return X * X.dtype.type(draw(st.sampled_from([1e-30, 1e-3, 1.0, 1e3, 1e30])))


@settings(max_examples=20)
@given(X=scaled_matrices(), n_components=st.integers(1, 3),
       case=st.sampled_from(range(len(_estimators()))),
       device=st.sampled_from([None, "torch"]))
def test_every_estimator_gives_finite_results_or_says_why(X, n_components, case, device):
    """Any shape, density, format, dtype and scale: finite results of X's dtype, W >= 0
    for NMF, transform bit-identical to fit_transform, or a ValueError telling to
    rescale X (NMF) / a RuntimeError naming the overflow (SVD's variances)."""
    cls, params = _estimators()[case]
    if device == "torch":
        pytest.importorskip("torch")
    if cls.__name__ == "TruncatedSVDTopics":
        n_components = min(n_components, *X.shape)
    model = cls(n_components=n_components, random_state=0, device=device, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            W = model.fit_transform(X)
        except ValueError as exc:
            assert "Rescale X" in str(exc)
            return
        except RuntimeError as exc:
            assert "overflow" in str(exc) and cls.__name__ == "TruncatedSVDTopics"
            return
        W_again = model.transform(X)
    np.testing.assert_array_equal(W_again, W)
    for A in (W, model.components_):
        assert A.dtype == X.dtype
        assert np.all(np.isfinite(A))
    if cls.__name__ != "TruncatedSVDTopics":
        assert np.all(W >= 0) and np.all(model.components_ >= 0)
