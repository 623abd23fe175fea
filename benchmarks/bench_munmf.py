"""MUNMF against scikit-learn's NMF, both with their defaults, on 20 Newsgroups.

The data: all 20 categories of the training set, headers/footers/quotes removed,
``TfidfVectorizer(stop_words="english", min_df=2)`` (about 11314 x 39117), k=20.
Each configuration is run alternately (scikit-learn, MUNMF, scikit-learn, ...) in one
process, so that both see the same machine state; the median time is reported.

Usage::

    SCIKIT_LEARN_DATA=... python benchmarks/bench_munmf.py [--repeats 3] [--devices numpy torch]
        [--json results.json]
"""

import argparse
import json
import platform
import statistics
import time
import warnings

import numpy as np
from sklearn.datasets import fetch_20newsgroups
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer

from sklearn_nmfx import MUNMF


def load_corpus():
    documents = fetch_20newsgroups(
        subset="train", remove=("headers", "footers", "quotes"), download_if_missing=False
    ).data
    return TfidfVectorizer(stop_words="english", min_df=2).fit_transform(documents)


def timed_fit(make_model, X):
    model = make_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X)
        elapsed = time.perf_counter() - start
    return elapsed, float(model.reconstruction_err_), int(model.n_iter_)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-components", type=int, default=20)
    parser.add_argument("--devices", nargs="+", default=["numpy"], help="numpy, torch, cuda")
    parser.add_argument("--json", default=None, help="write the results to this file")
    args = parser.parse_args(argv)

    X64 = load_corpus()
    k = args.n_components
    print(f"20 Newsgroups: {X64.shape[0]} x {X64.shape[1]}, {X64.nnz} non-zeros, k={k}; "
          f"{platform.processor() or platform.machine()}, "
          f"median of {args.repeats} alternating runs")
    rows = []
    header = f"{'dtype':8s} {'device':7s} {'sklearn s':>10s} {'MUNMF s':>9s} {'ratio':>6s} " \
             f"{'sklearn err':>12s} {'MUNMF err':>12s} {'iters':>9s}"
    print(header)
    for dtype in (np.float64, np.float32):
        X = X64.astype(dtype)
        for device in args.devices:
            dev = None if device == "numpy" else device
            runs = {"sklearn": [], "munmf": []}
            for _ in range(args.repeats):
                runs["sklearn"].append(timed_fit(lambda: NMF(n_components=k, random_state=0), X))
                runs["munmf"].append(
                    timed_fit(lambda dev=dev: MUNMF(n_components=k, random_state=0, device=dev), X)
                )
            t_ref = statistics.median(r[0] for r in runs["sklearn"])
            t_ours = statistics.median(r[0] for r in runs["munmf"])
            row = {
                "dtype": np.dtype(dtype).name, "device": device,
                "sklearn_time": t_ref, "munmf_time": t_ours, "ratio": t_ours / t_ref,
                "sklearn_error": runs["sklearn"][0][1], "munmf_error": runs["munmf"][0][1],
                "sklearn_iter": runs["sklearn"][0][2], "munmf_iter": runs["munmf"][0][2],
            }
            rows.append(row)
            print(f"{row['dtype']:8s} {device:7s} {t_ref:10.2f} {t_ours:9.2f} {row['ratio']:6.2f} "
                  f"{row['sklearn_error']:12.4f} {row['munmf_error']:12.4f} "
                  f"{row['sklearn_iter']:4d}/{row['munmf_iter']:<4d}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"shape": X64.shape, "nnz": int(X64.nnz), "k": k, "rows": rows}, handle,
                      indent=2)
    return rows


if __name__ == "__main__":
    main()
