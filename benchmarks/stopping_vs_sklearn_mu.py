"""MUNMF against scikit-learn's ``NMF(solver="mu")`` with both at their defaults
(``tol=1e-4``, ``max_iter=200``, ``init=None``): iterations, time and final error.

A moved-over fit should stop no later than scikit-learn's at no worse error. Two
corpora (the fast.ai lesson's four-newsgroup corpus, TF-IDF, 2034 x 26576; all 20
Newsgroups, ``TfidfVectorizer(stop_words="english", min_df=2)``, 11314 x 39117),
the Frobenius and the Kullback-Leibler loss, k=10. Both errors are the same
divergence, computed here from each fit's W and H. Run::

    SCIKIT_LEARN_DATA=... python benchmarks/stopping_vs_sklearn_mu.py [--corpus fastai|all]
"""

import argparse
import time
import warnings

from sklearn.datasets import fetch_20newsgroups
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer

from sklearn_nmfx import MUNMF

FASTAI = ["alt.atheism", "talk.religion.misc", "comp.graphics", "sci.space"]


def load(corpus):
    categories = FASTAI if corpus == "fastai" else None
    documents = fetch_20newsgroups(subset="train", categories=categories,
                                   remove=("headers", "footers", "quotes"),
                                   download_if_missing=False).data
    min_df = 1 if corpus == "fastai" else 2
    return TfidfVectorizer(stop_words="english", min_df=min_df).fit_transform(documents)


def divergence(X, W, H, beta):
    """scikit-learn's own measure of the fit: its beta divergence of X from W @ H
    (WH floored at float32's eps where X is non-zero, as scikit-learn's updates do)."""
    from sklearn.decomposition._nmf import _beta_divergence  # private: a benchmark only
    return float(_beta_divergence(X, W, H, beta))


def fit(model, X):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        W = model.fit_transform(X)
        seconds = time.perf_counter() - start
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return W, seconds, warned


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=["fastai", "all"], nargs="+",
                        default=["fastai", "all"])
    parser.add_argument("--loss", choices=["frobenius", "kullback-leibler"], nargs="+",
                        default=["frobenius", "kullback-leibler"])
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args()
    print("| corpus | loss | estimator | iterations | seconds | divergence | ConvergenceWarning |")
    print("|---|---|---|---|---|---|---|")
    for corpus in args.corpus:
        X = load(corpus)
        for loss in args.loss:
            beta = {"frobenius": 2, "kullback-leibler": 1}[loss]
            for name, cls in (("scikit-learn NMF(solver='mu')", NMF), ("MUNMF", MUNMF)):
                model = cls(args.k, solver="mu", beta_loss=loss, random_state=0)
                W, seconds, warned = fit(model, X)
                print(f"| {corpus} {X.shape[0]}x{X.shape[1]} | {loss} | {name} | "
                      f"{model.n_iter_} | {seconds:.2f} | "
                      f"{divergence(X, W, model.components_, beta):.6f} | "
                      f"{'yes' if warned else 'no'} |", flush=True)


if __name__ == "__main__":
    main()
