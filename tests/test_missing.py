"""Missing values (NaN or a mask) and fixed components (guided topics)."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline

from sklearn_nmfx import MUNMF, SGDNMF, AutogradNMF, TruncatedSVDTopics
from sklearn_nmfx._backend import NumpyBackend
from sklearn_nmfx._kernels.hals import row_grams
from sklearn_nmfx._kernels.mu import beta_step
from sklearn_nmfx._scoring import nonnegative_least_squares_rows
from sklearn_nmfx.topics import dominant_topic, top_terms, topic_from_words

from .conftest import low_rank_data

try:
    import torch  # noqa: F401

    DEVICES = [None, "torch"]
except ImportError:  # pragma: no cover
    DEVICES = [None]

ESTIMATORS = [
    pytest.param(lambda **kw: MUNMF(**kw), id="MUNMF"),
    pytest.param(lambda **kw: SGDNMF(batch_size=40, **kw), id="SGDNMF"),
    pytest.param(lambda **kw: AutogradNMF(**kw), id="AutogradNMF"),
]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def with_missing(X, fraction, seed=0):
    """A copy of X with ``fraction`` of its entries set to NaN, and where."""
    missing = np.random.RandomState(seed).rand(*X.shape) < fraction
    X_nan = X.copy()
    X_nan[missing] = np.nan
    return X_nan, missing


def imputation_ratio(model, X, fraction, seed=0):
    """RMSE of the model's completion on the removed entries over column-mean imputation's."""
    X_nan, missing = with_missing(X, fraction, seed)
    completed = model.inverse_transform(model.fit_transform(X_nan))
    column_means = np.broadcast_to(np.nanmean(X_nan, axis=0), X.shape)
    rmse = np.sqrt(np.mean((completed[missing] - X[missing]) ** 2))
    rmse_mean = np.sqrt(np.mean((column_means[missing] - X[missing]) ** 2))
    return rmse / rmse_mean


# -- missing values -------------------------------------------------------------------
RANK5 = low_rank_data(120, 40, rank=5, noise=0.0, seed=1)


@pytest.mark.slow
@pytest.mark.parametrize("make", ESTIMATORS)
def test_imputation_beats_column_means_by_half(make):
    ratio = imputation_ratio(make(n_components=5, random_state=0), RANK5, 0.3)
    assert ratio <= 0.5


@pytest.mark.parametrize("beta_loss", ["kullback-leibler", "itakura-saito", 1.5, 3.0])
@pytest.mark.parametrize("fraction", [0.1, 0.5])
def test_munmf_imputes_for_every_beta_loss(beta_loss, fraction):
    X = RANK5 + 0.05  # no zeros, so that Itakura-Saito applies
    ratio = imputation_ratio(MUNMF(5, beta_loss=beta_loss, max_iter=400, random_state=0),
                             X, fraction)
    assert ratio <= 0.5


@pytest.mark.parametrize("make", ESTIMATORS)
def test_values_at_missing_entries_do_not_matter(make):
    X = low_rank_data(50, 12, seed=2)
    mask = np.random.RandomState(3).rand(*X.shape) > 0.25
    other = X.copy()
    other[~mask] = 1e3  # garbage where unobserved
    first = make(n_components=3, random_state=0).fit(X, mask=mask)
    second = make(n_components=3, random_state=0).fit(other, mask=mask)
    np.testing.assert_allclose(first.components_, second.components_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(first.transform(X, mask=mask), second.transform(other, mask=mask),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("make", ESTIMATORS)
def test_mask_and_nan_are_the_same_and_all_observed_is_the_unmasked_path(make):
    X = low_rank_data(40, 10, seed=4)
    X_nan, missing = with_missing(X, 0.2, seed=5)
    by_nan = make(n_components=3, random_state=0).fit(X_nan)
    by_mask = make(n_components=3, random_state=0).fit(X, mask=~missing)
    np.testing.assert_array_equal(by_nan.components_, by_mask.components_)
    plain = make(n_components=3, random_state=0).fit(X)
    all_observed = make(n_components=3, random_state=0).fit(X, mask=np.ones(X.shape, bool))
    np.testing.assert_array_equal(plain.components_, all_observed.components_)


@pytest.mark.parametrize("make", ESTIMATORS)
@pytest.mark.parametrize("device", DEVICES)
def test_fit_transform_is_fit_then_transform_with_missing(make, device):
    X_nan, missing = with_missing(low_rank_data(40, 10, seed=6), 0.2, seed=7)
    model = make(n_components=3, random_state=0, device=device)
    W = model.fit_transform(X_nan)
    np.testing.assert_array_equal(W, model.transform(X_nan))
    assert np.isfinite(W).all() and np.isfinite(model.components_).all()
    X = np.nan_to_num(X_nan, nan=5.0)
    W = model.fit_transform(X, mask=~missing)
    np.testing.assert_array_equal(W, model.transform(X, mask=~missing))


@pytest.mark.parametrize("make", ESTIMATORS[:2])
def test_masked_fit_is_the_same_on_torch(make):
    pytest.importorskip("torch")
    X_nan, _ = with_missing(low_rank_data(40, 10, seed=8), 0.3, seed=9)
    on_numpy = make(n_components=3, random_state=0).fit(X_nan)
    on_torch = make(n_components=3, random_state=0, device="torch").fit(X_nan)
    np.testing.assert_allclose(on_torch.components_, on_numpy.components_, rtol=1e-6, atol=1e-9)


def test_frobenius_transform_of_a_row_with_nan_is_nnls_on_its_observed_entries():
    X = low_rank_data(30, 12, seed=10)
    model = MUNMF(3, random_state=0, tol=1e-10, max_iter=2000).fit(X)
    row = X[:1].copy()
    row[0, [1, 4, 7]] = np.nan
    observed = ~np.isnan(row[0])
    expected = nonnegative_least_squares_rows(row[:, observed], model.components_[:, observed])
    np.testing.assert_allclose(model.transform(row), expected, rtol=1e-5, atol=1e-8)
    # rows are solved independently: the same row among others gives the same W
    rows = np.vstack([row, X[5:8]])
    np.testing.assert_allclose(model.transform(rows)[:1], model.transform(row), rtol=1e-12)


def test_fully_missing_rows_and_columns_give_zeros_not_nan():
    X = low_rank_data(20, 8, seed=11)
    X[3] = np.nan
    X[:, 5] = np.nan
    for model in (MUNMF(2, random_state=0), SGDNMF(2, random_state=0),
                  MUNMF(2, beta_loss=1, random_state=0)):
        W = model.fit_transform(X)
        assert np.isfinite(W).all() and np.isfinite(model.components_).all()
        np.testing.assert_array_equal(W[3], 0.0)


@pytest.mark.parametrize("beta", [1.0, 1.5, 2.0])
def test_masked_mu_step_with_every_entry_observed_is_the_plain_step(beta):
    X = low_rank_data(20, 9, seed=12)
    rng = np.random.RandomState(0)
    W, Ht = rng.rand(20, 3), rng.rand(9, 3)
    B = NumpyBackend()
    step = dict(beta=beta, l1=0.0, l2=0.0, floor=1e-30, eps=1e-12)
    plain = beta_step(B.data_matrix(X), W, Ht, **step)
    masked = beta_step(B.data_matrix(X, np.ones(X.shape, bool)), W, Ht, **step)
    np.testing.assert_allclose(masked, plain, rtol=1e-12)


def test_row_grams_are_the_grams_of_the_observed_columns():
    X = low_rank_data(6, 9, seed=13)
    mask = np.random.RandomState(1).rand(*X.shape) > 0.4
    G = np.random.RandomState(2).rand(9, 3)
    B = NumpyBackend()
    grams = row_grams(B.data_matrix(X, mask), G, B)
    for i in range(6):
        np.testing.assert_allclose(grams[i], B.gram(G[mask[i]]), rtol=1e-12)
    np.testing.assert_array_equal(row_grams(B.data_matrix(X), G, B), B.gram(G))


def test_sparse_x_keeps_implicit_zeros_observed_and_takes_a_mask():
    X = low_rank_data(30, 10, seed=14)
    X[X < 0.8] = 0.0
    missing = np.random.RandomState(15).rand(*X.shape) < 0.2
    X_nan = X.copy()
    X_nan[missing] = np.nan
    dense = MUNMF(3, random_state=0).fit(X_nan)
    for mask in (~missing, sp.csr_matrix(~missing)):
        sparse = MUNMF(3, random_state=0).fit(sp.csr_matrix(X), mask=mask)
        np.testing.assert_allclose(sparse.components_, dense.components_, rtol=1e-10)
    # without a mask, the implicit zeros are data: the fit differs from the masked one
    plain = MUNMF(3, random_state=0).fit(sp.csr_matrix(X))
    assert not np.allclose(plain.components_, dense.components_)
    all_observed = MUNMF(3, random_state=0).fit(sp.csr_matrix(X), mask=np.ones(X.shape))
    np.testing.assert_array_equal(all_observed.components_, plain.components_)


def test_caller_data_is_not_modified():
    X_nan, missing = with_missing(low_rank_data(30, 10, seed=16), 0.2)
    mask = ~missing
    H0 = np.random.RandomState(0).rand(1, 10)
    copies = [a.copy() for a in (X_nan, mask, H0)]
    for model in (MUNMF(3, random_state=0), SGDNMF(3, random_state=0)):
        model.fit(X_nan, mask=mask, H=H0, fixed_components=[1])
        model.transform(X_nan, mask=mask)
    for original, copy in zip((X_nan, mask, H0), copies):
        np.testing.assert_array_equal(original, copy)


@pytest.mark.parametrize("make", ESTIMATORS)
def test_inf_is_still_an_error_and_bad_masks_are_reported(make):
    X = low_rank_data(10, 6)
    X[1, 1] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        make(n_components=2).fit(X)
    with pytest.raises(ValueError, match=r"mask passed to .*fit has shape \(10, 5\)"):
        make(n_components=2).fit(low_rank_data(10, 6), mask=np.ones((10, 5)))
    X = sp.csr_matrix(low_rank_data(10, 6))
    X.data[0] = np.nan
    with pytest.raises(ValueError, match="sparse matrix with NaN"):
        make(n_components=2).fit(X)


def test_estimators_without_missing_value_support_refuse_a_mask():
    X = low_rank_data(10, 6)
    model = TruncatedSVDTopics(2).fit(X)
    assert not model.__sklearn_tags__().input_tags.allow_nan
    with pytest.raises(ValueError, match="does not support missing values"):
        model.transform(X, mask=np.ones(X.shape, bool))
    for cls in (MUNMF, SGDNMF, AutogradNMF):
        assert cls().__sklearn_tags__().input_tags.allow_nan


def test_autograd_user_loss_refuses_missing_values():
    X_nan, _ = with_missing(low_rank_data(10, 6), 0.2)
    model = AutogradNMF(2, beta_loss=lambda X, WH: ((X - WH) ** 2).sum())
    with pytest.raises(ValueError, match="not supported with a callable beta_loss"):
        model.fit(X_nan)


def test_partial_fit_with_missing_chunks():
    X_nan, missing = with_missing(RANK5, 0.3)
    model = SGDNMF(5, random_state=0)
    for chunk in np.array_split(X_nan, 3):
        model.partial_fit(chunk)
    completed = model.inverse_transform(model.transform(X_nan))
    column_means = np.broadcast_to(np.nanmean(X_nan, axis=0), RANK5.shape)
    error = np.abs(completed[missing] - RANK5[missing]).mean()
    assert error < 0.5 * np.abs(column_means[missing] - RANK5[missing]).mean()


# -- fixed components -----------------------------------------------------------------
TRUE_W = np.random.RandomState(20).rand(80, 4)
TRUE_H = np.random.RandomState(21).rand(4, 30) * (np.random.RandomState(22).rand(4, 30) > 0.5)
PLANTED = TRUE_W @ TRUE_H


FIXED_CASES = [
    pytest.param(lambda **kw: MUNMF(**kw), id="MUNMF-frobenius"),
    pytest.param(lambda **kw: MUNMF(beta_loss="kullback-leibler", **kw), id="MUNMF-kl"),
    pytest.param(lambda **kw: SGDNMF(batch_size=32, **kw), id="SGDNMF-lipschitz"),
    pytest.param(lambda **kw: SGDNMF(learning_rate="constant", batch_size=32, **kw),
                 id="SGDNMF-constant"),
    pytest.param(lambda **kw: AutogradNMF(**kw), id="AutogradNMF"),
    pytest.param(lambda **kw: AutogradNMF(nonnegativity="softplus", **kw),
                 id="AutogradNMF-softplus"),
]


@pytest.mark.parametrize("make", FIXED_CASES)
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("sparse", [False, True])
def test_fixed_rows_are_bit_identical_and_the_others_are_learned(make, device, sparse):
    X = sp.csr_matrix(PLANTED) if sparse else PLANTED
    H0 = np.random.RandomState(5).rand(2, 30)
    model = make(n_components=4, random_state=0, device=device)
    W = model.fit_transform(X, H=H0, fixed_components=[3, 1])
    np.testing.assert_array_equal(model.fixed_components_, [1, 3])
    # H holds the fixed rows in the order of fixed_components: row 0 is component 3
    assert model.components_[[3, 1]].tobytes() == H0.tobytes()
    for learned in model.components_[[0, 2]]:
        assert not np.allclose(learned, H0[0]) and not np.allclose(learned, H0[1])
        assert np.any(learned > 0)
    np.testing.assert_array_equal(W, model.transform(X))


@pytest.mark.parametrize("make", FIXED_CASES[:3])
def test_fixing_true_topics_recovers_the_others(make):
    fixed = [0, 2]
    model = make(n_components=4, random_state=0, max_iter=1000, tol=1e-8)
    model.fit(PLANTED, H=TRUE_H[fixed], fixed_components=fixed)

    def unit(rows):
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    similarity = unit(model.components_[[1, 3]]) @ unit(TRUE_H[[1, 3]]).T
    assert np.all(similarity.max(axis=1) > 0.98)


@pytest.mark.parametrize("make", FIXED_CASES[:3])
def test_full_h_or_fixed_rows_only_give_the_same_fit(make):
    H_full = np.random.RandomState(6).rand(4, 30)
    by_rows = make(n_components=4, random_state=0).fit(PLANTED, H=H_full[[2]],
                                                       fixed_components=[2])
    by_full = make(n_components=4, random_state=0).fit(PLANTED, H=H_full, fixed_components=[2])
    np.testing.assert_array_equal(by_rows.components_, by_full.components_)
    assert by_rows.components_[2].tobytes() == H_full[2].tobytes()
    # n_components='auto' takes the number of rows of a full H
    assert make(random_state=0).fit(PLANTED, H=H_full, fixed_components=[2]).n_components_ == 4


def test_fixed_components_with_a_custom_start_and_missing_values():
    X_nan, _ = with_missing(PLANTED, 0.2)
    rng = np.random.RandomState(7)
    W0, H0 = rng.rand(80, 4), rng.rand(4, 30)
    model = MUNMF(4, init="custom").fit(X_nan, W=W0, H=H0, fixed_components=[0])
    assert model.components_[0].tobytes() == H0[0].tobytes()
    assert not np.allclose(model.components_[1:], H0[1:])


def test_munmf_objective_never_increases_with_fixed_components():
    model = MUNMF(4, random_state=0, tol=0, max_iter=100)
    model.fit(PLANTED, H=np.random.RandomState(8).rand(1, 30), fixed_components=[0])
    curve = np.array(model.loss_curve_)
    assert np.all(np.diff(curve) <= 1e-12 * curve[0])


def test_partial_fit_keeps_the_fixed_components():
    H0 = np.random.RandomState(9).rand(1, 30)
    model = SGDNMF(4, random_state=0)
    model.partial_fit(PLANTED[:40], H=H0, fixed_components=[2])
    model.partial_fit(PLANTED[40:])
    assert model.components_[2].tobytes() == H0[0].tobytes()
    with pytest.raises(ValueError, match="first partial_fit only"):
        model.partial_fit(PLANTED[:10], H=H0, fixed_components=[2])
    refit = SGDNMF(4, random_state=0).fit(PLANTED, H=H0, fixed_components=[2])
    refit.partial_fit(PLANTED[:20])
    assert refit.components_[2].tobytes() == H0[0].tobytes()


@pytest.mark.parametrize(
    "fixed, H, message",
    [
        ([0], None, "fixed_components needs H"),
        ([4], np.ones((1, 30)), r"distinct indices in \[0, 4\)"),
        ([1, 1], np.ones((2, 30)), "distinct indices"),
        ([], np.ones((1, 30)), "non-empty list of component indices"),
        ([0.5], np.ones((1, 30)), "non-empty list of component indices"),
        ([0, 1], np.ones((3, 30)), r"expected \(2, 30\), got \(3, 30\)"),
        ([0], -np.ones((1, 30)), "Negative values"),
    ],
)
def test_fixed_components_errors(fixed, H, message):
    with pytest.raises(ValueError, match=message):
        MUNMF(4).fit(PLANTED, H=H, fixed_components=fixed)


def test_h_without_fixed_components_or_custom_init_is_ignored_with_a_warning():
    with pytest.warns(RuntimeWarning, match="provided W or H are ignored"):
        MUNMF(2, random_state=0).fit(PLANTED, H=np.ones((2, 30)))


# -- seed words -------------------------------------------------------------------------
DOCS = ["the rocket launch to orbit", "nasa launch of the space shuttle",
        "god and the bible", "faith in god", "the shuttle in orbit", "the bible and faith"]


def test_topic_from_words():
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    tfidf = TfidfVectorizer().fit(DOCS)
    names = list(tfidf.get_feature_names_out())
    topic = topic_from_words(["orbit", "nasa"], tfidf, weight=2.0)
    assert topic.dtype == np.float64 and topic.shape == (len(names),)
    assert {names[j]: topic[j] for j in np.flatnonzero(topic)} == {"orbit": 2.0, "nasa": 2.0}
    weighted = topic_from_words({"god": 1.0, "bible": 0.5}, names, dtype=np.float32)
    assert weighted.dtype == np.float32 and weighted[names.index("bible")] == 0.5
    pipe = Pipeline([("counts", CountVectorizer()), ("nmf", MUNMF(2))]).fit(DOCS)
    np.testing.assert_array_equal(topic_from_words(["god"], pipe),
                                  topic_from_words(["god"], names))
    with pytest.warns(UserWarning, match=r"left out: \['moon'\]"):
        assert topic_from_words(["orbit", "moon"], names).sum() == 1.0
    with pytest.raises(ValueError, match="none of the seed words"):
        topic_from_words(["moon"], names)
    with pytest.raises(ValueError, match="not fitted"):
        topic_from_words(["moon"], TfidfVectorizer())
    with pytest.raises(TypeError, match="not a string"):
        topic_from_words("orbit", names)
    with pytest.raises(ValueError, match=">= 0"):
        topic_from_words({"orbit": -1.0}, names)


def test_topic_from_words_with_documents_contrasts_the_seeded_rows_to_the_others():
    from sklearn.feature_extraction.text import CountVectorizer

    counts = CountVectorizer().fit(DOCS)
    X = counts.transform(DOCS)
    topic = topic_from_words(["orbit"], counts, X, weight=2.0)
    dense = X.toarray()
    seeded = dense[[0, 4]].mean(axis=0) - dense[[1, 2, 3, 5]].mean(axis=0)
    np.testing.assert_allclose(topic, 2.0 * np.maximum(seeded, 0))
    names = list(counts.get_feature_names_out())
    assert topic[names.index("orbit")] == 2.0 and topic[names.index("god")] == 0.0
    everywhere = topic_from_words(["the", "faith"], counts, X)  # in every row: the mean row
    np.testing.assert_allclose(everywhere, dense.mean(axis=0))
    np.testing.assert_array_equal(topic_from_words(["orbit"], counts, X.toarray(), weight=2.0),
                                  topic)
    with pytest.raises(ValueError, match="no document of X"):
        topic_from_words(["orbit"], counts, X[[2, 3]])


def test_guided_space_topic_on_the_seed_corpus(seed_corpus):
    documents, vectorizer, X = seed_corpus
    seeds = ["space", "nasa", "orbit", "launch", "shuttle"]
    space = topic_from_words(seeds, vectorizer, X)
    model = MUNMF(4, random_state=1, max_iter=20).fit(X, H=space[None, :], fixed_components=[0])
    assert model.components_[0].tobytes() == space.tobytes()
    names = vectorizer.get_feature_names_out()
    assert set(top_terms(model, names, n_top=5)[0]) == set(seeds)  # the seeds lead it
    assert all(not set(seeds) <= set(terms) for terms in top_terms(model, names, n_top=5)[1:])
    topic, _ = dominant_topic(model, X)
    names_a_seed = np.array([any(w in d.lower().split() for w in seeds) for d in documents])
    # documents that name a seed word mostly fall in the guided topic, others mostly not
    assert np.mean(topic[names_a_seed] == 0) > 0.8
    assert np.mean(topic[~names_a_seed] == 0) < 0.4


def _observed_beta_divergence(X, WH, observed, beta):
    x, y = X[observed], WH[observed]
    return np.sum((x**beta + (beta - 1) * y**beta - beta * x * y ** (beta - 1))
                  / (beta * (beta - 1)))


@pytest.mark.parametrize("beta_loss", [-1.0, -0.5])
@pytest.mark.parametrize("make, device", [
    pytest.param(MUNMF, None, id="MUNMF-numpy"), pytest.param(MUNMF, "torch", id="MUNMF-torch"),
    pytest.param(AutogradNMF, None, id="AutogradNMF")])
def test_negative_beta_losses_with_missing_entries(make, device, beta_loss):
    """Missing entries hold 0 inside the solvers, and 0 ** beta is infinite for beta
    < 0: they must be left out of the objective, not turn it into NaN (issue 19)."""
    if device == "torch" or make is AutogradNMF:
        pytest.importorskip("torch")
    X = RANK5[:40, :20] + 0.05  # no zeros (beta <= 0)
    X_nan, missing = with_missing(X, 0.2, seed=12)
    model = make(n_components=3, beta_loss=beta_loss, random_state=0, device=device,
                 max_iter=100)
    W = model.fit_transform(X_nan)
    assert np.isfinite(model.loss_curve_).all() and np.isfinite(W).all()
    divergence = _observed_beta_divergence(X, W @ model.components_, ~missing, beta_loss)
    assert model.reconstruction_err_ == pytest.approx(np.sqrt(2 * divergence), rel=1e-6)
    if make is MUNMF:  # monotone
        assert np.all(np.diff(model.loss_curve_) <= 1e-9 * model.loss_curve_[0])
    np.testing.assert_array_equal(model.transform(X_nan), W)


@pytest.mark.parametrize("make", ESTIMATORS)
def test_nothing_observed_is_refused_by_fit(make):
    X = low_rank_data(10, 6)
    all_nan, no_true = np.full((5, 4), np.nan), np.zeros(X.shape, bool)
    copies = [a.copy() for a in (X, all_nan, no_true)]
    with pytest.raises(ValueError, match="no entry of X is observed"):
        make(n_components=2).fit(all_nan)
    with pytest.raises(ValueError, match="no entry of X is observed"):
        make(n_components=2).fit_transform(X, mask=no_true)
    with pytest.raises(ValueError, match="no entry of X is observed"):
        make(n_components=2).fit(sp.csr_matrix(X), mask=no_true)
    for original, copy in zip((X, all_nan, no_true), copies):
        np.testing.assert_array_equal(original, copy)
    # transform takes it: a row with nothing observed has W = 0 (rows are independent)
    model = make(n_components=2, random_state=0).fit(X)
    np.testing.assert_array_equal(model.transform(np.full((3, 6), np.nan)), 0.0)


def test_partial_fit_refuses_a_chunk_with_nothing_observed():
    X = low_rank_data(10, 6)
    with pytest.raises(ValueError, match="no entry of X is observed"):
        SGDNMF(2).partial_fit(np.full((5, 6), np.nan))
    model = SGDNMF(2, random_state=0).partial_fit(X)
    before = model.components_.copy()
    with pytest.raises(ValueError, match="no entry of X is observed"):
        model.partial_fit(X, mask=np.zeros(X.shape, bool))
    np.testing.assert_array_equal(model.components_, before)


@pytest.mark.parametrize("cls", [MUNMF, SGDNMF, AutogradNMF])
def test_per_row_grams_of_the_solve_of_w_are_refused_before_allocating(cls, monkeypatch):
    from sklearn_nmfx import _validation

    X = np.ones((40, 2000))
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    # 100 x 100 Gram matrices: one per feature (the outer products of H's columns) and
    # about 6 per row, 2240 of them (180 MB), more than half of a machine of 256 MiB
    monkeypatch.setattr(_validation, "_physical_memory", lambda: 2**28)
    kwargs = {"init": "random", "max_iter": 2}
    with pytest.raises(ValueError, match=rf"n_components=100 is too large for {cls.__name__}"
                                         r"\.fit with missing entries.*GiB"):
        cls(100, **kwargs).fit(X_nan)
    with pytest.raises(ValueError, match=r"too large .*\.fit with missing entries"):
        cls(100, **kwargs).fit(X, mask=~np.isnan(X_nan))
    model = cls(100, random_state=0, **kwargs).fit(X)  # no missing entry: one k x k Gram
    with pytest.raises(ValueError, match=rf"too large for {cls.__name__}\.transform with "
                                         "missing entries"):
        model.transform(X_nan)
    monkeypatch.undo()
    model.transform(X_nan[:1])  # fits in memory: solved
