"""score(): topic stability (and the bi-cross-validation kept beside it), GridSearchCV
over n_components with the default score."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment, nnls
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

import sklearn_nmfx
from sklearn_nmfx import MUNMF, TruncatedSVDTopics
from sklearn_nmfx._scoring import (
    bicross_validation_score,
    least_squares_rows,
    nonnegative_least_squares_rows,
    topic_stability_score,
)

from .conftest import skip_unless_newsgroups_readable


def rank5_data(seed=0, noise=0.1):
    """300 x 200, non-negative, true rank 5, plus Gaussian noise."""
    rng = np.random.RandomState(seed)
    X = rng.rand(300, 5) @ rng.rand(5, 200)
    return np.abs(X + noise * rng.standard_normal(X.shape))


def _estimators():
    names = [n for n in sklearn_nmfx.__all__ if n != "TruncatedSVDTopics"]
    out = [getattr(sklearn_nmfx, n) for n in names if hasattr(getattr(sklearn_nmfx, n), "fit")]
    return out + [TruncatedSVDTopics]


def test_score_is_deterministic_and_leaves_estimator_unchanged():
    X = rank5_data()
    model = MUNMF(5, random_state=0, max_iter=500).fit(X[:200])
    before = pickle.dumps(model)
    s1, s2 = model.score(X[200:]), model.score(X[200:])
    assert s1 == s2
    assert -2.5 <= s1 <= 2.5
    assert pickle.dumps(model) == before


def test_score_definition_by_hand():
    """Refit on X, W of each model by NNLS, topic proportions, Pearson correlations,
    one-to-one matching, sum of (correlation - 1/2)."""
    X = rank5_data(1)
    model = MUNMF(4, random_state=0).fit(X[:200])
    Xt = X[200:]
    refit = MUNMF(4, random_state=0).fit(Xt)
    proportions = []
    for H in (model.components_, refit.components_):
        W = np.array([nnls(H.T, x)[0] for x in Xt])
        proportions.append(W / W.sum(axis=1, keepdims=True))
    C = np.corrcoef(proportions[0].T, proportions[1].T)[:4, 4:]
    rows, cols = linear_sum_assignment(-C)
    np.testing.assert_allclose(model.score(Xt), np.sum(C[rows, cols] - 0.5), atol=1e-6)


def test_svd_score_definition_by_hand():
    """For SVD: W by least squares, absolute correlations (components have no sign)."""
    X = rank5_data(1)
    model = TruncatedSVDTopics(5, random_state=0).fit(X[:200])
    Xt = X[200:]
    refit = TruncatedSVDTopics(5, random_state=0).fit(Xt)
    W = [Xt @ np.linalg.pinv(H) for H in (model.components_, refit.components_)]
    C = np.abs(np.corrcoef(W[0].T, W[1].T)[:5, 5:])
    rows, cols = linear_sum_assignment(-C)
    np.testing.assert_allclose(model.score(Xt), np.sum(C[rows, cols] - 0.5), atol=1e-8)


@pytest.mark.parametrize("cls", [MUNMF, TruncatedSVDTopics])
def test_a_model_scored_on_its_own_data_reproduces_every_topic(cls):
    """The refit on the training data is the fit itself: every correlation is 1."""
    X = rank5_data(2)[:100]
    model = cls(3, random_state=0).fit(X)
    np.testing.assert_allclose(model.score(X), 3 * 0.5, atol=1e-9)


def test_one_component_scores_minus_one_half():
    """With one topic every document's proportion is 1: nothing to correlate."""
    X = rank5_data(2)
    assert MUNMF(1, random_state=0).fit(X[:200]).score(X[200:]) == -0.5


@pytest.mark.parametrize("non_negative", [True, False])
def test_score_does_not_depend_on_the_scale_of_X(non_negative):
    X = rank5_data(4)
    cls = MUNMF if non_negative else TruncatedSVDTopics
    H_fit = cls(5, random_state=0).fit(X[:200]).components_
    H_refit = cls(5, random_state=0).fit(X[200:]).components_
    unit = topic_stability_score(X[200:], None, H_fit, H_refit, non_negative=non_negative)
    scaled = topic_stability_score(X[200:] * 1e150, None, H_fit * 1e75, H_refit * 1e75,
                                   non_negative=non_negative)
    np.testing.assert_allclose(scaled, unit, atol=1e-9)


def test_svd_score_of_scaled_data_is_that_of_the_data():
    X = rank5_data(4)
    model = TruncatedSVDTopics(5, random_state=0).fit(X[:200])
    scaled = TruncatedSVDTopics(5, random_state=0).fit(X[:200] * 1e100)
    np.testing.assert_allclose(scaled.score(X[200:] * 1e100), model.score(X[200:]), atol=1e-9)


def test_score_is_random_state_free_with_a_fixed_seed_refit():
    """random_state=None: the refit runs with seed 0, so the score is deterministic."""
    X = rank5_data(5)
    model = MUNMF(4, init="random").fit(X[:200])
    assert model.score(X[200:]) == model.score(X[200:])


def test_sparse_and_dense_scores_agree():
    X = rank5_data(2)
    model = MUNMF(5, random_state=0).fit(X)
    np.testing.assert_allclose(model.score(sp.csr_matrix(X)), model.score(X), rtol=1e-8)


def test_nnls_solver_is_optimal():
    rng = np.random.RandomState(0)
    H = rng.rand(4, 30)
    X = rng.rand(20, 30)
    W = nonnegative_least_squares_rows(X, H)
    expected = np.array([nnls(H.T, x)[0] for x in X])
    np.testing.assert_allclose(W, expected, atol=1e-7)
    np.testing.assert_allclose(least_squares_rows(X, H), X @ np.linalg.pinv(H), atol=1e-10)


def test_score_needs_two_features():
    model = TruncatedSVDTopics(1, random_state=0).fit(np.random.RandomState(0).rand(10, 3))
    with pytest.raises(ValueError, match="features"):
        bicross_validation_score(np.ones((4, 1)), None, model.components_[:, :1],
                                 non_negative=False)


def test_score_peaks_at_the_true_rank():
    """Topics beyond the five of the data follow noise: the refit does not find them."""
    X = rank5_data(3)
    scores = {k: MUNMF(k, random_state=0).fit(X[:200]).score(X[200:]) for k in (3, 5, 10)}
    assert scores[5] > scores[3] and scores[5] > scores[10]


def test_bicross_validation_score_does_not_grow_with_n_components():
    X = rank5_data(3)
    scores = []
    for k in (5, 12, 30):
        model = TruncatedSVDTopics(k, random_state=0).fit(X[:200])
        scores.append(bicross_validation_score(X[200:], None, model.components_,
                                               non_negative=False))
    assert scores[0] > scores[1] > scores[2]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("cls", [MUNMF, TruncatedSVDTopics])
def test_grid_search_picks_true_rank(cls, seed):
    X = rank5_data(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(cls(random_state=0), {"n_components": list(range(2, 13))},
                              cv=3).fit(X)
    assert 4 <= search.best_params_["n_components"] <= 6
    _margins_hold(search, list(range(2, 13)))


@pytest.mark.slow
@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("cls", _estimators(), ids=lambda c: c.__name__)
def test_grid_search_pipeline_without_scoring(cls, n_jobs, small_corpus):
    pipe = Pipeline([("tfidf", TfidfVectorizer(stop_words="english", min_df=2)),
                     ("nmf", cls(random_state=0))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(pipe, {"nmf__n_components": [2, 4]}, cv=3,
                              n_jobs=n_jobs, error_score="raise").fit(small_corpus)
    assert search.best_params_["nmf__n_components"] in (2, 4)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


@pytest.fixture(scope="module")
def small_corpus():
    words = {
        "space": "space nasa orbit launch moon shuttle rocket earth",
        "god": "god jesus bible faith church belief religion atheist",
        "graphics": "image graphics file format program jpeg color display",
    }
    rng = np.random.RandomState(0)
    docs = []
    for i in range(60):
        topic = list(words.values())[i % 3].split()
        docs.append(" ".join(rng.choice(topic, size=12)))
    return docs


def _margins_hold(search, ks):
    """The pick's mean beats the means at half and at twice the pick (the nearest k
    of the grid) by more than those candidates' standard deviations."""
    mean = search.cv_results_["mean_test_score"]
    std = search.cv_results_["std_test_score"]
    pick = ks.index(search.best_params_["n_components"])
    for target in (ks[pick] / 2, ks[pick] * 2):
        other = min(range(len(ks)), key=lambda i: abs(ks[i] - target))
        if other != pick:
            assert mean[pick] - mean[other] > std[other], (ks[other], mean, std)


def _text_with_topics(r, n_documents=600, n_words=3000, seed=0):
    """Documents drawn from r topic-word distributions (multinomial counts)."""
    rng = np.random.RandomState(seed)
    topics = rng.dirichlet(np.full(n_words, 0.05), size=r)
    docs = []
    for i in range(n_documents):
        weights = np.full(r, 0.1 / (r - 1))
        weights[i % r] = 0.9
        mixture = rng.dirichlet(weights * 5) @ topics
        counts = rng.multinomial(rng.randint(200, 400), mixture / mixture.sum())
        docs.append(" ".join(f"w{w}" for w in np.repeat(np.arange(n_words), counts)))
    return docs


@pytest.mark.slow
def test_grid_search_finds_the_topics_of_synthetic_text():
    X = TfidfVectorizer(min_df=2).fit_transform(_text_with_topics(3))
    ks = [1, 2, 3, 4, 5, 6]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(MUNMF(random_state=0), {"n_components": ks}, cv=3).fit(X)
    assert 2 <= search.best_params_["n_components"] <= 5
    _margins_hold(search, ks)


@pytest.mark.slow
def test_grid_search_finds_two_topics_in_two_distant_newsgroups():
    """sci.space and rec.sport.hockey: the old held-out error rose to k=10 here."""
    skip_unless_newsgroups_readable()
    from sklearn.datasets import fetch_20newsgroups

    docs = fetch_20newsgroups(subset="train", categories=["sci.space", "rec.sport.hockey"],
                              remove=("headers", "footers", "quotes"),
                              download_if_missing=False).data
    X = TfidfVectorizer(stop_words="english", min_df=2).fit_transform(docs)
    ks = [1, 2, 3, 4, 5, 6]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(MUNMF(random_state=0), {"n_components": ks}, cv=3).fit(X)
    assert 2 <= search.best_params_["n_components"] <= 4
    _margins_hold(search, ks)
