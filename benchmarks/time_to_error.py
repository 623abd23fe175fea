"""Time to reach a reference error: the performance issue's "equal error" comparisons.

For each comparison, the reference is fitted with its defaults; its final relative
error ``||X - W H||_F / ||X||_F`` is the target. Our estimator's time to the target
is the time of a fit with the smallest ``max_iter`` (found by bisection, to within
5%; everything else at its default, so the fit is the default fit cut short) whose
error is at most the target (to 1e-9 relative in float64, 1e-6 in float32, where
rounding of the factors shows). All timed fits run alternately in one process;
medians of ``--repeats`` are reported.

Comparisons (20 Newsgroups, all categories, ``TfidfVectorizer(stop_words="english",
min_df=2)``; ``--n-components``, ``--dtypes``):

- ``MUNMF`` to scikit-learn ``NMF``'s error (target: at most 0.5 x its time)
- ``SGDNMF`` to scikit-learn ``MiniBatchNMF``'s error (target: at most its time)
- ``AutogradNMF`` against ``MUNMF``, both to the worse of their two default fits'
  errors (target: at most 3 x MUNMF's time)

Usage::

    SCIKIT_LEARN_DATA=... python benchmarks/time_to_error.py [--n-components 20 100]
        [--dtypes float64 float32] [--repeats 3] [--json out.json]
"""

import argparse
import json
import platform
import statistics
import time
import warnings

import numpy as np
from run import newsgroups, relative_error
from sklearn.base import clone
from sklearn.decomposition import NMF, MiniBatchNMF
from sklearn.exceptions import ConvergenceWarning

from sklearn_nmfx import MUNMF, SGDNMF, AutogradNMF

TOLERANCE = {"float64": 1e-9, "float32": 1e-6}


def fit(model, X, measure=None):
    """(seconds, relative error, n_iter_) of one fit of a clone of ``model``; with
    ``measure``, ``measure(X, W, model)`` in place of the relative error."""
    model = clone(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        W = model.fit_transform(X)
        seconds = time.perf_counter() - start
    if measure is not None:
        return seconds, measure(X, W, model), int(model.n_iter_)
    error = relative_error(X, np.asarray(W, dtype=np.float64),
                           np.asarray(model.components_, dtype=np.float64))
    return seconds, error, int(model.n_iter_)


def reaches(error, target, dtype):
    return error <= target * (1 + TOLERANCE[np.dtype(dtype).name])


def iterations_to(model, X, target, upper):
    """Smallest ``max_iter`` (within 5%) whose fit reaches ``target``, or
    None when ``upper`` iterations do not."""
    def ok(n_iter):
        error = fit(clone(model).set_params(max_iter=n_iter), X)[1]
        return reaches(error, target, X.dtype)

    if not ok(upper):
        return None
    low, high = 0, upper  # low fails (0 iterations: the start), high reaches
    while high - low > max(1, high // 20):
        middle = (low + high) // 2
        if ok(middle):
            high = middle
        else:
            low = middle
    return high


def compare(name, reference, ours, X, repeats, target=None):
    """Median seconds of ``reference`` (its default fit) and of ``ours`` run to
    the reference's error (or to ``target``)."""
    seconds_ref, error_ref, iter_ref = fit(reference, X)
    target = error_ref if target is None else target
    seconds_full, error_full, iter_full = fit(ours, X)
    n_iter = iterations_to(ours, X, target, max(iter_full, 1) * 2)
    ours_to_target = clone(ours).set_params(max_iter=n_iter or 1)
    times = {"reference": [seconds_ref], "ours": []}
    for _ in range(repeats):
        times["ours"].append(fit(ours_to_target, X)[0])
        times["reference"].append(fit(reference, X)[0])
    row = {
        "comparison": name, "target_error": target,
        "reference_seconds": statistics.median(times["reference"]),
        "reference_error": error_ref, "reference_n_iter": iter_ref,
        "ours_default_error": error_full, "ours_default_n_iter": iter_full,
        "ours_n_iter_to_target": n_iter,
        "ours_seconds_to_target": statistics.median(times["ours"]) if n_iter else None,
    }
    row["ratio"] = (row["ours_seconds_to_target"] / row["reference_seconds"]
                    if n_iter else None)
    return row


def compare_autograd(autograd, munmf, X, repeats):
    """AutogradNMF's and MUNMF's times to the worse of their final errors."""
    _, error_autograd, iter_autograd = fit(autograd, X)
    _, error_munmf, iter_munmf = fit(munmf, X)
    target = max(error_autograd, error_munmf)
    # a fit cut at its own n_iter_ is not quite the default fit (the final solve of W
    # is capped by max_iter too): where it misses the target, the default fit is timed
    n_autograd = iterations_to(autograd, X, target, iter_autograd)
    n_munmf = iterations_to(munmf, X, target, iter_munmf)
    autograd_to_target = (clone(autograd).set_params(max_iter=n_autograd) if n_autograd
                          else clone(autograd))
    n_autograd = n_autograd or iter_autograd
    munmf_to_target = (clone(munmf).set_params(max_iter=n_munmf) if n_munmf
                       else clone(munmf))
    n_munmf = n_munmf or iter_munmf
    times = {"autograd": [], "munmf": []}
    for _ in range(repeats):
        times["autograd"].append(fit(autograd_to_target, X)[0])
        times["munmf"].append(fit(munmf_to_target, X)[0])
    row = {
        "comparison": "AutogradNMF (reference) and MUNMF to the worse final error",
        "target_error": target,
        "reference_seconds": statistics.median(times["autograd"]),
        "reference_error": error_autograd, "reference_n_iter": n_autograd,
        "ours_default_error": error_munmf, "ours_default_n_iter": iter_munmf,
        "ours_n_iter_to_target": n_munmf,
        "ours_seconds_to_target": statistics.median(times["munmf"]),
    }
    row["ratio"] = row["reference_seconds"] / row["ours_seconds_to_target"]
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-components", type=int, nargs="+", default=[20])
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    X64 = newsgroups(min_df=2)
    print(f"20 Newsgroups {X64.shape[0]} x {X64.shape[1]}, {X64.nnz} non-zeros; "
          f"{platform.machine()}, median of {args.repeats}")
    rows = []
    for k in args.n_components:
        for dtype in args.dtypes:
            X = X64.astype(dtype)
            munmf = MUNMF(k, random_state=0)
            comparisons = [
                ("MUNMF to sklearn NMF's error", NMF(k, random_state=0), munmf, None),
                ("SGDNMF to MiniBatchNMF's error", MiniBatchNMF(k, random_state=0),
                 SGDNMF(k, random_state=0), None),
            ]
            for name, reference, ours, target in comparisons:
                row = compare(name, reference, ours, X, args.repeats, target)
                rows.append({"k": k, "dtype": dtype, **row})
                print_row(rows[-1])
            if k <= 20:
                rows.append({"k": k, "dtype": dtype,
                             **compare_autograd(AutogradNMF(k, random_state=0), munmf, X,
                                                args.repeats)})
                print_row(rows[-1])
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": platform.platform(), "rows": rows}, f, indent=1)


def print_row(row):
    ours = (f"{row['ours_seconds_to_target']:.2f} s ({row['ours_n_iter_to_target']} it)"
            if row["ours_n_iter_to_target"] else "never")
    ratio = f"x{row['ratio']:.2f}" if row["ratio"] else "-"
    print(f"  k={row['k']:<4d} {row['dtype']:8s} {row['comparison']:58s} target "
          f"{row['target_error']:.9f}  reference {row['reference_seconds']:.2f} s "
          f"({row['reference_n_iter']} it)  ours {ours}  {ratio}")


if __name__ == "__main__":
    main()
