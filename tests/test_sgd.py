"""SGDNMF: kernel, estimator, streaming, properties, and the seed corpus."""

import pickle
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import nnls
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from sklearn_nmfx import MUNMF, SGDNMF
from sklearn_nmfx._backend import resolve_backend
from sklearn_nmfx._kernels.hals import hals_sweeps, solve_rows_hals

from .conftest import low_rank_data


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Small torch ops on a busy 2-core machine stall for milliseconds per op with
    two intra-op threads; one thread keeps the torch-path tests fast."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def explained(X, W, H):
    """1 - ||X - WH||^2 / ||X||^2, without densifying a sparse X."""
    sq_norm = X.multiply(X).sum() if sp.issparse(X) else np.sum(X * X)
    residual = sq_norm - 2 * np.sum(W * (X @ H.T)) + np.sum((W.T @ W) * (H @ H.T))
    return 1.0 - residual / sq_norm


def top_words(H, vocabulary, n=8):
    return [set(vocabulary[np.argsort(h)[::-1][:n]]) for h in H]


def shared_top_words(H_ref, H, vocabulary):
    """Average over the reference topics of the top words shared with the best match."""
    ref, mine = top_words(H_ref, vocabulary), top_words(H, vocabulary)
    return float(np.mean([max(len(a & b) for b in mine) for a in ref]))


# -- kernel -------------------------------------------------------------------------
def test_hals_rows_solve_nonnegative_least_squares():
    rng = np.random.RandomState(0)
    Ht = rng.rand(15, 4)
    X = rng.rand(6, 15)
    B = resolve_backend(None)
    W = solve_rows_hals(B.data_matrix(X), Ht, l1=0.0, l2=0.0, max_sweeps=500, tol=1e-12)
    expected = np.array([nnls(Ht, row)[0] for row in X])
    np.testing.assert_allclose(W, expected, atol=1e-6)


def test_hals_sweeps_never_increase_the_objective():
    rng = np.random.RandomState(1)
    X, G = rng.rand(20, 12), rng.rand(12, 3)
    B = resolve_backend(None)
    XG, GtG = X @ G, G.T @ G
    F = rng.rand(20, 3)
    values = []
    for _ in range(6):
        F, _ = hals_sweeps(F, XG, GtG, l1=0.1, l2=0.2, max_sweeps=1, tol=0.0, B=B)
        assert F.min() >= 0
        values.append(0.5 * np.sum((X - F @ G.T) ** 2) + 0.1 * F.sum() + 0.1 * np.sum(F**2))
    assert all(b <= a + 1e-12 for a, b in zip(values, values[1:]))


def test_blocked_gram_matches():
    rng = np.random.RandomState(2)
    F = rng.rand(20000, 3)
    np.testing.assert_allclose(resolve_backend(None).gram(F), F.T @ F, rtol=1e-10)


# -- estimator ----------------------------------------------------------------------
def test_fit_low_rank_data_and_monotone_objective():
    X = low_rank_data(60, 25, rank=3)
    model = SGDNMF(n_components=3, batch_size=16, random_state=0, tol=1e-6, max_iter=300)
    W = model.fit_transform(X)
    assert W.min() >= 0 and model.components_.min() >= 0
    assert explained(X, W, model.components_) > 0.999
    curve = np.array(model.loss_curve_)
    assert np.all(np.diff(curve) <= 1e-9 * curve[0])  # 'lipschitz' steps never go up
    assert model.n_steps_ == model.n_iter_ * 4


@pytest.mark.parametrize("learning_rate", ["constant", "invscaling", "adaptive"])
def test_gradient_learning_rates_converge(learning_rate):
    X = low_rank_data(60, 25, rank=3)
    model = SGDNMF(n_components=3, batch_size=20, learning_rate=learning_rate, eta0=1.0,
                   random_state=0, max_iter=300, tol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # invscaling's late steps
        W = model.fit_transform(X)
    assert model.loss_curve_[-1] < 0.5 * model.loss_curve_[0]
    assert explained(X, W, model.components_) > 0.99


def test_gradient_learning_rates_need_the_frobenius_loss():
    X = low_rank_data(20, 10, rank=2)
    with pytest.raises(ValueError, match=r"learning_rate='lipschitz' needs beta_loss="):
        SGDNMF(2, beta_loss="kullback-leibler", learning_rate="lipschitz").fit(X)


@pytest.mark.parametrize("device", [None, "torch"])
@pytest.mark.parametrize("beta_loss", ["frobenius", "kullback-leibler", "itakura-saito", 0.5, 3.0])
def test_one_batch_without_memory_is_munmf(beta_loss, device):
    """With one batch and forget_factor=0 a step is an iteration of MUNMF: the same
    kernels, so the same fit (to rounding: MUNMF splits its steps over threads)."""
    if device == "torch":
        pytest.importorskip("torch")
    X = low_rank_data(48, 12, rank=3) + 0.1
    options = dict(n_components=3, beta_loss=beta_loss, random_state=0, tol=0.0, max_iter=60,
                   device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        W_mu = MUNMF(**options).fit_transform(X)
        sgd = SGDNMF(batch_size=48, forget_factor=0.0, max_no_improvement=None, **options)
        W_sgd = sgd.fit_transform(X)
    assert sgd.n_steps_ == sgd.n_iter_ == 60
    np.testing.assert_allclose(W_sgd, W_mu, rtol=1e-9, atol=1e-12 * np.abs(W_mu).max())


def test_steps_and_epochs_are_counted_as_minibatchnmf_counts_them():
    X = low_rank_data(50, 12, rank=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        full = SGDNMF(3, batch_size=16, tol=0.0, max_no_improvement=None, max_iter=7,
                      random_state=0).fit(X)
    assert full.n_steps_ == 7 * 4 and full.n_iter_ == 7  # 4 batches of 16, 16, 16, 2
    early = SGDNMF(3, batch_size=16, tol=1e-2, max_iter=200, random_state=0).fit(X)
    assert early.n_steps_ < 200 * 4
    assert early.n_iter_ == -(-early.n_steps_ // 4)
    stream = SGDNMF(3, batch_size=16, random_state=0)
    stream.partial_fit(X[:10])
    assert stream.n_steps_ == 1  # a chunk of at most batch_size rows is one step
    stream.partial_fit(X[10:50])
    assert stream.n_steps_ == 1 + 3


def test_max_iter_without_early_stopping_warns():
    X = low_rank_data(30, 10, rank=2)
    with pytest.warns(ConvergenceWarning, match="Maximum number of iterations 3 reached"):
        SGDNMF(2, batch_size=10, max_iter=3, tol=1e-12, max_no_improvement=None).fit(X)


def test_transform_max_iter_bounds_the_transform_solve():
    X = low_rank_data(40, 15, rank=3)
    a = SGDNMF(3, beta_loss="kullback-leibler", random_state=0, transform_max_iter=1).fit(X)
    b = SGDNMF(3, beta_loss="kullback-leibler", random_state=0, transform_max_iter=300).fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)  # the fit does not use it
    err_a = np.linalg.norm(X - a.transform(X) @ a.components_)
    err_b = np.linalg.norm(X - b.transform(X) @ b.components_)
    assert err_b < err_a


def test_fresh_restarts_solve_each_batch_and_still_fit():
    X = low_rank_data(60, 20, rank=3)
    model = SGDNMF(3, batch_size=20, fresh_restarts=True, fresh_restarts_max_iter=5,
                   random_state=0)
    W = model.fit_transform(X)
    np.testing.assert_array_equal(W, model.transform(X))
    assert explained(X, W, model.components_) > 0.99


@pytest.mark.parametrize("beta_loss", ["kullback-leibler", 1.5])
def test_beta_losses_on_sparse_x_are_not_densified_and_match_dense(beta_loss, monkeypatch):
    X = sp.random(60, 40, density=0.2, random_state=0, format="csr") * 3
    dense = SGDNMF(3, beta_loss=beta_loss, batch_size=20, random_state=0).fit(X.toarray())

    def refuse(self, *args, **kwargs):
        raise AssertionError("X was densified")

    monkeypatch.setattr(sp.csr_matrix, "toarray", refuse)
    monkeypatch.setattr(sp.csr_matrix, "todense", refuse)
    sparse = SGDNMF(3, beta_loss=beta_loss, batch_size=20, random_state=0).fit(X)
    np.testing.assert_allclose(sparse.components_, dense.components_, rtol=1e-10,
                               atol=1e-12 * np.abs(dense.components_).max())
    assert sparse.n_steps_ == dense.n_steps_


def test_missing_entries_with_many_components_are_refused_before_allocating():
    X = np.ones((40, 20000))
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"n_components=300 is too large .* GiB"):
        SGDNMF(300, init="random").fit(X)


def test_sparse_and_dense_give_the_same_model():
    X = low_rank_data(40, 30, rank=3)
    X[X < 0.5] = 0
    dense = SGDNMF(n_components=3, batch_size=10, random_state=0).fit(X)
    sparse = SGDNMF(n_components=3, batch_size=10, random_state=0).fit(sp.csr_matrix(X))
    np.testing.assert_allclose(dense.components_, sparse.components_, rtol=1e-6, atol=1e-8)


def test_float32_kept_and_reproducible():
    X = low_rank_data(40, 20, rank=3, dtype=np.float32)
    a = SGDNMF(n_components=3, batch_size=8, random_state=3, init="random")
    b = SGDNMF(n_components=3, batch_size=8, random_state=3, init="random")
    Wa, Wb = a.fit_transform(X), b.fit_transform(X)
    assert a.components_.dtype == np.float32 and Wa.dtype == np.float32
    np.testing.assert_array_equal(Wa, Wb)
    np.testing.assert_array_equal(a.components_, b.components_)


def test_fit_transform_equals_fit_then_transform_and_rows_are_independent():
    X = sp.random(50, 30, density=0.3, random_state=0, format="csr")
    model = SGDNMF(n_components=4, batch_size=16, random_state=0)
    W = model.fit_transform(X)
    np.testing.assert_array_equal(W, model.transform(X))
    np.testing.assert_allclose(model.transform(X[10:20]), W[10:20], rtol=1e-10, atol=1e-12)


def test_regularization_makes_sparser_topics():
    X = low_rank_data(60, 30, rank=4)
    plain = SGDNMF(n_components=4, random_state=0, batch_size=20).fit(X)
    l1 = SGDNMF(n_components=4, random_state=0, batch_size=20, alpha_W=0.01, alpha_H=0.01,
                l1_ratio=1.0).fit(X)
    assert np.mean(l1.components_ == 0) > np.mean(plain.components_ == 0)


def test_custom_init_and_pickle():
    X = low_rank_data(30, 12, rank=2)
    rng = np.random.RandomState(0)
    W0, H0 = rng.rand(30, 2), rng.rand(2, 12)
    model = SGDNMF(n_components="auto", init="custom", batch_size=10, random_state=0)
    model.fit(X, W=W0, H=H0)
    assert model.n_components_ == 2
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone.transform(X), model.transform(X))


# -- streaming ----------------------------------------------------------------------
def test_partial_fit_streams_close_to_a_batch_fit():
    X = low_rank_data(400, 40, rank=4, noise=0.05)
    batch = SGDNMF(n_components=4, random_state=0, batch_size=64).fit(X)
    stream = SGDNMF(n_components=4, random_state=0, batch_size=64)
    steps = []
    for chunk in np.array_split(X, 10):
        stream.partial_fit(chunk)
        steps.append(stream.n_steps_)
        statistics = stream._statistics_
        assert statistics["Bt"].shape == (40, 4) and statistics["A"].shape == (4, 4)
    assert steps == list(range(1, 11))  # chunks of 40 rows: one step each
    e_batch = explained(X, batch.transform(X), batch.components_)
    e_stream = explained(X, stream.transform(X), stream.components_)
    assert e_stream >= 0.99 * e_batch


def test_partial_fit_after_fit_and_feature_check():
    X = low_rank_data(60, 20, rank=3)
    model = SGDNMF(n_components=3, random_state=0).fit(X[:30])
    before = model.components_.copy()
    model.partial_fit(X[30:])
    assert not np.array_equal(before, model.components_)
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:, :10])
    np.testing.assert_array_equal(model.n_features_in_, 20)


def test_partial_fit_refuses_a_chunk_of_the_other_float_dtype():
    X = low_rank_data(60, 20, rank=3)
    for model_dtype, other in ((np.float64, np.float32), (np.float32, np.float64)):
        model = SGDNMF(n_components=3, random_state=0).partial_fit(X[:30].astype(model_dtype))
        before = model.components_.copy()
        chunk = X[30:].astype(other)
        copy = chunk.copy()
        message = (rf"X has dtype {np.dtype(other).name}, but SGDNMF was fitted on "
                   rf"{np.dtype(model_dtype).name} .*astype\(np\.{np.dtype(model_dtype).name}\)")
        with pytest.raises(ValueError, match=message):
            model.partial_fit(chunk)
        with pytest.raises(ValueError, match=message):
            model.partial_fit(sp.csr_matrix(chunk))
        np.testing.assert_array_equal(model.components_, before)
        assert model.components_.dtype == model_dtype
        np.testing.assert_array_equal(chunk, copy)
        # integers and booleans take the model's dtype (MiniBatchNMF keeps it too)
        counts = np.rint(10 * X[30:]).astype(np.int64)
        model.partial_fit(counts).partial_fit(counts > 5).partial_fit(counts.tolist())
        assert model.components_.dtype == model_dtype
        assert counts.dtype == np.int64
        model.partial_fit(chunk.astype(model_dtype))
        assert model.components_.dtype == model_dtype


def test_partial_fit_refuses_an_all_zero_first_chunk():
    X = low_rank_data(60, 12, rank=3)
    zeros_and_nan = np.where(X[:5] > np.median(X), np.nan, 0.0)
    for zeros in (np.zeros((5, 12)), sp.csr_matrix((5, 12)), zeros_and_nan):
        model = SGDNMF(3, random_state=0)
        with pytest.raises(ValueError, match="first chunk .* is all zero"):
            model.partial_fit(zeros)
        assert not hasattr(model, "components_")
        model.partial_fit(X)  # the stream starts with the first chunk that is not zero
        assert model.components_.max() > 0
    # a custom start is kept by the zero chunk, and learns from the next ones
    H = np.random.RandomState(0).rand(3, 12)
    model = SGDNMF(3, init="custom").partial_fit(np.zeros((5, 12)), W=np.ones((5, 3)), H=H)
    for _ in range(3):
        model.partial_fit(X)
    assert explained(X, model.transform(X), model.components_) > 0.9
    # a zero chunk later changes nothing of that
    model.partial_fit(np.zeros((5, 12)))
    assert model.components_.max() > 0


@pytest.mark.parametrize("cls", [MUNMF, SGDNMF])
def test_fit_of_all_zero_x_is_the_zero_model_as_in_scikit_learn(cls):
    zeros = np.zeros((6, 4))
    reference = NMF(3, random_state=0).fit(zeros)
    model = cls(3, random_state=0)
    W = model.fit_transform(zeros)
    np.testing.assert_array_equal(model.components_, reference.components_)
    np.testing.assert_array_equal(W, 0.0)
    assert model.reconstruction_err_ == 0.0


def test_partial_fit_memory_does_not_grow_with_chunks():
    rng = np.random.RandomState(0)
    X = sp.random(3000, 500, density=0.02, random_state=rng, format="csr")
    model = SGDNMF(n_components=5, random_state=0, batch_size=100, max_iter=3)
    model.partial_fit(X[:300])
    peaks = []
    for start in range(300, 3000, 300):
        tracemalloc.start()
        model.partial_fit(X[start:start + 300])
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert max(peaks[-3:]) <= 1.5 * max(peaks[:3])


# -- scikit-learn integration -------------------------------------------------------
DOCS = [
    "the cat sat on the mat", "dogs and cats are pets", "the stock market fell today",
    "investors sold stocks and bonds", "my dog chased the cat", "markets rallied on earnings",
    "pets need food and care", "bond yields rose as stocks fell",
] * 3


def _neg_error(estimator, X, y=None):
    W = estimator.transform(X)
    X_t = estimator[:-1].transform(X)
    H = estimator[-1].components_
    return -float(np.linalg.norm(X_t.toarray() - W @ H))


def test_pipeline_and_grid_search_over_n_components():
    pipeline = Pipeline([
        ("tfidf", TfidfVectorizer()),
        ("nmf", SGDNMF(random_state=0, batch_size=8)),
    ])
    search = GridSearchCV(pipeline, {"nmf__n_components": [2, 4]}, cv=2, scoring=_neg_error)
    search.fit(DOCS)
    assert search.best_params_["nmf__n_components"] == 4
    assert search.best_estimator_.transform(DOCS[:2]).shape == (2, 4)


# -- properties ---------------------------------------------------------------------
small_matrices = st.integers(3, 8).flatmap(
    lambda n: st.integers(2, 6).flatmap(
        lambda m: arrays(np.float64, (n, m), elements=st.floats(0, 10, width=32))
    )
)


@given(X=small_matrices, k=st.integers(1, 3), batch_size=st.integers(1, 4),
       beta_loss=st.sampled_from(["frobenius", "kullback-leibler", 1.5]),
       seed=st.integers(0, 2**16))
def test_property_factors_non_negative_finite_and_fit_better_than_zero(X, k, batch_size,
                                                                      beta_loss, seed):
    model = SGDNMF(n_components=k, init="random", batch_size=batch_size, random_state=seed,
                   beta_loss=beta_loss, max_iter=20, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        W = model.fit_transform(X)
    assert np.all(np.isfinite(W)) and np.all(np.isfinite(model.components_))
    assert W.min() >= 0 and model.components_.min() >= 0
    if beta_loss == "frobenius":  # W = transform(X) solves least squares: never worse than 0
        error = np.linalg.norm(X - W @ model.components_)
        assert error <= np.linalg.norm(X) * (1 + 1e-7) + 1e-9


@given(X=small_matrices, k=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_property_one_batch_without_memory_never_increases_the_objective(X, k, seed):
    """One batch, forget_factor=0: MUNMF's steps, whose objective never increases."""
    model = SGDNMF(n_components=k, init="random", batch_size=len(X), forget_factor=0.0,
                   random_state=seed, max_iter=15, tol=0.0, max_no_improvement=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    curve = np.array(model.loss_curve_)
    scale = max(curve[0], 1e-12)
    assert np.all(np.diff(curve) <= 1e-7 * scale)


# -- the seed corpus ----------------------------------------------------------------
@pytest.fixture(scope="module")
def sklearn_reference(seed_corpus):
    _, vectorizer, X = seed_corpus
    model = NMF(n_components=5, random_state=1).fit(X)
    return model, explained(X, model.transform(X), model.components_)


def test_seed_corpus_topics_and_explained(seed_corpus, sklearn_reference):
    _, vectorizer, X = seed_corpus
    reference, e_reference = sklearn_reference
    model = SGDNMF(n_components=5, random_state=1)
    W = model.fit_transform(X)
    vocabulary = vectorizer.get_feature_names_out()
    assert shared_top_words(reference.components_, model.components_, vocabulary) >= 6
    assert explained(X, W, model.components_) >= 0.99 * e_reference


def test_seed_corpus_torch_path_gives_the_same_topics(seed_corpus):
    _, vectorizer, X = seed_corpus
    vocabulary = vectorizer.get_feature_names_out()
    numpy_model = SGDNMF(n_components=5, random_state=1).fit(X)
    torch_model = SGDNMF(n_components=5, random_state=1, device="torch").fit(X)
    assert shared_top_words(numpy_model.components_, torch_model.components_, vocabulary) >= 7.5


def test_seed_corpus_partial_fit_in_ten_chunks(seed_corpus, sklearn_reference):
    _, _, X = seed_corpus
    _, e_reference = sklearn_reference
    model = SGDNMF(n_components=5, random_state=1)
    for rows in np.array_split(np.arange(X.shape[0]), 10):
        model.partial_fit(X[rows])
    assert explained(X, model.transform(X), model.components_) >= 0.9 * e_reference
