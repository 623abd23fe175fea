"""TruncatedSVDTopics against scikit-learn's TruncatedSVD on the seeds' corpus.

Fit times are measured alternately in one run (one fit of each solver per round,
the order rotated every round), so that load from other processes on the machine
hits every solver alike; the median over rounds is reported. Accuracy is
measured against ARPACK: the ratio of the sums of explained variance ratios and
the largest principal angle between the subspaces of the components.

    SCIKIT_LEARN_DATA=... python benchmarks/bench_svd.py [--k 5] [--rounds 9]
"""

import argparse
import time

import numpy as np
import scipy.linalg
from sklearn.datasets import fetch_20newsgroups
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from sklearn_nmfx import TruncatedSVDTopics

CATEGORIES = ["alt.atheism", "talk.religion.misc", "comp.graphics", "sci.space"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--torch", action="store_true", help="also time device='torch'")
    args = parser.parse_args()

    documents = fetch_20newsgroups(subset="train", categories=CATEGORIES,
                                   remove=("headers", "footers", "quotes")).data
    X = TfidfVectorizer(stop_words="english").fit_transform(documents)
    k = args.k
    print(f"X: {X.shape[0]} x {X.shape[1]}, {X.nnz} stored entries, k={k}")

    solvers = {
        "sklearn randomized": lambda seed: TruncatedSVD(k, random_state=seed),
        "sklearn arpack": lambda seed: TruncatedSVD(k, algorithm="arpack", random_state=seed),
        "nmfx default (auto)": lambda seed: TruncatedSVDTopics(k, random_state=seed),
        "nmfx randomized": lambda seed: TruncatedSVDTopics(k, algorithm="randomized",
                                                           random_state=seed),
        "nmfx arpack": lambda seed: TruncatedSVDTopics(k, algorithm="arpack", random_state=seed),
    }
    if args.torch:
        solvers["nmfx randomized torch"] = lambda seed: TruncatedSVDTopics(
            k, random_state=seed, device="torch")
    names = list(solvers)
    for name in names:  # warm-up (imports, caches)
        solvers[name](0).fit(X)

    times = {name: [] for name in names}
    models = {name: [] for name in names}
    for r in range(args.rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            model = solvers[name](r)
            start = time.perf_counter()
            model.fit(X)
            times[name].append(time.perf_counter() - start)
            models[name].append(model)

    reference = models["sklearn arpack"][0]
    ref_sum = reference.explained_variance_ratio_.sum()
    base = np.median(times["sklearn randomized"])
    print(f"{'solver':24s} {'median fit s':>12s} {'x sklearn rand':>15s} "
          f"{'EVR sum / arpack (min)':>23s} {'max angle deg (max)':>20s}")
    for name in names:
        evr = min(m.explained_variance_ratio_.sum() / ref_sum for m in models[name])
        angle = max(np.degrees(scipy.linalg.subspace_angles(
            reference.components_.T, m.components_.T).max()) for m in models[name])
        median = np.median(times[name])
        print(f"{name:24s} {median:12.4f} {median / base:15.2f} {evr:23.6f} {angle:20.3f}")


if __name__ == "__main__":
    main()
