"""TruncatedSVDTopics against scikit-learn's TruncatedSVD.

Fit times are measured alternately in one run (one fit of each solver per round,
the order rotated every round), so that load from other processes on the machine
hits every solver alike; the median (and the minimum) over rounds is reported, as a
ratio to scikit-learn's randomized solver. Accuracy: the explained variance ratio
summed (mean over the rounds' seeds), and against ARPACK the largest principal
angle between the subspaces of the components (the largest over the rounds).

Data (``--corpus``): ``seed``, the fast.ai lesson's four-newsgroup corpus (20 Newsgroups,
TF-IDF, 2034 x 26576); ``20ng``, 20 Newsgroups train, all categories, ``min_df=2``
(11314 x 39117); ``random``, a random sparse 20000 x 5000 matrix of density 0.5%;
``digits``, ``load_digits`` (dense, 1797 x 64).

    SCIKIT_LEARN_DATA=... python benchmarks/bench_svd.py [--corpus seed] [--k 5]
        [--rounds 9] [--torch]
"""

import argparse
import time

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from run import newsgroups
from sklearn.datasets import load_digits
from sklearn.decomposition import TruncatedSVD

from sklearn_nmfx import TruncatedSVDTopics

CATEGORIES = ["alt.atheism", "talk.religion.misc", "comp.graphics", "sci.space"]


def load(corpus):
    if corpus == "seed":
        return newsgroups(CATEGORIES)
    if corpus == "20ng":
        return newsgroups(min_df=2)
    if corpus == "random":
        return sp.random(20000, 5000, density=0.005, format="csr", random_state=0)
    return load_digits().data


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=["seed", "20ng", "random", "digits"],
                        default="seed")
    parser.add_argument("--k", type=int, nargs="+", default=[5])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--torch", action="store_true", help="also time device='torch'")
    args = parser.parse_args()

    X = load(args.corpus)
    print(f"{args.corpus}: {X.shape[0]} x {X.shape[1]}, "
          f"{X.nnz if sp.issparse(X) else X.size} stored entries, {args.rounds} rounds")
    for k in args.k:
        run(X, k, args.rounds, args.torch)


def run(X, k, rounds, with_torch):
    solvers = {
        "sklearn randomized": lambda seed: TruncatedSVD(k, random_state=seed),
        "sklearn arpack": lambda seed: TruncatedSVD(k, algorithm="arpack", random_state=seed),
        "nmfx default (auto)": lambda seed: TruncatedSVDTopics(k, random_state=seed),
        "nmfx arpack": lambda seed: TruncatedSVDTopics(k, algorithm="arpack", random_state=seed),
    }
    if with_torch:
        solvers["nmfx torch"] = lambda seed: TruncatedSVDTopics(
            k, random_state=seed, device="torch")
    names = list(solvers)
    for name in names:  # warm-up (imports, caches)
        solvers[name](0).fit(X)

    times = {name: [] for name in names}
    models = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            model = solvers[name](r)
            start = time.perf_counter()
            model.fit(X)
            times[name].append(time.perf_counter() - start)
            models[name].append(model)

    reference = models["sklearn arpack"][0]
    base, base_min = np.median(times["sklearn randomized"]), min(times["sklearn randomized"])
    print(f"k={k}: {'solver':22s} {'median s':>9s} {'x sklearn rand (min)':>21s} "
          f"{'explained':>10s} {'max angle to arpack':>20s}")
    for name in names:
        explained = np.mean([m.explained_variance_ratio_.sum() for m in models[name]])
        angle = max(np.degrees(scipy.linalg.subspace_angles(
            reference.components_.T, m.components_.T).max()) for m in models[name])
        median = np.median(times[name])
        ratios = f"{median / base:.2f} ({min(times[name]) / base_min:.2f})"
        print(f"     {name:22s} {median:9.4f} {ratios:>21s} {explained:10.6f} "
              f"{angle:17.1f} deg")


if __name__ == "__main__":
    main()
