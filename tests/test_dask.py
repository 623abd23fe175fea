"""MUNMF and TruncatedSVDTopics on dask arrays: the in-memory results, block by block.

A fit of a dask array runs the in-memory kernels on the Dask peer of the data
matrix: it equals the in-memory fit up to the order of the sums over the blocks
(1e-10 relative in float64), with the same number of iterations."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment
from sklearn.exceptions import ConvergenceWarning

from sklearn_nmfx import MUNMF, SGDNMF, TruncatedSVDTopics

from ._synthetic import BLOCK_BYTES, N_FEATURES, ROWS_PER_BLOCK, peak_rss, synthetic_block
from .conftest import low_rank_data

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded workers in this process."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster:
        yield cluster


@pytest.fixture
def client(cluster):
    with distributed.Client(cluster) as client:
        yield client


def _dask(X, n_chunks, n_column_chunks=1):
    rows = -(-X.shape[0] // n_chunks)
    columns = -(-X.shape[1] // n_column_chunks)
    return da.from_array(X, chunks=(rows, columns), asarray=False)


def _matched_topics(H_memory, H_dask):
    """Cosine of each in-memory topic with its best-matching Dask topic."""
    unit = [H / np.linalg.norm(H, axis=1, keepdims=True) for H in (H_memory, H_dask)]
    cosines = unit[0] @ unit[1].T
    rows, cols = linear_sum_assignment(-cosines)
    return cosines[rows, cols]


def assert_same_fit(memory, model, rtol=1e-10):
    """The fit of a dask array is the in-memory fit, to rounding."""
    scale = np.abs(memory.components_).max()
    np.testing.assert_allclose(model.components_, memory.components_, rtol=0, atol=rtol * scale)
    assert model.n_iter_ == memory.n_iter_
    assert model.reconstruction_err_ == pytest.approx(memory.reconstruction_err_, rel=rtol)
    np.testing.assert_allclose(model.loss_curve_, memory.loss_curve_, rtol=rtol)


def _sparse_low_rank(n_samples, n_features, seed=0):
    X = low_rank_data(n_samples, n_features, seed=seed)
    X[X < 0.6] = 0
    return sp.csr_matrix(X)


@pytest.mark.slow
@pytest.mark.parametrize(
    "init, shape, sparse",  # n_samples >= n_features, or < (the SVD of the start differs)
    [("nndsvda", (80, 30), False), ("random", (80, 30), True), ("nndsvdar", (80, 30), False),
     ("nndsvd", (24, 60), True), ("nndsvda", (24, 60), False)],
)
def test_munmf_on_dask_is_the_in_memory_fit(init, shape, sparse):
    X = _sparse_low_rank(*shape) if sparse else low_rank_data(*shape, noise=0.05)
    X_before = X.copy()
    params = dict(init=init, random_state=0, max_iter=150, tol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (ConvergenceWarning, UserWarning))
        memory = MUNMF(4, **params).fit(X)
        model = MUNMF(4, **params)
        W = model.fit_transform(_dask(X, 8))  # no client: the threaded scheduler
    assert isinstance(W, da.Array) and W.chunks[0] == _dask(X, 8).chunks[0]
    assert_same_fit(memory, model)
    # W is what transform gives, row by row as in memory
    np.testing.assert_allclose(W.compute(), model.transform(X), rtol=1e-9, atol=1e-12)
    loss = np.array(model.loss_curve_)
    assert np.all(np.diff(loss) <= 1e-9 * loss[0])
    assert (X != X_before).nnz == 0 if sparse else np.array_equal(X, X_before)


@pytest.mark.parametrize("beta_loss", ["kullback-leibler", 1.5])
@pytest.mark.parametrize("sparse", [False, True])
def test_beta_losses_on_dask(beta_loss, sparse):
    X = _sparse_low_rank(60, 25) if sparse else low_rank_data(60, 25, noise=0.05)
    params = dict(beta_loss=beta_loss, random_state=0, max_iter=40, alpha_W=0.01,
                  l1_ratio=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        memory = MUNMF(3, **params).fit(X)
        model = MUNMF(3, **params).fit(_dask(X, 4))
    assert_same_fit(memory, model)


@pytest.mark.slow
@pytest.mark.parametrize("use_client", [False, True])
def test_blocks_read_at_every_pass_give_the_same_fit(use_client, cluster, monkeypatch):
    """X too large to keep: every pass computes its blocks again from X's graph."""
    import sklearn_nmfx._dask.blocks as dask_module

    X = _sparse_low_rank(60, 20)
    calls = _BLOCK_CALLS
    calls.clear()
    X_dask = _dask(X, 4).map_blocks(_counted_block, dtype=X.dtype, meta=sp.csr_matrix((0, 0)))
    kept = MUNMF(3, random_state=0, max_iter=20).fit(X_dask)
    n_kept = len(calls)
    monkeypatch.setattr(dask_module, "_fits_in_memory", lambda client, nbytes: False)
    calls.clear()
    with distributed.Client(cluster) if use_client else _no_client():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            read = MUNMF(3, random_state=0, max_iter=20).fit(X_dask)
    assert n_kept <= 2 * 4 and len(calls) > 20 * 4  # every iteration reads X again
    np.testing.assert_allclose(read.components_, kept.components_, rtol=1e-12, atol=1e-14)
    assert read.reconstruction_err_ == pytest.approx(kept.reconstruction_err_, rel=1e-12)


_BLOCK_CALLS = []


def _counted_block(X_b):
    """A block of X, counted (module level: workers in this process share the list)."""
    _BLOCK_CALLS.append(1)
    return X_b


class _no_client:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("beta_loss", ["frobenius", "kullback-leibler"])
def test_fixed_components_on_dask(beta_loss):
    X = low_rank_data(60, 25, noise=0.05)
    H0 = np.random.RandomState(5).rand(2, 25)
    params = dict(n_components=4, beta_loss=beta_loss, random_state=0, max_iter=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        memory = MUNMF(**params).fit(X, H=H0, fixed_components=[3, 1])
        model = MUNMF(**params).fit(_dask(X, 6), H=H0, fixed_components=[3, 1])
    np.testing.assert_array_equal(model.fixed_components_, [1, 3])
    assert model.components_[[3, 1]].tobytes() == H0.tobytes()
    assert_same_fit(memory, model)


def test_mask_needs_in_memory_x():
    X = low_rank_data(20, 8)
    with pytest.raises(ValueError, match="mask.*in-memory"):
        MUNMF(2).fit(_dask(X, 2), mask=np.ones_like(X, dtype=bool))
    model = MUNMF(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="mask.*in-memory"):
        model.transform(_dask(X, 2), mask=np.ones_like(X, dtype=bool))


def test_itakura_saito_needs_positive_dask_x():
    X = low_rank_data(30, 12)
    X[0, 0] = 0
    with pytest.raises(ValueError, match="beta_loss <= 0 and X contains zeros"):
        MUNMF(2, beta_loss="itakura-saito").fit(_dask(X, 3))


def test_custom_start_and_float32_on_dask(capsys):
    X = low_rank_data(50, 20, dtype=np.float32)
    W0, H0 = MUNMF(3, init="random", random_state=1).fit(X).transform(X), None
    H0 = np.random.RandomState(0).rand(3, 20).astype(np.float32)
    W0 = W0 + 0.1
    memory = MUNMF(3, init="custom", max_iter=50).fit(X, W=W0, H=H0)
    model = MUNMF(3, init="custom", max_iter=50, verbose=1)
    capsys.readouterr()
    W = model.fit_transform(_dask(X, 5, n_column_chunks=2), W=W0, H=H0)
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == len(model.loss_curve_)
    assert f"iteration {model.n_iter_:4d}" in printed[-1]
    assert model.components_.dtype == np.float32 and W.dtype == np.float32
    assert W.compute().dtype == np.float32
    assert_same_fit(memory, model, rtol=1e-4)  # float32 sums in another order
    assert model.n_features_in_ == 20


def test_transform_of_dask_x_is_lazy_and_row_by_row():
    X = low_rank_data(60, 20)
    model = MUNMF(3, random_state=0).fit(X)
    W = model.transform(_dask(X, 6))
    assert isinstance(W, da.Array) and W.shape == (60, 3)
    np.testing.assert_allclose(W.compute(), model.transform(X), rtol=1e-10, atol=1e-12)
    bad = X.copy()
    bad[5, 3] = -1.0
    W_bad = model.transform(_dask(bad, 6))  # values are checked when blocks are computed
    with pytest.raises(ValueError, match="Negative values"):
        W_bad.compute()
    with pytest.raises(ValueError, match="features"):
        model.transform(_dask(X[:, :10], 2))


@pytest.mark.slow
def test_seed_corpus_on_a_local_cluster(seed_corpus, client):
    """The four-newsgroup corpus in 8 row chunks on 2 workers: the in-memory fits."""
    _, vectorizer, X = seed_corpus
    memory = MUNMF(5, random_state=0).fit(X)
    model = MUNMF(5, random_state=0).fit(_dask(X, 8))
    assert_same_fit(memory, model)
    svd_memory = TruncatedSVDTopics(5, random_state=0).fit(X)
    svd = TruncatedSVDTopics(5, random_state=0).fit(_dask(X, 8))
    np.testing.assert_allclose(svd.components_, svd_memory.components_, rtol=0, atol=1e-10)
    np.testing.assert_allclose(svd.singular_values_, svd_memory.singular_values_, rtol=1e-10)
    np.testing.assert_allclose(svd.explained_variance_ratio_,
                               svd_memory.explained_variance_ratio_, rtol=1e-10)


def test_grid_search_on_the_cluster_through_joblib(client):
    joblib = pytest.importorskip("joblib")
    from sklearn.model_selection import GridSearchCV

    X = low_rank_data(40, 15, rank=3)
    search = GridSearchCV(MUNMF(random_state=0, max_iter=30), {"n_components": [1, 3]}, cv=2)
    with warnings.catch_warnings(), joblib.parallel_backend("dask"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        local = GridSearchCV(MUNMF(random_state=0, max_iter=30), {"n_components": [1, 3]},
                             cv=2).fit(X)
    np.testing.assert_allclose(search.cv_results_["mean_test_score"],
                               local.cv_results_["mean_test_score"], rtol=1e-12)
    assert search.best_params_ == {"n_components": 3}


def test_truncated_svd_on_dask(client):
    # rank 5 plus noise, in CSR chunks: a spectral gap, so randomized SVD is exact
    X = sp.csr_matrix(low_rank_data(300, 80, rank=5, noise=0.01))
    exact = TruncatedSVDTopics(5, algorithm="arpack", random_state=0).fit(X)
    memory = TruncatedSVDTopics(5, random_state=0).fit(X)
    model = TruncatedSVDTopics(5, random_state=0)
    W = model.fit_transform(_dask(X, 8))
    np.testing.assert_allclose(model.components_, memory.components_, rtol=0, atol=1e-12)
    assert model.algorithm_ == "randomized"
    np.testing.assert_allclose(model.singular_values_, exact.singular_values_, rtol=1e-6)
    np.testing.assert_allclose(model.components_, exact.components_, atol=1e-6)
    np.testing.assert_allclose(model.explained_variance_ratio_,
                               exact.explained_variance_ratio_, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(W.compute(), X @ model.components_.T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.transform(_dask(X, 3)).compute(), W.compute())
    with pytest.raises(ValueError, match="arpack"):
        TruncatedSVDTopics(5, algorithm="arpack").fit(_dask(X, 2))


def test_bad_dask_input_is_refused_before_any_change():
    X = low_rank_data(30, 10)
    model = MUNMF(2, random_state=0).fit(X)
    state = dict(model.__dict__)
    negative = X.copy()
    negative[13, 4] = -2.0  # in the second block: reported at its row in X
    with pytest.raises(ValueError, match="Negative values.*1 negative entry, the first at row "
                                         "13, column 4"):
        model.fit(_dask(negative, 3))
    nan = X.copy()
    nan[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        model.fit(_dask(nan, 3))
    with pytest.raises(ValueError, match="2-D"):
        model.fit(da.ones(10, chunks=5))
    with pytest.raises(ValueError, match="outside the range"):  # as in memory
        model.fit(_dask(X * 1e80, 3))
    assert model.__dict__.keys() == state.keys()
    np.testing.assert_array_equal(model.components_, state["components_"])
    with pytest.raises(TypeError, match="does not take dask arrays"):
        SGDNMF(2).fit(_dask(X, 3))


def test_duplicate_entries_of_sparse_chunks_are_summed_as_in_memory():
    """SciPy sums the duplicates of a CSR matrix: so do the blocks of a dask X."""
    X = _sparse_low_rank(40, 12)
    rows, cols = X.nonzero()
    values = X.data.copy()
    split = sp.csr_matrix((np.concatenate([values / 4, 3 * values / 4, -values / 8, values / 8]),
                           (np.tile(rows, 4), np.tile(cols, 4))), shape=X.shape)
    split.has_canonical_format = False
    chunks = [split[a:a + 10] for a in range(0, 40, 10)]
    for chunk in chunks:  # duplicates kept, one of them negative
        chunk.has_canonical_format = False
    X_dask = da.concatenate([da.from_array(chunk, chunks=chunk.shape, asarray=False)
                             for chunk in chunks])
    memory = MUNMF(3, random_state=0, max_iter=50).fit(split)
    model = MUNMF(3, random_state=0, max_iter=50).fit(X_dask)
    assert_same_fit(memory, model)


def test_lazy_transform_reports_a_negative_entry_at_its_row_in_x():
    """Issue 19: the blocks of a lazy transform were checked alone, so a negative
    entry was reported at its row inside its block (row 3 for row 13 of X); a
    block's duplicate entries are summed before the check, as in memory."""
    X = low_rank_data(30, 10)
    model = MUNMF(2, random_state=0, max_iter=50).fit(X)
    negative = X.copy()
    negative[13, 4] = -2.0
    W = model.transform(_dask(negative, 3))  # lazy: nothing checked yet
    with pytest.raises(ValueError, match="1 negative entry, the first at row 13, column 4"):
        W.compute()
    chunk = sp.csr_matrix((np.array([-0.5, 1.0]), np.array([2, 2]), np.array([0, 2] + [2] * 9)),
                          shape=(10, 10))
    chunk.has_canonical_format = False
    summed = da.concatenate([_dask(sp.csr_matrix(X[:20]), 2),
                             da.from_array(chunk, chunks=chunk.shape, asarray=False)])
    np.testing.assert_allclose(model.transform(summed).compute()[20:],
                               model.transform(chunk.copy().tocsr().toarray() * 1.0))


def test_dask_without_numpy_device_is_refused():
    pytest.importorskip("torch")
    with pytest.raises(ValueError, match="device=None"):
        MUNMF(2, device="torch").fit(_dask(low_rank_data(20, 8), 2))


def test_clear_import_error_without_dask(monkeypatch):
    X = _dask(low_rank_data(20, 8), 2)
    monkeypatch.setitem(sys.modules, "dask.array", None)
    with pytest.raises(ImportError, match=r"sklearn-nmfx\[dask\]"):
        MUNMF(2).fit(X)


@pytest.mark.slow
def test_import_does_not_import_dask():
    code = "import sys, sklearn_nmfx; print(any(m.split('.')[0] == 'dask' for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


# -- out of core: a matrix larger than a worker's memory, made block by block ----------
@pytest.mark.slow
def test_larger_than_worker_memory_with_worker_processes():
    n_blocks = 40
    memory_limit = 400e6
    assert n_blocks * BLOCK_BYTES > 1.2 * memory_limit
    X = da.map_blocks(
        synthetic_block, dtype=np.float64,
        chunks=((ROWS_PER_BLOCK,) * n_blocks, (N_FEATURES,)),
        meta=sp.csr_matrix((0, 0)),
    )
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  memory_limit=memory_limit, dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        pids = client.run(lambda: __import__("os").getpid())
        model = MUNMF(4, init="random", random_state=0, max_iter=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X)
        peaks = client.run(peak_rss)
        assert client.run(lambda: __import__("os").getpid()) == pids  # none restarted
    print(f"data {n_blocks * BLOCK_BYTES / 1e6:.0f} MB, worker peaks (MB):",
          [round(peak / 1e6) for peak in peaks.values()])
    assert max(peaks.values()) < memory_limit, peaks
    assert model.n_iter_ == 2 and model.components_.shape == (4, N_FEATURES)
    assert model.loss_curve_[-1] < model.loss_curve_[0]
