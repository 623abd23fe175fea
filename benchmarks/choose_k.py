"""Choosing k: the curve, the pick and the time of each criterion on each corpus.

For each corpus and each criterion, ``GridSearchCV(MUNMF(random_state=0),
{"n_components": ks}, cv=3, scoring=...)`` over a range about twice as wide as the
expected answer. Criteria:

- ``stability``: the estimators' default ``score`` (topic stability: a refit on the
  held-out fold, topics matched by their document proportions, sum of
  ``correlation - 1/2``)
- ``bicv``: the earlier default, bi-cross-validation of held-out columns (minus a
  mean squared error)
- ``npmi``: NPMI coherence of the 10 top words on the held-out fold
  (``sklearn_nmfx.topics.coherence_scorer("npmi")``)

Corpora (the expected k in brackets):

- ``2cats`` (2): 20 Newsgroups train, sci.space and rec.sport.hockey
- ``fastai`` (4): the fast.ai lesson's four newsgroups (alt.atheism,
  talk.religion.misc, comp.graphics, sci.space)
- ``6cats`` (6): comp.graphics, rec.autos, sci.med, sci.space,
  soc.religion.christian, talk.politics.guns
- ``all20`` (20): all 20 newsgroups, a random sample of ``--all20-docs`` (4000)
  documents of the train set (the whole set at every k costs too much for a
  benchmark run)
- ``text3``, ``text8``, ``text15`` (3, 8, 15): synthetic text, 600 documents of
  200-400 words each drawn from a mixture of mostly one of r topic-word
  distributions over 3000 words
- ``dense5`` (5): 300 x 200 dense, rank 5 plus Gaussian noise (0.1)
- ``unseen-news``, ``unseen-misc`` (unknown, 4 and 5 groups): a few hundred
  documents of the 20 Newsgroups *test* set from newsgroups none of the above mixes
  alone (checked for a pick inside 2..40 and at most the number of documents)

Newsgroups: headers, footers and quotes removed; every text corpus goes through
``TfidfVectorizer(stop_words="english", min_df=2)``. Each row: the pick
(``best_params_``), whether it is in the expected range, the margins (the pick's
mean minus the mean at half and at twice the pick, against the larger of the two
standard deviations), the smallest k within one standard error
(``smallest_k_within_one_se``, paired), and the time of the whole search.

Run::

    SCIKIT_LEARN_DATA=... python benchmarks/choose_k.py [--corpora 2cats fastai]
        [--criteria stability bicv npmi] [--json out.json]
"""

import argparse
import json
import platform
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import GridSearchCV

from sklearn_nmfx import MUNMF
from sklearn_nmfx._scoring import bicross_validation_score
from sklearn_nmfx.model_selection import smallest_k_within_one_se
from sklearn_nmfx.topics import coherence_scorer

NEWSGROUPS = {
    "2cats": ["sci.space", "rec.sport.hockey"],
    "fastai": ["alt.atheism", "talk.religion.misc", "comp.graphics", "sci.space"],
    "6cats": ["comp.graphics", "rec.autos", "sci.med", "sci.space",
              "soc.religion.christian", "talk.politics.guns"],
    "all20": None,
    "unseen-news": ["misc.forsale", "rec.motorcycles", "sci.electronics", "talk.politics.mideast"],
    "unseen-misc": ["comp.sys.mac.hardware", "rec.sport.baseball", "sci.crypt",
                    "talk.politics.misc", "comp.windows.x"],
}

# corpus: (expected range of the pick, the grid)
CASES = {
    "2cats": ((2, 4), [1, 2, 3, 4, 5, 6]),
    "fastai": ((3, 6), [1, 2, 3, 4, 5, 6, 8, 10]),
    "6cats": ((4, 9), [2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14]),
    "all20": ((10, 30), [5, 8, 10, 12, 15, 20, 25, 30, 40]),
    "text3": ((2, 5), [1, 2, 3, 4, 5, 6, 8]),
    "text8": ((7, 10), [2, 4, 6, 7, 8, 9, 10, 12, 16]),
    "text15": ((14, 17), [4, 8, 12, 14, 15, 16, 17, 20, 30]),
    "dense5": ((4, 6), [2, 3, 4, 5, 6, 7, 8, 10, 12]),
    "unseen-news": ((3, 39), [2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 40]),
    "unseen-misc": ((3, 39), [2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 40]),
}


def synthetic_text(r, n_documents=600, n_words=3000, seed=0):
    """Documents drawn from r topic-word distributions (multinomial counts)."""
    rng = np.random.RandomState(seed)
    topics = rng.dirichlet(np.full(n_words, 0.05), size=r)
    docs = []
    for i in range(n_documents):
        weights = np.full(r, 0.1 / max(r - 1, 1))
        weights[i % r] = 0.9 if r > 1 else 1.0
        mixture = rng.dirichlet(weights * 5) @ topics
        counts = rng.multinomial(rng.randint(200, 400), mixture / mixture.sum())
        words = np.repeat(np.arange(n_words), counts)
        docs.append(" ".join(f"w{w}" for w in rng.permutation(words)))
    return docs


def load(name, all20_docs):
    """(documents or a dense matrix, description)."""
    if name.startswith("text"):
        r = int(name[4:])
        return synthetic_text(r), f"synthetic text, {r} topics, 600 documents"
    if name == "dense5":
        rng = np.random.RandomState(0)
        X = rng.rand(300, 5) @ rng.rand(5, 200)
        return np.abs(X + 0.1 * rng.standard_normal(X.shape)), "dense 300 x 200, rank 5 + noise"
    from sklearn.datasets import fetch_20newsgroups

    subset = "test" if name.startswith("unseen") else "train"
    docs = fetch_20newsgroups(subset=subset, categories=NEWSGROUPS[name],
                              remove=("headers", "footers", "quotes"),
                              download_if_missing=False).data
    if name == "all20" and all20_docs < len(docs):
        keep = np.random.RandomState(0).choice(len(docs), all20_docs, replace=False)
        docs = [docs[i] for i in np.sort(keep)]
    if name.startswith("unseen"):
        keep = np.random.RandomState(0).choice(len(docs), min(400, len(docs)), replace=False)
        docs = [docs[i] for i in np.sort(keep)]
    return docs, f"20 Newsgroups {subset}, {len(NEWSGROUPS[name] or range(20))} groups"


def bicv(estimator, X, y=None):
    """The earlier default score: bi-cross-validation (minus a mean squared error)."""
    return bicross_validation_score(X, None, estimator.components_, non_negative=True)


def search(X, ks, criterion, vocabulary_size):
    scoring = {"stability": None, "bicv": bicv,
               "npmi": coherence_scorer("npmi", n_top=10)}[criterion]
    if criterion == "npmi" and vocabulary_size is None:
        return None  # coherence needs words
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = GridSearchCV(MUNMF(random_state=0), {"n_components": ks}, cv=3,
                              scoring=scoring, error_score="raise").fit(X)
    return result, time.perf_counter() - start


def summarize(result, ks, expected):
    cv = result.cv_results_
    mean, std = np.asarray(cv["mean_test_score"]), np.asarray(cv["std_test_score"])
    pick = result.best_params_["n_components"]
    at = {k: i for i, k in enumerate(ks)}

    def nearest(k):
        return min(ks, key=lambda value: (abs(value - k), value))

    margins = []
    for other in (nearest(pick / 2), nearest(pick * 2)):
        if other == pick:
            margins.append(None)
            continue
        i, j = at[pick], at[other]
        margins.append((other, float(mean[i] - mean[j]), float(max(std[i], std[j]))))
    return {"pick": int(pick), "in_range": expected[0] <= pick <= expected[1],
            "one_se": int(smallest_k_within_one_se(cv, paired=True)),
            "ks": list(ks), "mean": mean.tolist(), "std": std.tolist(), "margins": margins}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--criteria", nargs="+", default=["stability", "bicv", "npmi"],
                        choices=["stability", "bicv", "npmi"])
    parser.add_argument("--all20-docs", type=int, default=4000)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    rows = []
    for name in args.corpora:
        expected, ks = CASES[name]
        data, description = load(name, args.all20_docs)
        if isinstance(data, np.ndarray):
            X, vocabulary = data, None
        else:
            vectorizer = TfidfVectorizer(stop_words="english", min_df=2)
            X, vocabulary = vectorizer.fit_transform(data), vectorizer.vocabulary_
        ks = [k for k in ks if k <= X.shape[0] * 2 // 3]
        print(f"\n## {name}: {description}, X {X.shape[0]} x {X.shape[1]}, "
              f"expected {expected[0]}..{expected[1]}", flush=True)
        for criterion in args.criteria:
            found = search(X, ks, criterion, vocabulary and len(vocabulary))
            if found is None:
                continue
            result, seconds = found
            row = {"corpus": name, "criterion": criterion, "seconds": seconds,
                   **summarize(result, ks, expected)}
            rows.append(row)
            curve = "  ".join(f"{k}:{m:.4g}±{s:.2g}"
                              for k, m, s in zip(row["ks"], row["mean"], row["std"]))
            margins = "; ".join(
                "-" if m is None else f"vs k={m[0]}: {m[1]:+.3g} (std {m[2]:.2g})"
                for m in row["margins"])
            print(f"{criterion:9s} pick {row['pick']:3d} "
                  f"({'in' if row['in_range'] else 'OUT of'} range) one-SE {row['one_se']:3d} "
                  f"{seconds:7.1f} s | margins {margins}\n    curve {curve}", flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)


if __name__ == "__main__":
    main()
