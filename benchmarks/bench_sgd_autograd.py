"""Benchmark SGDNMF and AutogradNMF against scikit-learn's NMF and MUNMF (issue 3).

1. The fast.ai lesson's four-newsgroup corpus (TF-IDF, 2034 x 26576), k=5,
   random_state=1, defaults otherwise: fit time (ours and scikit-learn's
   alternately, ``--repeats`` rounds, median), reconstruction error, explained
   fraction ``1 - ||X - WH||^2 / ||X||^2`` relative to scikit-learn's, and top
   words shared with scikit-learn's topics (8 per topic, best match, average).
   The bar: SGDNMF <= 5 x and AutogradNMF <= 10 x scikit-learn's time, >= 99% of
   its explained fraction, >= 6 shared words.
2. Torch path (``device="torch"``) of SGDNMF and AutogradNMF: shared words with
   the NumPy SGDNMF.
3. Streaming (``--stream``): SGDNMF.partial_fit over all of 20 Newsgroups
   (min_df=2, k=20) in ten chunks, one pass, against a batch MUNMF fit and
   scikit-learn's MiniBatchNMF partial_fit; peak traced memory per chunk.

Threads: on a shared 2-core machine two intra-op threads stall every small torch
op (and large OpenBLAS products) for milliseconds; ``--threads 1`` (the default)
limits every library, scikit-learn's included, to one thread, so all estimators
are timed alike. Pass ``--threads 0`` to leave the defaults.

Run: SCIKIT_LEARN_DATA=... python benchmarks/bench_sgd_autograd.py [--stream]
"""

import argparse
import sys
import time
import tracemalloc
import warnings

import numpy as np
import scipy.sparse as sp

try:
    import sklearn_nmfx  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))

SEED_CATEGORIES = ["alt.atheism", "talk.religion.misc", "comp.graphics", "sci.space"]


def load(categories, subset="train", min_df=1):
    from sklearn.datasets import fetch_20newsgroups
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = fetch_20newsgroups(subset=subset, categories=categories,
                              remove=("headers", "footers", "quotes"),
                              download_if_missing=False).data
    vectorizer = TfidfVectorizer(stop_words="english", min_df=min_df)
    X = vectorizer.fit_transform(docs)
    return X, vectorizer.get_feature_names_out()


def explained(X, W, H):
    sq = X.multiply(X).sum() if sp.issparse(X) else np.sum(X * X)
    residual = sq - 2 * np.sum(W * (X @ H.T)) + np.sum((W.T @ W) * (H @ H.T))
    return 1.0 - residual / sq


def shared(H_ref, H, vocabulary, n=8):
    top = lambda M: [set(vocabulary[np.argsort(h)[::-1][:n]]) for h in M]  # noqa: E731
    ref, mine = top(H_ref), top(H)
    return float(np.mean([max(len(a & b) for b in mine) for a in ref]))


def timed(make, X):
    model = make()
    start = time.perf_counter()
    W = model.fit_transform(X)
    return time.perf_counter() - start, model, W


def seed_benchmark(repeats):
    from sklearn.decomposition import NMF

    from sklearn_nmfx import MUNMF, SGDNMF, AutogradNMF

    X, vocabulary = load(SEED_CATEGORIES)
    print(f"four-newsgroup corpus {X.shape[0]} x {X.shape[1]}, nnz {X.nnz}, k=5, random_state=1")
    makers = {
        "sklearn NMF": lambda: NMF(n_components=5, random_state=1),
        "SGDNMF": lambda: SGDNMF(n_components=5, random_state=1),
        "AutogradNMF": lambda: AutogradNMF(n_components=5, random_state=1),
        "MUNMF": lambda: MUNMF(n_components=5, random_state=1),
    }
    times = {name: [] for name in makers}
    results = {}
    for _ in range(repeats):  # alternate: every round times every estimator
        for name, make in makers.items():
            seconds, model, W = timed(make, X)
            times[name].append(seconds)
            results[name] = (model, W)
    ref_model, ref_W = results["sklearn NMF"]
    ref_time = float(np.median(times["sklearn NMF"]))
    ref_explained = explained(X, ref_W, ref_model.components_)
    print(f"{'estimator':<14}{'time s':>8}{'x sklearn':>11}{'error':>10}{'explained':>11}"
          f"{'/ sklearn':>11}{'shared':>8}  bar")
    bars = {"SGDNMF": 5, "AutogradNMF": 10}
    for name in makers:
        model, W = results[name]
        t = float(np.median(times[name]))
        e = explained(X, W, model.components_)
        words = shared(ref_model.components_, model.components_, vocabulary)
        ok = ""
        if name in bars:
            ok = "PASS" if (t <= bars[name] * ref_time and e >= 0.99 * ref_explained
                            and words >= 6) else "FAIL"
            ok += f" (<= {bars[name]}x, >= 99%, >= 6)"
        print(f"{name:<14}{t:8.2f}{t / ref_time:11.2f}{model.reconstruction_err_:10.4f}"
              f"{e:11.5f}{e / ref_explained:11.4f}{words:8.1f}  {ok}")
    sgd_numpy = results["SGDNMF"][0]
    for name, make in [("SGDNMF torch", lambda: SGDNMF(n_components=5, random_state=1,
                                                        device="torch")),
                       ("AutogradNMF", lambda: results["AutogradNMF"][0])]:
        model = make()
        if not hasattr(model, "components_"):
            model.fit(X)
        words = shared(sgd_numpy.components_, model.components_, vocabulary)
        print(f"{name} vs SGDNMF (numpy): {words:.1f} of 8 top words shared")


def stream_benchmark():
    from sklearn.decomposition import MiniBatchNMF

    from sklearn_nmfx import MUNMF, SGDNMF

    X, _ = load(None, subset="all", min_df=2)
    print(f"\n20 Newsgroups (all) {X.shape[0]} x {X.shape[1]}, nnz {X.nnz}, k=20, ten chunks")
    chunks = np.array_split(np.arange(X.shape[0]), 10)
    start = time.perf_counter()
    batch = MUNMF(n_components=20, random_state=1).fit(X)
    t_batch = time.perf_counter() - start
    e_batch = explained(X, batch.transform(X), batch.components_)
    model = SGDNMF(n_components=20, random_state=1)
    peaks = []
    start = time.perf_counter()
    for rows in chunks:
        chunk = X[rows]
        tracemalloc.start()
        model.partial_fit(chunk)
        peaks.append(tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()
    t_stream = time.perf_counter() - start
    e_stream = explained(X, model.transform(X), model.components_)
    mini = MiniBatchNMF(n_components=20, random_state=1)
    for rows in chunks:
        mini.partial_fit(X[rows])
    e_mini = explained(X, mini.transform(X), mini.components_)
    print(f"batch MUNMF          {t_batch:7.1f} s  explained {e_batch:.5f}")
    print(f"SGDNMF.partial_fit   {t_stream:7.1f} s  explained {e_stream:.5f} = "
          f"{e_stream / e_batch:.1%} of MUNMF  ({'PASS' if e_stream >= 0.9 * e_batch else 'FAIL'}"
          " >= 90%)")
    print(f"MiniBatchNMF.partial_fit      explained {e_mini:.5f} = {e_mini / e_batch:.1%}")
    print("peak traced MiB per chunk: " + " ".join(f"{p:.0f}" for p in peaks))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--stream", action="store_true", help="also the partial_fit check")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
        try:
            import torch

            torch.set_num_threads(args.threads)
        except ImportError:
            pass
    seed_benchmark(args.repeats)
    if args.stream:
        stream_benchmark()


if __name__ == "__main__":
    main()
