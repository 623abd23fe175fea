"""Backends: device resolution and the DataMatrix products, NumPy against PyTorch."""

import sys

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_nmfx import _backend as backend_module
from sklearn_nmfx._backend import NumpyBackend, TorchBackend, resolve_backend

from .conftest import unsorted_csr


def test_default_device_is_numpy_and_never_imports_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    assert isinstance(resolve_backend(None), NumpyBackend)
    assert isinstance(resolve_backend("cpu"), NumpyBackend)
    assert isinstance(resolve_backend(" CPU "), NumpyBackend)


@pytest.mark.slow
def test_importing_the_package_does_not_import_torch():
    import subprocess

    code = "import sys, sklearn_nmfx; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("spec", ["torch", "torch:cpu"])
def test_torch_on_cpu_spellings(spec):
    torch = pytest.importorskip("torch")
    backend = resolve_backend(spec)
    assert isinstance(backend, TorchBackend) and backend.device == torch.device("cpu")
    assert resolve_backend(None, require_torch=True).device == torch.device("cpu")


def _product_cases(backend):
    rng = np.random.RandomState(0)
    X = sp.random(30, 20, density=0.2, random_state=rng, format="csr")
    W, Ht = rng.rand(30, 4), rng.rand(20, 4)
    data = backend.data_matrix(X)
    to_np = backend.to_numpy
    return {
        "X @ Ht": (to_np(data.matmul(backend.from_numpy(Ht))), X @ Ht),
        "X.T @ W": (to_np(data.T.matmul(backend.from_numpy(W))), X.T @ W),
        "WH at nonzeros": (
            to_np(data.product_at_nonzeros(backend.from_numpy(W), backend.from_numpy(Ht))),
            (W @ Ht.T)[X.nonzero()],
        ),
        "X.T WH at nonzeros": (
            to_np(data.T.product_at_nonzeros(backend.from_numpy(Ht), backend.from_numpy(W))),
            (Ht @ W.T)[X.T.tocsr().nonzero()],
        ),
    }


@pytest.mark.parametrize("device", [None, "torch"])
def test_sparse_products_match_dense_algebra(device):
    if device:
        pytest.importorskip("torch")
    for name, (got, expected) in _product_cases(resolve_backend(device)).items():
        np.testing.assert_allclose(got, expected, rtol=1e-12, err_msg=name)


def test_unsorted_csr_is_used_in_place_and_multiplies_like_the_sorted_copy():
    """No copy of a TfidfVectorizer-like X (unsorted indices): the data matrix keeps
    the caller's arrays, X.T comes out sorted, and the products agree to rounding."""
    X = unsorted_csr(sp.random(300, 200, density=0.1, random_state=0, format="csr"))
    indices = X.indices.copy()
    data = NumpyBackend().data_matrix(NumpyBackend().index_order(X))
    assert np.shares_memory(data.X.data, X.data) and np.shares_memory(data.X.indices, X.indices)
    assert data.T.X.has_sorted_indices
    np.testing.assert_array_equal(X.indices, indices)  # the caller's order is kept
    rng = np.random.RandomState(0)
    B, C = rng.rand(200, 5), rng.rand(300, 3)
    sorted_X = X.sorted_indices()
    np.testing.assert_allclose(data.matmul(B), sorted_X @ B, rtol=1e-13)
    np.testing.assert_allclose(data.T.matmul(C), sorted_X.T @ C, rtol=1e-13)


@pytest.mark.parametrize("device", [None, "torch"])
def test_sparse_input_stays_sparse(device):
    if device:
        pytest.importorskip("torch")
    backend = resolve_backend(device)
    X = sp.random(50, 40, density=0.1, random_state=0, format="csc")
    data = backend.data_matrix(X)
    assert data.is_sparse and data.T.is_sparse
    assert data.nnz == X.nnz
    if device:
        import torch

        assert data.X.layout == torch.sparse_csr and data.Xt.layout == torch.sparse_csr
    else:
        assert sp.issparse(data.X) and data.X.format == "csr"


def test_map_rows_blocks_threads_and_sums_like_one_pass(monkeypatch):
    import sklearn_nmfx._backend as backend_module

    monkeypatch.setattr(backend_module, "_CACHE_BLOCK_ENTRIES", 64)  # many blocks
    rng = np.random.RandomState(0)
    F, G = rng.rand(103, 4), rng.rand(103, 4)

    def step(F_rows, G_rows):
        F_rows *= 2
        F_rows += G_rows
        return np.sum(F_rows)

    results = {}
    for n_threads in (1, 2, 3):
        backend = NumpyBackend()
        backend._n_threads = n_threads
        out = F.copy()  # updated in place
        results[n_threads] = (out, backend.map_rows(step, out, G))
    expected = F * 2 + G
    for out, total in results.values():
        np.testing.assert_array_equal(out, expected)
        assert total == pytest.approx(expected.sum(), rel=1e-14)
    # the same blocks and the same order of summation whatever the threads
    assert results[1][1] == results[2][1] == results[3][1]


def test_munmf_on_one_thread_and_on_all_agree_to_rounding():
    from threadpoolctl import threadpool_limits

    from sklearn_nmfx import MUNMF

    X = sp.random(3000, 400, density=0.05, random_state=1, format="csr")
    params = dict(n_components=6, random_state=0, max_iter=30, tol=0)
    W_all = MUNMF(**params).fit_transform(X)
    with threadpool_limits(1):
        W_one = MUNMF(**params).fit_transform(X)
    # BLAS sums the Gram matrices in another order on other thread counts: rounding
    np.testing.assert_allclose(W_all, W_one, rtol=1e-7, atol=1e-12)
    np.testing.assert_array_equal(W_all, MUNMF(**params).fit_transform(X))


def test_row_blocks_are_views_of_the_stored_entries(monkeypatch):
    # the threaded product's row blocks share X's data and indices (only their
    # indptr is new) and give X @ B bit for bit, also when each thread forms its
    # rows in several pieces
    monkeypatch.setattr(backend_module, "_CACHE_BLOCK_ENTRIES", 64)  # 12 rows a piece
    rng = np.random.RandomState(0)
    X = sp.random(400, 3000, density=0.2, random_state=rng, format="csr")
    B = rng.rand(3000, 5)
    backend = NumpyBackend()
    backend._n_threads = 3  # blocks whatever this machine's cores
    blocks = backend.row_blocks(X)
    assert len(blocks) == 3
    for start, stop, block in blocks:
        assert np.shares_memory(block.data, X.data)
        assert np.shares_memory(block.indices, X.indices)
        assert (block != X[start:stop]).nnz == 0
    np.testing.assert_array_equal(backend.matmul(X, B, blocks), X @ B)
    rows = backend.row_slice(X, 10, 20)
    assert np.shares_memory(rows.data, X.data)
    np.testing.assert_array_equal(rows.toarray(), X[10:20].toarray())


@pytest.mark.parametrize("sparse", [True, False])
def test_munmf_keeps_blas_on_one_thread_while_its_threads_split_sparse_work(
        monkeypatch, sparse):
    # OpenBLAS's idle threads busy-wait after each call and would take the cores of
    # the threaded sparse products; on dense X, BLAS's threads do the large products
    from threadpoolctl import threadpool_info, threadpool_limits

    import sklearn_nmfx._mu as mu_module
    from sklearn_nmfx import MUNMF

    def blas_threads():
        return max(info["num_threads"] for info in threadpool_info()
                   if info["user_api"] == "blas")

    seen = []
    original = mu_module.multiplicative_update

    def spy(*args, **kwargs):
        seen.append(blas_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(mu_module, "multiplicative_update", spy)
    monkeypatch.setattr(backend_module, "_cpu_threads", lambda: 2)  # any multi-core machine
    X = sp.random(300, 200, density=0.1, random_state=0, format="csr")
    with threadpool_limits(2, user_api="blas"):
        MUNMF(3, random_state=0, max_iter=5, tol=0).fit(X if sparse else X.toarray())
        after = blas_threads()
    assert seen == [1 if sparse else 2]
    assert after == 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("value", [0.0, -0.0, 0, 1e-7, 0.5, np.float64(1e-7), np.float32(0.5)])
@pytest.mark.parametrize("shape", [(0, 3), (7,), (300, 500)])
def test_clamp_min_in_pieces_is_numpys_maximum(dtype, value, shape):
    # the NumPy backend's clamps compare contiguous float arrays with an array of
    # a Python number, piece by piece (NumPy's scalar loop is not vectorized): the
    # result is np.maximum's, bit for bit and in its dtype (signed zeros, NaN and
    # infinities too), a new array or in place; other arrays (an int array, a
    # strided view) and NumPy scalars take np.maximum itself
    B = NumpyBackend()
    a = (np.random.default_rng(0).standard_normal(shape) * 3).astype(dtype)
    if a.dtype.kind == "f" and a.size > 4:
        a.flat[:4] = [np.nan, -0.0, np.inf, -np.inf]
    a_before = a.copy()
    expected = np.maximum(a, value)
    clamped = B.clamp_min(a, value)
    np.testing.assert_array_equal(clamped, expected)
    np.testing.assert_array_equal(np.signbit(clamped), np.signbit(expected))
    assert clamped.dtype == expected.dtype
    np.testing.assert_array_equal(a, a_before)  # the new-array clamp leaves a alone
    if expected.dtype == a.dtype:
        assert B.clamp_min_(a, value) is a
        np.testing.assert_array_equal(a, expected)
        np.testing.assert_array_equal(np.signbit(a), np.signbit(expected))
    if a.ndim == 2 and a.size:
        view = a_before.copy()[:, ::2]
        np.testing.assert_array_equal(B.clamp_min(view, value), np.maximum(view, value))
