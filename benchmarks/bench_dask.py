"""MUNMF on a dask array against the in-memory fit: same topics, same error?

Fits MUNMF on the TF-IDF matrix of a 20 Newsgroups corpus in memory, then on the
same matrix as a dask array of ``--chunks`` row chunks (sparse chunks) with a
``LocalCluster`` of ``--workers`` workers, and reports both times, the relative
difference of ``reconstruction_err_``, the cosine of each in-memory topic with its
matched Dask topic (Hungarian matching) and how many of its top 10 terms they share.

    python benchmarks/bench_dask.py --corpus seed --n-components 5
    python benchmarks/bench_dask.py --corpus all --n-components 20
"""

import argparse
import time

import numpy as np
from scipy.optimize import linear_sum_assignment

SEED_CATEGORIES = ["alt.atheism", "talk.religion.misc", "comp.graphics", "sci.space"]


def load(corpus):
    from sklearn.datasets import fetch_20newsgroups
    from sklearn.feature_extraction.text import TfidfVectorizer

    seed = corpus == "seed"
    documents = fetch_20newsgroups(
        subset="train" if seed else "all", categories=SEED_CATEGORIES if seed else None,
        remove=("headers", "footers", "quotes"),
    ).data
    return TfidfVectorizer(stop_words="english", min_df=1 if seed else 2).fit_transform(documents)


def compare(H_memory, H_dask, n_top=10):
    """(cosine of each in-memory topic with its matched Dask topic, shared top terms)."""
    unit = [H / np.linalg.norm(H, axis=1, keepdims=True) for H in (H_memory, H_dask)]
    cosines = unit[0] @ unit[1].T
    rows, cols = linear_sum_assignment(-cosines)
    top = [np.argsort(H, axis=1)[:, ::-1][:, :n_top] for H in (H_memory, H_dask)]
    shared = [len(set(top[0][i]) & set(top[1][j])) for i, j in zip(rows, cols)]
    return cosines[rows, cols], shared


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=["seed", "all"], default="seed")
    parser.add_argument("--n-components", type=int, default=5)
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--processes", action="store_true",
                        help="worker processes (default: threads of this process)")
    args = parser.parse_args()

    import dask.array as da
    from distributed import Client, LocalCluster

    from sklearn_nmfx import MUNMF

    X = load(args.corpus)
    print(f"20 Newsgroups ({args.corpus}): {X.shape[0]} x {X.shape[1]}, {X.nnz} non-zeros, "
          f"k={args.n_components}")
    start = time.perf_counter()
    memory = MUNMF(args.n_components, random_state=0).fit(X)
    memory_s = time.perf_counter() - start
    with LocalCluster(n_workers=args.workers, threads_per_worker=1,
                      processes=args.processes, dashboard_address=":0") as cluster, \
            Client(cluster):
        X_dask = da.from_array(X, chunks=(-(-X.shape[0] // args.chunks), X.shape[1]),
                               asarray=False)
        start = time.perf_counter()
        distributed = MUNMF(args.n_components, random_state=0).fit(X_dask)
        dask_s = time.perf_counter() - start
    relative = abs(distributed.reconstruction_err_ - memory.reconstruction_err_) / (
        memory.reconstruction_err_)
    cosines, shared = compare(memory.components_, distributed.components_)
    print(f"in memory: {memory_s:.1f} s, error {memory.reconstruction_err_:.9g}, "
          f"{memory.n_iter_} iterations")
    print(f"dask ({args.chunks} chunks, {args.workers} workers): {dask_s:.1f} s, error "
          f"{distributed.reconstruction_err_:.9g}, {distributed.n_iter_} iterations")
    print(f"relative error difference: {relative:.2e}")
    print(f"matched topic cosines: min {cosines.min():.6f}; top-10 terms shared: "
          f"min {min(shared)}/10, mean {np.mean(shared):.2f}/10")


if __name__ == "__main__":
    main()
