"""Topic tools: top terms, tables, coherence (NPMI, UMass), scorer, dominant topics."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from sklearn_nmfx import MUNMF, TruncatedSVDTopics
from sklearn_nmfx.topics import (
    coherence_scorer,
    dominant_topic,
    show_topics,
    top_term_indices,
    top_terms,
    topic_coherence,
    topic_table,
)


class Fitted:
    def __init__(self, components):
        self.components_ = np.asarray(components, dtype=float)


NAMES = ["a", "b", "c", "d"]


def test_top_terms_plain_lists():
    model = Fitted([[0.1, 0.9, 0.5, 0.0], [0.7, 0.0, 0.2, 0.3]])
    assert top_terms(model, NAMES, n_top=3) == [["b", "c", "a"], ["a", "d", "c"]]
    assert show_topics(model, NAMES, n_top=2) == ["b c", "a d"]
    np.testing.assert_array_equal(top_term_indices(model, 2), [[1, 2], [0, 3]])


def test_both_poles_for_signed_components():
    model = Fitted([[0.9, -0.8, 0.1, -0.1]])
    assert top_terms(model, NAMES, n_top=2) == [(["a", "c"], ["b", "d"])]
    assert show_topics(model, NAMES, n_top=1) == ["a | b"]
    assert top_terms(model, NAMES, n_top=1, pole="positive") == [["a"]]
    table = topic_table(model, NAMES, n_top=2)
    assert list(table.columns) == ["Topic # 01 +", "Topic # 01 -"]


def test_topic_table_columns():
    model = Fitted(np.eye(4)[:3] + 0.01)
    table = topic_table(model, NAMES, n_top=2)
    assert list(table.columns) == ["Topic # 01", "Topic # 02", "Topic # 03"]
    assert table.shape == (2, 3)
    assert table["Topic # 02"][0] == "b"


def test_feature_names_from_feature_names_in_and_errors():
    import pandas as pd

    X = pd.DataFrame(np.random.RandomState(0).rand(20, 4), columns=NAMES)
    model = MUNMF(2, random_state=0, max_iter=50).fit(X)
    assert len(top_terms(model, n_top=2)) == 2
    with pytest.raises(ValueError, match="feature names"):
        top_terms(Fitted(np.ones((2, 4))), ["x"])
    with pytest.raises(ValueError, match="feature_names are needed"):
        top_terms(Fitted(np.ones((2, 4))))
    with pytest.raises(NotFittedError, match="fit it first"):
        top_terms(MUNMF(), NAMES)


def _brute_force(X, top, measure):
    B = (np.asarray(X) != 0)
    n = B.shape[0]
    values = []
    for i in range(len(top)):
        for j in range(i + 1, len(top)):
            a, b = top[i], top[j]
            d_a, d_b, d_ab = B[:, a].sum(), B[:, b].sum(), (B[:, a] & B[:, b]).sum()
            if measure == "umass":
                values.append(np.log((d_ab + 1) / d_a))
            elif d_ab == 0:
                values.append(-1.0)
            else:
                p_a, p_b, p_ab = d_a / n, d_b / n, d_ab / n
                values.append(np.log(p_ab / (p_a * p_b)) / -np.log(p_ab))
    return np.mean(values)


@pytest.mark.parametrize("measure", ["npmi", "umass"])
def test_coherence_by_hand(measure):
    rng = np.random.RandomState(0)
    X = sp.random(200, 30, density=0.2, format="csr", random_state=rng)
    model = Fitted(rng.rand(3, 30))
    per_topic = topic_coherence(model, X, n_top=5, measure=measure, per_topic=True)
    top = top_term_indices(model, 5)
    for t in range(3):
        np.testing.assert_allclose(per_topic[t], _brute_force(X.toarray(), top[t], measure))
    dense = topic_coherence(model, X.toarray(), n_top=5, measure=measure)
    np.testing.assert_allclose(dense, per_topic.mean())


def test_npmi_extremes():
    X = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]])
    together = Fitted([[1, 1, 0, 0]])   # always co-occur
    apart = Fitted([[1, 0, 1, 0]])      # never co-occur
    assert topic_coherence(together, X, n_top=2) == pytest.approx(1.0)
    assert topic_coherence(apart, X, n_top=2) == pytest.approx(-1.0)
    assert topic_coherence(together, X, n_top=2, measure="umass") > topic_coherence(
        apart, X, n_top=2, measure="umass")
    with pytest.raises(ValueError, match="measure"):
        topic_coherence(together, X, measure="cv")


def test_dominant_topic():
    W = np.array([[0.1, 0.3], [0.0, 0.0], [2.0, 1.0]])
    topic, weight = dominant_topic(None, W=W)
    np.testing.assert_array_equal(topic, [1, -1, 0])
    np.testing.assert_allclose(weight, [0.75, 0.0, 2 / 3])
    topic, weight = dominant_topic(None, W=W, normalize=False)
    np.testing.assert_allclose(weight, [0.3, 0.0, 2.0])


def test_pipeline_with_several_preprocessing_steps():
    docs = ["space nasa orbit", "god bible faith", "space orbit moon", "god faith church"] * 5
    pipe = Pipeline([("count", CountVectorizer()), ("tfidf", TfidfTransformer()),
                     ("svd", TruncatedSVDTopics(2, random_state=0))]).fit(docs)
    terms = top_terms(pipe, n_top=3, pole="positive")
    assert len(terms) == 2 and all(len(t) == 3 for t in terms)
    assert np.isfinite(topic_coherence(pipe, docs))
    topic, weight = dominant_topic(pipe, docs)
    assert topic.shape == (20,)


# -- the seed corpus -------------------------------------------------------------------
def _nmf_pipeline(k):
    return Pipeline([("tfidf", TfidfVectorizer(stop_words="english")),
                     ("nmf", MUNMF(n_components=k, random_state=1))])


@pytest.fixture(scope="module")
def seed_pipeline(seed_corpus):
    documents, _, _ = seed_corpus
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _nmf_pipeline(5).fit(documents)


def test_topic_table_of_seed_corpus(seed_pipeline):
    table = topic_table(seed_pipeline, n_top=10)  # one call
    assert list(table.columns) == [f"Topic # {k:02d}" for k in range(1, 6)]
    words = {c: set(table[c]) for c in table.columns}
    themes = [{"god", "jesus", "bible"}, {"graphics", "image", "files"},
              {"space", "nasa", "launch", "orbit"}]
    for theme in themes:
        assert any(len(theme & w) >= 2 for w in words.values()), theme


@pytest.mark.slow
def test_npmi_prefers_5_topics_to_50(seed_corpus, seed_pipeline):
    documents, _, X = seed_corpus
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fifty = _nmf_pipeline(50).set_params(nmf__max_iter=100).fit(documents)
    scorer = coherence_scorer("npmi", n_top=10)
    five_score, fifty_score = scorer(seed_pipeline, documents), scorer(fifty, documents)
    assert five_score > fifty_score
    # the same numbers from the matrix directly
    assert topic_coherence(seed_pipeline["nmf"], X) == pytest.approx(five_score)


def test_coherence_scorer_in_grid_search():
    docs = [" ".join(np.random.RandomState(i).choice(t.split(), 10)) for i, t in enumerate(
        ["space nasa orbit launch moon", "god bible faith church jesus",
         "image file graphics jpeg color"] * 15)]
    pipe = Pipeline([("tfidf", TfidfVectorizer()), ("nmf", MUNMF(random_state=0))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(pipe, {"nmf__n_components": [3, 8]}, cv=3, n_jobs=2,
                              scoring=coherence_scorer("npmi", n_top=4),
                              error_score="raise").fit(docs)
    assert search.best_params_["nmf__n_components"] == 3


# -- ties, zero weights, empty poles and garbage (issues 18 and 19) --------------------
def test_zero_weight_terms_are_no_topic_words():
    model = Fitted([[0.0, 0.9, 0.0, 0.5], [0.0, 0.0, 0.0, 0.0]])
    assert top_terms(model, NAMES, n_top=3) == [["b", "d"], []]
    assert show_topics(model, NAMES, n_top=3) == ["b d", ""]
    table = topic_table(model, NAMES, n_top=3)
    assert table.shape == (2, 2)
    assert list(table["Topic # 01"]) == ["b", "d"] and list(table["Topic # 02"]) == ["", ""]


def test_no_negative_pole_without_negative_weights():
    # like the first SVD component of TF-IDF: every weight positive, some tied
    model = Fitted([[0.9, 0.2, 0.2, 0.2], [0.5, -0.4, 0.1, -0.3]])
    assert top_terms(model, NAMES, n_top=2) == [(["a", "b"], []), (["a", "c"], ["b", "d"])]
    assert show_topics(model, NAMES, n_top=2) == ["a b", "a c | b d"]
    table = topic_table(model, NAMES, n_top=2)
    assert list(table["Topic # 01 -"]) == ["", ""]


def test_ties_are_broken_by_term():
    # equal weights: listed in the order of their terms, whatever the column order
    names = ["zeta", "alpha", "mu", "beta"]
    model = Fitted([[0.5, 0.5, 0.1, 0.5]])
    assert top_terms(model, names, n_top=2) == [["alpha", "beta"]]
    assert top_terms(model, names, n_top=4) == [["alpha", "beta", "zeta", "mu"]]
    # the same among many ties (argpartition alone would pick any of them)
    n = 1000
    tied = Fitted(np.r_[1.0, np.full(n - 1, 0.25)][None, :])
    names = [f"t{i:04d}" for i in range(n)][::-1]
    assert top_terms(tied, names, n_top=3) == [["t0999", "t0000", "t0001"]]
    from sklearn_nmfx.topics import top_terms_with_weights

    assert top_terms_with_weights(model, ["zeta", "alpha", "mu", "beta"], n_top=2) == [
        [("alpha", 0.5), ("beta", 0.5)]]


@pytest.mark.parametrize("n_top", [-1, 0, 2.5, "3", True, None])
def test_bad_n_top_is_refused(n_top):
    model = Fitted([[0.1, 0.9, 0.5, 0.2]])
    for call in (lambda: top_terms(model, NAMES, n_top=n_top),
                 lambda: show_topics(model, NAMES, n_top=n_top),
                 lambda: top_term_indices(model, n_top),
                 lambda: topic_coherence(model, np.eye(4), n_top=n_top)):
        with pytest.raises(ValueError, match="n_top must be a positive integer"):
            call()


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("sparse", [False, True])
def test_coherence_refuses_non_finite_data(bad, sparse):
    model = Fitted([[0.9, 0.8, 0.0, 0.1]])
    X = np.full((4, 4), bad)
    if sparse:
        X = sp.csr_matrix(X)
    for measure in ("npmi", "umass"):
        with pytest.raises(ValueError, match="NaN|infinite"):
            topic_coherence(model, X, n_top=2, measure=measure)
    with pytest.raises(ValueError, match="NaN"):
        coherence_scorer("npmi", n_top=2)(model, np.where(np.eye(4) > 0, np.nan, 1.0))


def test_dominant_topic_refuses_bad_w():
    model = Fitted([[0.9, 0.8, 0.0, 0.1], [0.1, 0.0, 0.9, 0.8]])
    with pytest.raises(ValueError, match="W has 3 columns, but the model has 2 topics"):
        dominant_topic(model, W=np.ones((5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        dominant_topic(model, W=np.array([[np.nan, 0.2], [0.1, 0.3]]))
    with pytest.raises(ValueError, match="NaN"):
        dominant_topic(None, W=np.array([[np.inf, 0.2]]))
    W = np.array([[0.1, 0.3]])
    before = W.copy()
    assert dominant_topic(model, W=W)[0].tolist() == [1]
    np.testing.assert_array_equal(W, before)


@pytest.mark.parametrize("sparse", [False, True])
def test_coherence_refuses_negative_data(sparse):
    model = Fitted([[0.9, 0.8, 0.0, 0.1]])
    X = -np.eye(4) + np.ones((4, 4))
    X[0, 0] = -1.0
    X = sp.csr_matrix(X) if sparse else X
    before = X.copy()
    with pytest.raises(ValueError, match=r"negative values \(1 entries\)"):
        topic_coherence(model, X, n_top=2)
    assert (abs(X - before)).sum() == 0


def test_topic_helpers_refuse_documents_that_are_not_text():
    docs = ["rocket orbit launch", "butter flour oven", "rocket comet orbit",
            "flour bread oven"]
    pipe = Pipeline([("tfidf", TfidfVectorizer()), ("nmf", MUNMF(2, random_state=0))])
    pipe.fit(docs)
    for call in (lambda: topic_coherence(pipe, [1, 2, 3]), lambda: dominant_topic(pipe, [1, 2])):
        with pytest.raises(TypeError, match="documents \\(strings\\).*int"):
            call()
    # X and W together: W would be used, X silently unread
    with pytest.raises(ValueError, match="not both"):
        dominant_topic(pipe, docs, W=pipe.transform(docs))


# -- choosing k: the one-standard-error rule ------------------------------------------
def _cv_results(ks, folds, name="param_n_components"):
    folds = np.asarray(folds, dtype=float)
    results = {name: np.ma.masked_array(np.array(ks, dtype=object), mask=False),
               "mean_test_score": folds.mean(axis=1), "std_test_score": folds.std(axis=1)}
    for i in range(folds.shape[1]):
        results[f"split{i}_test_score"] = folds[:, i]
    return results


def test_smallest_k_within_one_se_by_hand():
    from sklearn_nmfx.model_selection import smallest_k_within_one_se

    # k=4 is best (mean 0.72, std 0.06 over 4 splits: one standard error 0.03)
    folds = [[0.5] * 4, [0.70] * 4, [0.66, 0.78, 0.66, 0.78], [0.71] * 4]
    results = _cv_results([2, 3, 4, 5], folds)
    assert smallest_k_within_one_se(results) == 3  # 0.70 >= 0.69
    folds[1] = [0.68] * 4  # now below 0.69
    assert smallest_k_within_one_se(_cv_results([2, 3, 4, 5], folds)) == 4
    # the order of the candidates does not matter, nor a Pipeline's step name
    shuffled = _cv_results([5, 4, 3, 2], folds[::-1], name="param_nmf__n_components")
    assert smallest_k_within_one_se(shuffled) == 4
    assert smallest_k_within_one_se(shuffled, "nmf__n_components") == 4
    # with a larger spread the rule reaches further down
    wide = [[0.5] * 4, [0.7] * 4, [0.22, 1.22, 0.22, 1.22], [0.71] * 4]
    assert smallest_k_within_one_se(_cv_results([2, 3, 4, 5], wide)) == 2


def test_smallest_k_within_one_se_refusals():
    from sklearn_nmfx.model_selection import smallest_k_within_one_se

    good = _cv_results([2, 3], [[0.1, 0.2], [0.3, 0.4]])
    with pytest.raises(ValueError, match="no parameter 'alpha'"):
        smallest_k_within_one_se(good, "alpha")
    with pytest.raises(ValueError, match="not finite"):
        smallest_k_within_one_se(_cv_results([2, 3], [[0.1, np.nan], [0.3, 0.4]]))
    with pytest.raises(ValueError, match="positive integers"):
        smallest_k_within_one_se(_cv_results([2.5, 3], [[0.1, 0.2], [0.3, 0.4]]))
    with pytest.raises(ValueError, match="split"):
        smallest_k_within_one_se({k: v for k, v in good.items() if not k.startswith("split")})
    with pytest.raises(ValueError, match="dict"):
        smallest_k_within_one_se([1, 2])


def test_smallest_k_within_one_se_of_a_grid_search():
    from sklearn_nmfx.model_selection import smallest_k_within_one_se

    rng = np.random.RandomState(0)
    X = rng.rand(60, 3) @ rng.rand(3, 20) + 0.01 * rng.rand(60, 20)
    search = GridSearchCV(Pipeline([("nmf", MUNMF(random_state=0, max_iter=300))]),
                          {"nmf__n_components": [1, 2, 3, 4, 6]}, cv=3).fit(X)
    k = smallest_k_within_one_se(search.cv_results_, "n_components")
    mean, std = search.cv_results_["mean_test_score"], search.cv_results_["std_test_score"]
    best = int(np.argmax(mean))
    assert k <= search.best_params_["nmf__n_components"]
    assert mean[[1, 2, 3, 4, 6].index(k)] >= mean[best] - std[best] / np.sqrt(3)


def test_weights_within_rounding_of_zero_are_no_topic_words():
    # a randomized SVD's first component of TF-IDF: no negative weight but rounding
    model = Fitted([[0.19, 0.17, 1e-3, -5.8e-10, -3.8e-10], [0.5, 1e-12, 0.0, 0.2, -0.3]])
    names = ["god", "people", "space", "critus", "ditto"]
    assert top_terms(model, names, n_top=3) == [(["god", "people", "space"], []),
                                                (["god", "critus"], ["ditto"])]
    float32 = Fitted([])
    float32.components_ = np.array([[1.0, 1e-5, -1e-5, -0.1]], dtype=np.float32)
    assert top_terms(float32, NAMES[:4], n_top=2) == [(["a"], ["d"])]


def test_smallest_k_within_one_se_paired():
    from sklearn_nmfx.model_selection import smallest_k_within_one_se

    # split 1 scores 0.4 higher than split 0 at every k: the raw spread is that offset
    base = np.array([0.50, 0.60, 0.62, 0.615])
    folds = np.column_stack([base - 0.2, base + 0.2, base + [0.01, -0.01, 0.0, 0.005]])
    results = _cv_results([2, 3, 4, 5], folds)
    assert smallest_k_within_one_se(results) == 3  # 0.597 >= 0.62 - 0.163 / sqrt(3)
    # k=3 - k=4, split by split: [-0.02, -0.02, -0.03], mean -0.023, std 0.0047
    assert smallest_k_within_one_se(results, paired=True) == 4
    # k=5 differs from k=4 by noise: within one standard error of the difference
    folds[3] = folds[2] + [-0.01, 0.01, -0.012]
    assert smallest_k_within_one_se(_cv_results([2, 3, 4, 5], folds), paired=True) == 4
    folds[1] = folds[2] + [-0.02, 0.02, -0.021]
    assert smallest_k_within_one_se(_cv_results([2, 3, 4, 5], folds), paired=True) == 3
