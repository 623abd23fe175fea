"""The compiled (numba) kernels agree with the NumPy path they replace, and the
package falls back to NumPy where numba is absent or disabled."""

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_nmfx._kernels import compiled

needs_numba = pytest.mark.skipif(not compiled.AVAILABLE, reason="numba is not installed")


def _case(dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(70, 50, density=0.2, format="csr", random_state=seed, dtype=dtype)
    F = rng.random((70, 4)).astype(dtype)
    G = rng.random((50, 4)).astype(dtype)
    return X, F, G


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_product_at_nonzeros_is_w_ht_at_the_stored_entries(dtype):
    X, W, Ht = _case(dtype)
    rows, cols = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr)), X.indices
    got = compiled.product_at_nonzeros(X, W, Ht)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, (W @ Ht.T)[rows, cols], rtol=1e-5 if dtype == np.float32
                               else 1e-13)


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_dense_product_is_scipys_bit_for_bit(dtype):
    # the compiled X @ B sums each row in stored order, as SciPy does: the same
    # result to the last bit, in one call or in row ranges on threads, with empty
    # rows, unsorted indices and 64-bit indices
    from concurrent.futures import ThreadPoolExecutor

    X, _, _ = _case(dtype, seed=3)
    X = X.tolil()
    X[5, :] = 0.0
    X = X.tocsr()
    B = np.random.default_rng(3).random((X.shape[1], 7)).astype(dtype)
    shuffled = X.copy()
    for i in range(X.shape[0]):  # reverse each row's stored order
        lo, hi = shuffled.indptr[i], shuffled.indptr[i + 1]
        shuffled.indices[lo:hi] = shuffled.indices[lo:hi][::-1].copy()
        shuffled.data[lo:hi] = shuffled.data[lo:hi][::-1].copy()
    assert not shuffled.has_sorted_indices or X.nnz == 0
    wide = X.copy()  # the constructor would take the indices back to int32
    wide.indices, wide.indptr = X.indices.astype(np.int64), X.indptr.astype(np.int64)
    assert wide.indices.dtype == np.int64
    with ThreadPoolExecutor(2) as pool:
        for matrix in (X, shuffled, wide):
            expected = matrix @ B
            for bounds in (None, [(0, 30), (30, 31), (31, X.shape[0])]):
                got = compiled.sparse_dense_product(matrix, B, bounds, pool)
                assert got.dtype == dtype
                np.testing.assert_array_equal(got, expected)


@needs_numba
def test_numpy_backend_takes_the_compiled_product_only_where_it_pays(monkeypatch):
    from sklearn_nmfx._backend import NumpyBackend

    k = compiled.SPARSE_PRODUCT_MIN_COLUMNS
    rng = np.random.default_rng(0)
    X = sp.random(3000, 400, density=0.5, format="csr", random_state=0)
    wide, narrow = rng.random((400, k)), rng.random((400, k - 1))
    assert compiled.takes_sparse_product(X, wide)
    assert not compiled.takes_sparse_product(X, narrow)
    assert not compiled.takes_sparse_product(X, wide.astype(np.float32))
    assert not compiled.takes_sparse_product(X.astype(np.float32), wide.astype(np.float32))
    assert not compiled.takes_sparse_product(X.tocsc(), wide)
    assert not compiled.takes_sparse_product(X, wide[:-1])  # a shape SciPy refuses
    monkeypatch.setattr(compiled, "_ADDS_AS_SCIPY", [False])  # a kernel that rounds apart
    assert not compiled.takes_sparse_product(X, wide)
    monkeypatch.undo()

    calls = []
    product = compiled.sparse_dense_product

    def counted(*args):
        calls.append(args[2])
        return product(*args)

    monkeypatch.setattr(compiled, "sparse_dense_product", counted)
    backend = NumpyBackend()
    backend._n_threads = 2  # 600000 stored entries: row blocks on two threads
    data = backend.data_matrix(X)
    np.testing.assert_array_equal(data.matmul(wide), X @ wide)
    assert len(calls) == 1 and len(calls[0]) == 2  # the compiled product, two row ranges
    np.testing.assert_array_equal(data.matmul(narrow), X @ narrow)
    assert len(calls) == 1  # SciPy's below SPARSE_PRODUCT_MIN_COLUMNS


def test_the_probe_of_scipys_rounding_tells_fused_from_separate_adds(monkeypatch):
    # the probe's row is 1 * -1 + a * a with a = 1 + 2**-30: SciPy's product rounds
    # it to 2**-29 (product and sum apart) or 2**-29 + 2**-60 (a fused multiply-add,
    # as SciPy's ARM wheels do); a kernel that gives the other value must not be used
    for scipy_value, kernel_value, agrees in [(2.0**-29, 2.0**-29, True),
                                              (2.0**-29 + 2.0**-60, 2.0**-29, False),
                                              (2.0**-29, 2.0**-29 + 2.0**-60, False)]:
        monkeypatch.setattr(compiled, "_ADDS_AS_SCIPY", [])
        monkeypatch.setattr(compiled, "sparse_dense_product",
                            lambda X, B, value=kernel_value: np.full((1, 2), value))
        monkeypatch.setattr(sp.csr_matrix, "__matmul__",
                            lambda self, B, value=scipy_value: np.full((1, 2), value))
        assert compiled._adds_as_scipy() is agrees
        assert compiled._ADDS_AS_SCIPY == [agrees]  # asked once per process
    monkeypatch.undo()
    a = 1.0 + 2.0**-30
    assert -1.0 + a * a == 2.0**-29  # Python rounds apart: the probe's row tells them apart


@needs_numba
@pytest.mark.parametrize("beta", [1.0, 0.5, 1.5, 3.0])
def test_beta_numerator_is_the_numpy_expression(beta):
    X, F, G = _case(np.float64, seed=1)
    F[0] = 0.0  # a row whose products are below eps
    eps = 1e-8
    WH = np.maximum(F @ G.T, eps)
    expected = (X.multiply(WH ** (beta - 2.0))).tocsr() @ G
    np.testing.assert_allclose(compiled.beta_numerator(X, F, G, beta, eps), expected,
                               rtol=1e-12)


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(70, 4), (30000, 3), (800, 40)])
def test_fused_frobenius_repeats_are_the_numpy_steps(dtype, shape):
    # the fused repeats (one pass after BLAS's F @ M, threads for the large F) give
    # the NumPy steps of mu.frobenius_update, and stop after as many repeats
    from sklearn_nmfx._backend import NumpyBackend
    from sklearn_nmfx._kernels.mu import frobenius_operator, frobenius_step_in_place

    rng = np.random.default_rng(0)
    n, k = shape
    F = rng.random((n, k)).astype(dtype)
    G = rng.random((2 * k + 5, k)).astype(dtype)
    XG = (rng.random((n, 2 * k + 5)).astype(dtype) @ G).astype(dtype)
    M, C = frobenius_operator(XG, G.T @ G, 0.0, 0.0, 1e-30, NumpyBackend())
    expected, first, n_expected = F.copy(), None, 0
    for _ in range(7):
        moved = float(frobenius_step_in_place(expected, M, C, NumpyBackend()))
        n_expected += 1
        if first is None:
            first = moved
        elif moved <= 0.3**2 * first:
            break
    got = F.copy()
    assert compiled.frobenius_repeats(got, M, C, 7, 0.3) == n_expected
    np.testing.assert_allclose(got, expected, rtol=1e-4 if dtype == np.float32 else 1e-12,
                               atol=1e-6 * float(np.abs(expected).max()))


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(70, 4), (30000, 3), (900, 10)])
@pytest.mark.parametrize("penalties", [(0.01, 0.1), (0.0, 0.0)])
def test_compiled_column_sweeps_are_the_numpy_hals_sweeps(dtype, shape, penalties):
    # MUNMF's column rule at few components: the compiled path of mu.column_update
    # (compiled.column_sweeps, blocks of rows) and its NumPy path (hals.hals_sweeps)
    # take the same steps, stop after as many sweeps and report the same change;
    # a fixed column is kept, and without penalties so are a dead component (its
    # column of G zero) and a switched-off one (its column of G below the rounding
    # of the others')
    from sklearn_nmfx._backend import NumpyBackend
    from sklearn_nmfx._kernels.hals import column_step_sizes, hals_sweeps
    from sklearn_nmfx._kernels.mu import column_update

    l1, l2 = penalties
    rng = np.random.default_rng(1)
    n, k = shape
    F = rng.random((n, k)).astype(dtype)
    G = rng.random((2 * k + 5, k)).astype(dtype)
    G[:, k - 1] = 0.0
    G[:, k - 2] *= dtype(1e-20)
    XG = (rng.random((n, 2 * k + 5)).astype(dtype) @ G).astype(dtype)
    GtG = G.T @ G
    fixed = np.zeros(k, dtype=bool)
    fixed[0] = True
    steps = column_step_sizes(GtG, l2, dtype, relative=True)
    assert (steps[k - 2] == 0.0) == (l2 == 0.0)
    expected, n_expected = hals_sweeps(F, XG, GtG, l1=l1, l2=l2, max_sweeps=9, tol=0.3,
                                       B=NumpyBackend(), fixed=[0], step_sizes=steps)
    got = F.copy()
    hessian = GtG + l2 * np.eye(k, dtype=dtype)
    steps[0] = 0.0
    n_run, change = compiled.column_sweeps(got, XG, l1, hessian, steps, 9, 0.3)
    assert n_run == n_expected
    tolerance = dict(rtol=1e-4 if dtype == np.float32 else 1e-11,
                     atol=1e-6 * float(np.abs(expected).max()))
    np.testing.assert_allclose(got, expected, **tolerance)
    assert change == pytest.approx(float(np.abs(expected - F).sum()), rel=1e-4)
    np.testing.assert_array_equal(got[:, 0], F[:, 0])
    if l2 == 0.0:
        np.testing.assert_array_equal(got[:, k - 2:], F[:, k - 2:])
    else:
        assert np.all(got[:, k - 1] < F[:, k - 1])  # only the penalties move it
    # the entry point MUNMF calls, on both paths: the caller's arrays are left as
    # they are unless handed over
    without_numba = NumpyBackend()
    without_numba.compiled = False
    F_before, XG_before = F.copy(), XG.copy()
    for backend in (NumpyBackend(), without_numba):
        kept, kept_change = column_update(F, XG, GtG, l1, l2, 9, backend, delta=0.3,
                                          fixed=fixed, measure=True)
        np.testing.assert_array_equal(F, F_before)
        np.testing.assert_array_equal(XG, XG_before)
        np.testing.assert_allclose(kept, got, **tolerance)
        assert kept_change == pytest.approx(change, rel=1e-4)
    # overwrite_F: the caller's F itself, updated
    F_over = F.copy()
    assert column_update(F_over, XG, GtG, l1, l2, 9, NumpyBackend(), delta=0.3,
                         fixed=fixed, overwrite_F=True) is F_over
    np.testing.assert_array_equal(F_over, got)


@needs_numba
@pytest.mark.parametrize("shape", [(50, 1), (1, 4)])
def test_column_sweeps_report_the_change_where_a_transpose_is_contiguous(shape):
    # one column (or one row): F.T is contiguous too, and F must still hold the
    # start when the change is summed (it read 0, and MUNMF stopped at iteration 1)
    from sklearn_nmfx._kernels.hals import column_step_sizes

    rng = np.random.default_rng(2)
    n, k = shape
    F = rng.random((n, k))
    G = rng.random((6, k))
    XG = rng.random((n, 6)) @ G
    start = F.copy()
    _, change = compiled.column_sweeps(F, XG, 0.0, G.T @ G,
                                       column_step_sizes(G.T @ G, 0.0, F.dtype), 3, 0.0)
    assert change > 0
    assert change == pytest.approx(float(np.abs(F - start).sum()), rel=1e-12)


def test_sgdnmf_with_missing_entries_keeps_the_joint_steps_repeats(monkeypatch):
    # the column rule (and its alpha of 1) is for shared Gram matrices only: with
    # missing entries the minibatch steps stay the joint ones, as often as before
    from sklearn_nmfx import SGDNMF
    from sklearn_nmfx._kernels import minibatch
    from sklearn_nmfx._kernels.mu import inner_repeats

    seen = []
    original = minibatch.masked_frobenius_update

    def recording(F, XG, grams, l1, l2, n_repeats, *args, **kwargs):
        seen.append((F.shape[0], n_repeats))
        return original(F, XG, grams, l1, l2, n_repeats, *args, **kwargs)

    monkeypatch.setattr(minibatch, "masked_frobenius_update", recording)
    X = np.random.default_rng(0).random((40, 30))
    X[0, 0] = np.nan
    SGDNMF(3, batch_size=40, max_iter=1, random_state=0).fit(X)
    nnz = np.count_nonzero(~np.isnan(X))
    assert (40, inner_repeats(nnz, 40, 30, 3, alpha=2.0)) in seen
    assert (30, inner_repeats(nnz, 30, 40, 3, alpha=2.0)) in seen


@pytest.mark.parametrize("beta_loss", ["kullback-leibler", "frobenius"])
def test_the_numpy_path_is_used_when_numba_is_disabled_and_fits_the_same(beta_loss):
    # frobenius: MUNMF's column steps (compiled.column_sweeps against hals_sweeps)
    script = (
        "import numpy as np, scipy.sparse as sp, sklearn_nmfx._kernels.compiled as c;"
        "from sklearn_nmfx import MUNMF;"
        "X = sp.random(60, 40, density=0.3, format='csr', random_state=0);"
        f"m = MUNMF(4, beta_loss='{beta_loss}', random_state=0, max_iter=60, tol=0)"
        ".fit(X); print(c.AVAILABLE); print(repr(m.components_.ravel().tolist()))"
    )
    runs = {}
    for flag in ("0", "1"):
        env = {**os.environ, "SKLEARN_NMFX_NUMBA": flag}
        out = subprocess.run([sys.executable, "-c", script], env=env, check=True,
                             capture_output=True, text=True).stdout.splitlines()
        runs[flag] = out[0] == "True", np.array(eval(out[1]))
    assert runs["0"][0] is False
    assert runs["1"][0] is (importlib.util.find_spec("numba") is not None)
    H0, H1 = runs["0"][1], runs["1"][1]
    np.testing.assert_allclose(H1, H0, rtol=0, atol=1e-10 * np.abs(H0).max())
