"""MUNMF: parity with scikit-learn's NMF, attributes, losses, errors, round trips."""

import importlib.util
import pickle
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.decomposition import NMF
from sklearn.decomposition._nmf import _initialize_nmf
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.extmath import randomized_svd

from sklearn_nmfx import MUNMF, SGDNMF, AutogradNMF
from sklearn_nmfx._backend import NumpyBackend
from sklearn_nmfx._kernels.init import initialize_factors
from sklearn_nmfx._kernels.svd import randomized_svd as our_randomized_svd

from .conftest import low_rank_data


@pytest.mark.parametrize("init", ["random", "nndsvd", "nndsvda", "nndsvdar"])
@pytest.mark.parametrize("sparse", [False, True])
def test_init_is_scikit_learns(init, sparse):
    X = low_rank_data(25, 18)
    if sparse:
        X[X < 0.5] = 0
        X = sp.csr_matrix(X)
    W, H = initialize_factors(NumpyBackend().data_matrix(X), 5, init, random_state=3)
    W_ref, H_ref = _initialize_nmf(X, 5, init=init, random_state=3)
    np.testing.assert_allclose(W, W_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(H, H_ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("wide", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [True, False])
@pytest.mark.parametrize("transposed", [True, False])
def test_randomized_svd_on_threaded_products_is_scikit_learns_bit_for_bit(
        wide, dtype, sparse, transposed):
    # the NNDSVD starts' randomized SVD on the DataMatrix's threaded products (row
    # blocks of X, CSR copy of X.T, or SciPy's X.T @ G without it) gives
    # scikit-learn's result exactly
    X = sp.random(300, 2000, density=0.4, random_state=0, format="csr", dtype=dtype)
    X = X if wide else X.T.tocsr()
    X.sort_indices()
    X = X if sparse else X.toarray()
    backend = NumpyBackend()
    backend._n_threads = 2  # threaded whatever this machine's cores
    data = backend.data_matrix(X)
    if transposed:
        data.keep_transpose()
    assert (backend.row_blocks(X) is not None) == sparse
    got = our_randomized_svd(data, 5, n_oversamples=10, n_iter="auto", random_state=0,
                             B=backend, scheme="scikit-learn")
    for ours, ref in zip(got, randomized_svd(X, 5, random_state=0)):
        assert ours.dtype == ref.dtype
        np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("cls", [MUNMF, SGDNMF, AutogradNMF])
def test_every_nmf_starts_from_scikit_learns_nndsvda_on_threads(cls, monkeypatch):
    # the start of a sparse X runs its randomized SVD on the NumPy backend's threads
    # (AutogradNMF's and SGDNMF's as well as MUNMF's), with BLAS on one thread:
    # scikit-learn's start to rounding
    import sklearn_nmfx._backend as backend_module

    monkeypatch.setattr(backend_module, "_cpu_threads", lambda: 2)
    X = sp.random(300, 2000, density=0.4, random_state=0, format="csr")
    X.sort_indices()
    assert NumpyBackend().row_blocks(X) is not None
    model = cls(5, random_state=3)
    data = model._data(X, None, model._backend(), reset=True, method="fit")
    W, H, _ = model._start(data, None, None, 5)
    W_ref, H_ref = _initialize_nmf(X, 5, init="nndsvda", random_state=3)
    np.testing.assert_allclose(W, W_ref, rtol=1e-9, atol=1e-12 * W_ref.max())
    np.testing.assert_allclose(H, H_ref, rtol=1e-9, atol=1e-12 * H_ref.max())


@pytest.mark.parametrize("beta_loss", ["frobenius", "kullback-leibler", 0.5, 3.0])
def test_error_close_to_scikit_learn_mu(beta_loss):
    X = low_rank_data(40, 30, noise=0.05)
    ours = MUNMF(4, beta_loss=beta_loss, random_state=0, max_iter=500, tol=1e-6).fit(X)
    ref = NMF(4, solver="mu", beta_loss=beta_loss, random_state=0, max_iter=500, tol=1e-6).fit(X)
    assert ours.reconstruction_err_ <= ref.reconstruction_err_ * 1.02


def test_itakura_saito_on_positive_data():
    X = low_rank_data(30, 20, noise=0.1) + 0.1
    ours = MUNMF(3, beta_loss="itakura-saito", random_state=0, max_iter=300).fit(X)
    ref = NMF(3, solver="mu", beta_loss="itakura-saito", random_state=0, max_iter=300).fit(X)
    assert ours.reconstruction_err_ <= ref.reconstruction_err_ * 1.05
    assert np.all(ours.components_ >= 0)


@pytest.mark.parametrize("beta_loss", ["frobenius", "kullback-leibler", 1.5, 0.5])
def test_sparse_and_dense_agree(beta_loss):
    X = low_rank_data(30, 25)
    X[X < 0.6] = 0
    params = dict(beta_loss=beta_loss, init="random", random_state=0, max_iter=300)
    dense = MUNMF(3, **params).fit(X)
    sparse = MUNMF(3, **params).fit(sp.csr_matrix(X))
    if beta_loss == "frobenius":
        # the accelerated path repeats each update by a count that depends on the
        # cost of a product with X (nnz), so the iterates differ; the fits agree
        assert dense.reconstruction_err_ == pytest.approx(sparse.reconstruction_err_, rel=1e-2)
    else:
        np.testing.assert_allclose(dense.components_, sparse.components_, rtol=1e-6, atol=1e-9)
        assert dense.reconstruction_err_ == pytest.approx(sparse.reconstruction_err_, rel=1e-6)


def test_fit_transform_is_fit_then_transform():
    X = sp.random(60, 40, density=0.3, random_state=0, format="csr")
    model = MUNMF(5, random_state=0)
    W = model.fit_transform(X)
    np.testing.assert_array_equal(W, model.transform(X))
    np.testing.assert_array_equal(W, MUNMF(5, random_state=0).fit(X).transform(X))


def test_transform_rows_are_independent():
    X = low_rank_data(50, 20)
    model = MUNMF(4, random_state=0).fit(X)
    W = model.transform(X)
    np.testing.assert_allclose(model.transform(X[10:17]), W[10:17], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.transform(X[::-1]), W[::-1], rtol=1e-10, atol=1e-12)


def test_inverse_transform_reconstructs():
    X = low_rank_data(40, 30, rank=3, noise=0.0)
    model = MUNMF(3, random_state=0, max_iter=1000, tol=1e-8).fit(X)
    X_back = model.inverse_transform(model.transform(X))
    assert np.linalg.norm(X - X_back) / np.linalg.norm(X) < 1e-3


def test_inverse_transform_takes_the_former_name_xt_as_scikit_learn_1_6_does():
    X = low_rank_data(20, 10, rank=3)
    model = MUNMF(3, random_state=0).fit(X)
    W = model.transform(X)
    with pytest.warns(FutureWarning, match="Xt was renamed X"):
        np.testing.assert_array_equal(model.inverse_transform(Xt=W), model.inverse_transform(W))
    with pytest.raises(TypeError, match="Missing required positional argument"):
        model.inverse_transform()
    with pytest.raises(TypeError, match="Cannot use both X and Xt"):
        model.inverse_transform(W, Xt=W)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("device", [None, "torch"])
def test_dtype_is_kept_and_results_are_numpy(dtype, device):
    X = low_rank_data(30, 20, dtype=dtype)
    model = MUNMF(3, random_state=0, device=device)
    W = model.fit_transform(X)
    assert type(W) is np.ndarray and W.dtype == dtype
    assert type(model.components_) is np.ndarray and model.components_.dtype == dtype
    assert model.transform(X).dtype == dtype


@pytest.mark.parametrize("beta_loss", ["frobenius", "kullback-leibler", 0.5])
@pytest.mark.parametrize("sparse", [False, True])
def test_torch_on_cpu_agrees_with_numpy(beta_loss, sparse):
    pytest.importorskip("torch")
    X = low_rank_data(40, 30)
    X[X < 0.5] = 0
    if sparse:
        X = sp.csr_matrix(X)
    ours = MUNMF(4, beta_loss=beta_loss, random_state=0, max_iter=100).fit(X)
    torch_ = MUNMF(4, beta_loss=beta_loss, random_state=0, max_iter=100, device="torch").fit(X)
    np.testing.assert_allclose(torch_.components_, ours.components_, rtol=1e-6, atol=1e-8)
    assert torch_.reconstruction_err_ == pytest.approx(ours.reconstruction_err_, rel=1e-6)


def test_torch_device_object_is_accepted():
    torch = pytest.importorskip("torch")
    X = low_rank_data(20, 10)
    a = MUNMF(2, random_state=0, device=torch.device("cpu")).fit(X)
    b = MUNMF(2, random_state=0).fit(X)
    np.testing.assert_allclose(a.components_, b.components_, rtol=1e-6)


def test_objective_never_increases_and_history_is_kept():
    X = sp.random(80, 60, density=0.2, random_state=1, format="csr")
    model = MUNMF(6, init="random", random_state=0, max_iter=300, tol=0).fit(X)
    curve = np.array(model.loss_curve_)
    assert len(curve) == 31
    assert np.all(np.diff(curve) <= 1e-12 * curve[0])


def test_same_seed_same_result_and_convergence_warning():
    X = low_rank_data(30, 20)
    with pytest.warns(ConvergenceWarning, match="Maximum number of iterations 5"):
        a = MUNMF(3, init="random", random_state=7, max_iter=5).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        b = MUNMF(3, init="random", random_state=7, max_iter=5).fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)
    assert a.n_iter_ == 5


def test_regularization_l1_makes_factors_sparser():
    X = low_rank_data(40, 30, noise=0.05)
    plain = MUNMF(5, random_state=0, max_iter=400).fit(X)
    l1 = MUNMF(5, random_state=0, max_iter=400, alpha_W=0.01, l1_ratio=1.0).fit(X)
    small = lambda a: np.mean(a < 1e-6 * a.max())  # noqa: E731
    assert small(l1.components_) + small(l1.transform(X)) > small(plain.components_) + small(
        plain.transform(X)
    )
    assert l1.reconstruction_err_ > plain.reconstruction_err_


@pytest.mark.parametrize("order", ["C", "F"])
def test_custom_init_uses_given_factors_and_does_not_modify_them(order):
    # the solver works in three arrays per factor in turn; H given in Fortran order
    # makes H.T a C-ordered view that must not be one of them
    X = low_rank_data(20, 15)
    rng = np.random.RandomState(0)
    W0, H0 = rng.rand(20, 3), rng.rand(3, 15)
    W0, H0 = np.asarray(W0, order=order), np.asarray(H0, order=order)
    W_copy, H_copy = W0.copy(), H0.copy()
    model = MUNMF(init="custom", max_iter=5, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, W=W0, H=H0)
    assert model.n_components_ == 3  # 'auto' takes the shape of H
    np.testing.assert_array_equal(W0, W_copy)
    np.testing.assert_array_equal(H0, H_copy)


def test_verbose_prints_progress(capsys):
    MUNMF(2, random_state=0, verbose=1, max_iter=20).fit(low_rank_data(10, 8))
    assert "MUNMF iteration    0: objective" in capsys.readouterr().out


@pytest.mark.parametrize("device", [None, "torch"])
def test_pickle_and_clone_round_trip(device):
    X = low_rank_data(30, 20)
    model = MUNMF(3, random_state=0, device=device).fit(X)
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    assert clone(model).get_params() == model.get_params()


def test_all_zero_rows_and_columns_give_zero_not_nan():
    X = low_rank_data(20, 15)
    X[3] = 0
    X[:, 5] = 0
    for device in [None] + (["torch"] if importlib.util.find_spec("torch") else []):
        model = MUNMF(3, random_state=0, device=device)
        W = model.fit_transform(sp.csr_matrix(X))
        assert np.all(np.isfinite(W)) and np.all(np.isfinite(model.components_))
        assert np.all(W[3] == 0)


def test_feature_names_out():
    model = MUNMF(3, random_state=0).fit(low_rank_data(10, 8))
    assert list(model.get_feature_names_out()) == ["nmf0", "nmf1", "nmf2"]


# -- bad input ----------------------------------------------------------------------


def test_negative_values_are_reported_with_count_and_position():
    X = low_rank_data(10, 6)
    X[2, 4] = -1.5
    X[7, 1] = -0.5
    with pytest.raises(ValueError, match=r"Negative values in data passed to MUNMF.fit: 2 "
                       r"negative entries, the first at row 2, column 4 \(value -1.5\)"):
        MUNMF(2).fit(X)
    with pytest.raises(ValueError, match="row 2, column 4"):
        MUNMF(2).fit(sp.csr_matrix(X))


def test_inf_is_rejected():
    # NaN marks a missing entry (tests/test_missing.py); infinity stays an error
    X = low_rank_data(10, 6)
    X[1, 1] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        MUNMF(2).fit(X)


def test_too_many_components_for_nndsvd():
    with pytest.raises(ValueError, match=r"init = 'nndsvda' can only be used when n_components"):
        MUNMF(12, init="nndsvda").fit(low_rank_data(10, 8))


def test_custom_factors_of_wrong_shape_dtype_or_sign():
    X = low_rank_data(10, 8)
    W, H = np.ones((10, 2)), np.ones((2, 8))
    with pytest.raises(ValueError, match=r"wrong first dimension passed to MUNMF \(input W\)"):
        MUNMF(2, init="custom").fit(X, W=np.ones((9, 2)), H=H)
    with pytest.raises(TypeError, match=r"same dtype as X"):
        MUNMF(2, init="custom").fit(X, W=W.astype(np.float32), H=H)
    with pytest.raises(ValueError, match=r"Negative values in data passed to MUNMF \(input H\)"):
        MUNMF(2, init="custom").fit(X, W=W, H=-H)
    with pytest.raises(ValueError, match="init='custom' needs both W and H"):
        MUNMF(2, init="custom").fit(X, W=W)


def test_cuda_without_cuda_is_a_clear_error():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        MUNMF(2, device="cuda").fit(low_rank_data(10, 8))
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        MUNMF(2, device="cuda:1").fit(low_rank_data(10, 8))


def test_invalid_device_strings_and_types():
    pytest.importorskip("torch")
    with pytest.raises(ValueError, match="'gpu' is not a device"):
        MUNMF(2, device="gpu").fit(low_rank_data(10, 8))
    with pytest.raises(TypeError, match="device must be None, a string"):
        MUNMF(2, device=3).fit(low_rank_data(10, 8))


def test_torch_missing_gives_import_error_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    X = low_rank_data(10, 8)
    with pytest.raises(ImportError, match=r"sklearn-nmfx\[torch\]"):
        MUNMF(2, device="cuda").fit(X)
    MUNMF(2, random_state=0).fit(X)  # the default device never needs torch


def test_unknown_parameter_values():
    with pytest.raises(ValueError, match="beta_loss"):
        MUNMF(2, beta_loss="hinge").fit(low_rank_data(10, 8))
    with pytest.raises(ValueError, match="n_components"):
        MUNMF(0).fit(low_rank_data(10, 8))


def test_itakura_saito_with_zeros_is_rejected():
    X = low_rank_data(10, 8)
    X[0, 0] = 0
    with pytest.raises(ValueError, match="beta_loss <= 0 and X contains zeros"):
        MUNMF(2, beta_loss="itakura-saito").fit(X)


def test_transform_checks_feature_count_and_fitted_state():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MUNMF(2).transform(low_rank_data(5, 8))
    model = MUNMF(2, random_state=0).fit(low_rank_data(10, 8))
    with pytest.raises(ValueError, match="features"):
        model.transform(low_rank_data(5, 7))


@pytest.mark.parametrize("device", [None, "torch"])
def test_caller_data_is_never_modified(device):
    X = low_rank_data(30, 20)
    X[X < 0.5] = 0
    X_sparse = sp.csr_matrix(X)
    X_sparse.has_sorted_indices = False  # forces a sort, which must happen on a copy
    dense_copy = X.copy()
    data, indices, indptr = (X_sparse.data.copy(), X_sparse.indices.copy(),
                             X_sparse.indptr.copy())
    for X_in in (X, X_sparse, X_sparse.tocsc()):
        model = MUNMF(3, random_state=0, device=device)
        W = model.fit_transform(X_in)
        model.transform(X_in)
        model.inverse_transform(W)
    np.testing.assert_array_equal(X, dense_copy)
    np.testing.assert_array_equal(X_sparse.data, data)
    np.testing.assert_array_equal(X_sparse.indices, indices)
    np.testing.assert_array_equal(X_sparse.indptr, indptr)


def test_failed_refit_leaves_fitted_model_as_it_was():
    X = low_rank_data(20, 10)
    model = MUNMF(3, random_state=0).fit(X)
    state = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(model).items()}
    bad = low_rank_data(20, 12)
    bad[0, 0] = -1
    with pytest.raises(ValueError):
        model.fit(bad)
    assert set(vars(model)) == set(state)
    for key, value in state.items():
        np.testing.assert_array_equal(getattr(model, key), value)


def test_solver_and_shuffle_are_taken_as_scikit_learn_spells_them():
    X = low_rank_data(30, 20)
    plain = MUNMF(3, random_state=0).fit(X)
    spelled = MUNMF(3, solver="mu", shuffle=True, random_state=0).fit(X)
    np.testing.assert_array_equal(spelled.components_, plain.components_)
    with pytest.raises(ValueError, match="solver='mu'.*NMF\\(solver='cd'\\)"):
        MUNMF(3, solver="cd").fit(X)
    # a loss scikit-learn's cd refuses is refused in scikit-learn's words first
    with pytest.raises(ValueError, match=r"^Invalid beta_loss parameter: solver 'cd' "
                       r"does not handle beta_loss = 1\.0\. .*solver='mu'"):
        MUNMF(3, solver="cd", beta_loss="kullback-leibler").fit(X)
    with pytest.raises(ValueError, match="solver"):
        MUNMF(3, solver="lbfgs").fit(X)


def test_kl_fit_stops_by_the_mu_rule_without_a_warning():
    # scikit-learn's solver='mu' stops such a fit after a few tens of iterations;
    # a change-only rule ran it to max_iter with a ConvergenceWarning
    X = sp.random(200, 150, density=0.05, random_state=0, format="csr")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = MUNMF(5, beta_loss="kullback-leibler", random_state=0).fit(X)
    reference = NMF(5, solver="mu", beta_loss="kullback-leibler", random_state=0).fit(X)
    assert model.n_iter_ < 200
    assert model.reconstruction_err_ <= reference.reconstruction_err_ * (1 + 1e-6)
