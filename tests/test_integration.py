"""MUNMF on the seeds' corpus (20 Newsgroups, four categories, TF-IDF 2034 x 26576)."""

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.sparse.linalg import norm as sparse_norm
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline

from sklearn_nmfx import MUNMF

N_TOP = 8


def top_words(components, vocabulary, n_top=N_TOP):
    return [set(vocabulary[np.argsort(row)[::-1][:n_top]]) for row in components]


def matched_overlaps(topics_a, topics_b):
    """Shared top words of each topic of a with its best partner in b (one-to-one)."""
    overlap = np.array([[len(a & b) for b in topics_b] for a in topics_a])
    rows, cols = linear_sum_assignment(-overlap)
    return overlap[rows, cols]


def explained(X, error):
    return 1.0 - error**2 / sparse_norm(X) ** 2


@pytest.fixture(scope="module")
def sklearn_reference(seed_corpus):
    _, vectorizer, X = seed_corpus
    ref = NMF(n_components=5, random_state=1).fit(X)
    return ref, top_words(ref.components_, vectorizer.get_feature_names_out())


def test_pipeline_finds_the_seed_topics(seed_corpus, sklearn_reference):
    documents, _, X = seed_corpus
    ref, ref_topics = sklearn_reference
    pipe = Pipeline([
        ("tfidf", TfidfVectorizer(stop_words="english")),
        ("nmf", MUNMF(n_components=5, random_state=1)),
    ]).fit(documents)
    vocabulary = pipe["tfidf"].get_feature_names_out()
    topics = top_words(pipe["nmf"].components_, vocabulary)
    assert all(n >= 6 for n in matched_overlaps(topics, ref_topics))
    themes = [{"space", "nasa"}, {"graphics", "files"}, {"god", "jesus"},
              {"people", "morality"}, {"ico", "bobbe"}]
    for theme in themes:
        assert any(theme <= topic for topic in topics), theme
    ours, theirs = pipe["nmf"].reconstruction_err_, ref.reconstruction_err_
    assert explained(X, ours) >= explained(X, theirs) - 1e-3


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_torch_on_cpu_gives_the_same_topics(seed_corpus, dtype):
    pytest.importorskip("torch")
    _, vectorizer, X = seed_corpus
    X = X.astype(dtype)
    vocabulary = vectorizer.get_feature_names_out()
    numpy_model = MUNMF(5, random_state=1).fit(X)
    torch_model = MUNMF(5, random_state=1, device="torch").fit(X)
    assert torch_model.components_.dtype == dtype
    overlaps = matched_overlaps(top_words(torch_model.components_, vocabulary),
                                top_words(numpy_model.components_, vocabulary))
    assert all(n == N_TOP for n in overlaps)
    assert torch_model.reconstruction_err_ == pytest.approx(numpy_model.reconstruction_err_,
                                                            rel=1e-3)
