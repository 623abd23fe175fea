"""score(): bi-cross-validation, GridSearchCV over n_components with the default score."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
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
)


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
    assert s1 < 0
    assert pickle.dumps(model) == before


def test_score_definition_by_hand():
    """-mean squared error of held-out entries, W by (non-negative) least squares."""
    X = rank5_data(1)
    model = TruncatedSVDTopics(5, random_state=0).fit(X[:200])
    Xt = X[200:]
    groups = np.random.RandomState(0).permutation(X.shape[1]) % 2
    total = 0.0
    for g in (0, 1):
        held, kept = groups == g, groups != g
        H = model.components_
        W = Xt[:, kept] @ np.linalg.pinv(H[:, kept])
        total += np.sum((Xt[:, held] - W @ H[:, held]) ** 2)
    np.testing.assert_allclose(model.score(Xt), -total / Xt.size, rtol=1e-8)


def test_sparse_and_dense_scores_agree():
    X = rank5_data(2)
    model = MUNMF(5, random_state=0).fit(X)
    np.testing.assert_allclose(model.score(sp.csr_matrix(X)), model.score(X), rtol=1e-8)


def test_nnls_solver_is_optimal():
    rng = np.random.RandomState(0)
    H = rng.rand(4, 30)
    X = rng.rand(20, 30)
    W = nonnegative_least_squares_rows(X, H)
    from scipy.optimize import nnls

    expected = np.array([nnls(H.T, x)[0] for x in X])
    np.testing.assert_allclose(W, expected, atol=1e-7)
    np.testing.assert_allclose(least_squares_rows(X, H), X @ np.linalg.pinv(H), atol=1e-10)


def test_score_needs_two_features():
    model = TruncatedSVDTopics(1, random_state=0).fit(np.random.RandomState(0).rand(10, 3))
    with pytest.raises(ValueError, match="features"):
        bicross_validation_score(np.ones((4, 1)), None, model.components_[:, :1],
                                 non_negative=False)


def test_held_out_score_does_not_grow_with_n_components():
    X = rank5_data(3)
    scores = []
    for k in (5, 12, 30):
        model = TruncatedSVDTopics(k, random_state=0).fit(X[:200])
        scores.append(model.score(X[200:]))
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
