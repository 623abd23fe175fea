"""The performance record: every estimator beside its peers, in one process.

Cases (``--cases``):

- ``seed``: the fast.ai lesson's four-newsgroup corpus (20 Newsgroups, TF-IDF, 2034 x 26576), k=5
- ``20ng-k20``, ``20ng-k100``: 20 Newsgroups train, all categories,
  ``TfidfVectorizer(stop_words="english", min_df=2)`` (11314 x 39117), k=20 and k=100
- ``sweep-seed``, ``sweep-20ng``: MUNMF's time to scikit-learn ``NMF``'s final error
  (its default fit) for each k of ``--ks`` (2, 3, 5, 8, 10, 15, 20) and seed of
  ``--seeds``, on the four-newsgroup corpus and on 20 Newsgroups all: the bisection of
  ``time_to_error.py`` (the smallest ``max_iter`` that reaches the error), then
  interleaved timed fits; medians over repeats, and the sweep's total
- ``kl``, ``is``: the same for ``beta_loss="kullback-leibler"`` (four-newsgroup corpus, k=10)
  and ``"itakura-saito"`` (a dense positive 1000 x 400 matrix of rank 10 with gamma
  noise, k=10), against ``NMF(solver="mu")``, errors as beta divergences
- ``cold``: the README's main job (four-newsgroup corpus, k=5, ``random_state=1``) in a fresh
  process each time, imports and the first fit timed (numba's cache load counted;
  the corpus is read from a file, outside the timing), against scikit-learn's ``NMF``
  in a fresh process
- ``scaling``: random sparse matrices of 1e5, 1e6 and 1e7 non-zeros (density 0.5%),
  k=20: MUNMF's time per iteration, which should grow at most linearly with the
  non-zeros

In every case, each dtype (``--dtypes``) and each repeat (``--repeats``), the
estimators run one after the other in a rotating order, so load from elsewhere on
the machine hits them alike; medians are reported. Groups and their reference:

- NMF: scikit-learn's ``NMF`` (coordinate descent, the reference), ``NMF(solver="mu")``,
  ``MUNMF`` and ``AutogradNMF`` on every device of ``--devices``
- minibatch: scikit-learn's ``MiniBatchNMF`` (reference) and ``SGDNMF``
- SVD: scikit-learn's ``TruncatedSVD`` randomized (reference) and ARPACK, and
  ``TruncatedSVDTopics``

Each row gives the fit time, its ratio to the reference, the relative error
``||X - W H||_F / ||X||_F`` (for SVD: the explained variance ratio summed),
whether that error is at least as good as the reference's, to 1e-6 relative (time
ratios compare like with like only where it is: ``ok``), and the peak memory
traced by ``tracemalloc`` during one more fit (NumPy and SciPy allocations; not
PyTorch's).
Everything runs with default parameters except ``n_components`` and
``random_state=0``.

Run::

    SCIKIT_LEARN_DATA=... python benchmarks/run.py [--quick] [--cases seed 20ng-k20]
        [--dtypes float64 float32] [--devices numpy torch] [--repeats 3] [--json out.json]

``--quick`` runs the four-newsgroup corpus and 20ng-k20 once, in float64 on NumPy.

The GPU benchmark (one command, a few minutes): ``python benchmarks/run.py --device
cuda``: 20 Newsgroups all, sparse X on the device, k=20 and 100, float32 and float64,
MUNMF's fit on the device against its fit on the CPU (NumPy), the speed-up and both
errors. ``--device torch`` runs the same on PyTorch's CPU (a smoke test where no GPU
is lent; ``--gpu-corpus seed`` makes it quick).
"""

import argparse
import json
import platform
import statistics
import time
import tracemalloc
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import NMF, MiniBatchNMF, TruncatedSVD
from sklearn.exceptions import ConvergenceWarning

from sklearn_nmfx import MUNMF, SGDNMF, AutogradNMF, TruncatedSVDTopics

SEED_CATEGORIES = ["alt.atheism", "talk.religion.misc", "comp.graphics", "sci.space"]


# -- data ------------------------------------------------------------------------
def newsgroups(categories=None, min_df=1):
    from sklearn.datasets import fetch_20newsgroups
    from sklearn.feature_extraction.text import TfidfVectorizer

    documents = fetch_20newsgroups(subset="train", categories=categories,
                                   remove=("headers", "footers", "quotes"),
                                   download_if_missing=False).data
    return TfidfVectorizer(stop_words="english", min_df=min_df).fit_transform(documents)


def random_sparse(nnz, density=0.005, seed=0):
    """A random non-negative CSR matrix with about ``nnz`` stored entries, 1:5 in shape."""
    n_rows = int(np.sqrt(nnz / density / 5))
    return sp.random(n_rows, 5 * n_rows, density=density, format="csr",
                     random_state=seed, dtype=np.float64)


# -- measures ----------------------------------------------------------------------
def relative_error(X, W, H):
    """``||X - W H||_F / ||X||_F`` without forming ``W H``."""
    sq = float(X.multiply(X).sum()) if sp.issparse(X) else float(np.sum(X * X))
    residual = sq - 2 * float(np.sum(W * (X @ H.T))) + float(np.sum((W.T @ W) * (H @ H.T)))
    return float(np.sqrt(max(residual, 0.0) / sq))


def timed(make_model, X, measure):
    """Fit once: (seconds, quality)."""
    model = make_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        W = model.fit_transform(X)
        seconds = time.perf_counter() - start
    return seconds, measure(X, W, model)


def peak_memory(make_model, X):
    """Peak MiB traced by ``tracemalloc`` during one more fit (kept apart from the
    timed fits: tracing slows every allocation)."""
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        make_model().fit(X)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return peak


def nmf_quality(X, W, model):
    return relative_error(X, np.asarray(W, dtype=np.float64),
                          np.asarray(model.components_, dtype=np.float64))


def svd_quality(X, W, model):
    return float(np.sum(model.explained_variance_ratio_))


def groups(k, devices, include_autograd):
    """{group: (higher_is_better, [(name, factory), ...])}, the reference first."""
    nmf = [("sklearn NMF (cd)", lambda: NMF(k, random_state=0)),
           ("sklearn NMF (mu)", lambda: NMF(k, solver="mu", random_state=0))]
    minibatch = [("sklearn MiniBatchNMF", lambda: MiniBatchNMF(k, random_state=0))]
    svd = [("sklearn TruncatedSVD (randomized)", lambda: TruncatedSVD(k, random_state=0)),
           ("sklearn TruncatedSVD (arpack)",
            lambda: TruncatedSVD(k, algorithm="arpack", random_state=0))]
    for device in devices:
        dev = None if device == "numpy" else device
        nmf.append((f"MUNMF [{device}]", lambda dev=dev: MUNMF(k, random_state=0, device=dev)))
        if include_autograd and (dev is not None or "torch" not in devices):
            nmf.append((f"AutogradNMF [{device}]",
                        lambda dev=dev: AutogradNMF(k, random_state=0, device=dev)))
        minibatch.append((f"SGDNMF [{device}]",
                          lambda dev=dev: SGDNMF(k, random_state=0, device=dev)))
        svd.append((f"TruncatedSVDTopics [{device}]",
                    lambda dev=dev: TruncatedSVDTopics(k, random_state=0, device=dev)))
    return {"NMF": (False, nmf), "minibatch": (False, minibatch), "SVD": (True, svd)}


def warm_up(members, X_small):
    """One fit of each member on a few rows, outside the timings: the first torch fit
    of a process pays a second or more of one-time setup."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _, factory in members:
            factory().fit(X_small)


def run_case(name, X, k, args):
    rows = []
    for dtype in args.dtypes:
        Xd = X.astype(dtype)
        for group, (higher_is_better, members) in groups(
                k, args.devices, include_autograd=k <= 20).items():
            measure = svd_quality if group == "SVD" else nmf_quality
            warm_up(members, Xd[:max(200, 2 * k)])
            runs = {member: [] for member, _ in members}
            for repeat in range(args.repeats):
                shift = repeat % len(members)
                for member, factory in members[shift:] + members[:shift]:
                    runs[member].append(timed(factory, Xd, measure))
            reference = statistics.median(r[0] for r in runs[members[0][0]])
            ref_quality = runs[members[0][0]][0][1]
            for member, factory in members:
                seconds = statistics.median(r[0] for r in runs[member])
                quality = runs[member][0][1]
                # equal up to 1e-6 relative counts as equal (float32 sums differ there)
                if higher_is_better:
                    good = quality >= ref_quality * (1 - 1e-6)
                else:
                    good = quality <= ref_quality * (1 + 1e-6)
                rows.append({
                    "case": name, "k": k, "dtype": dtype, "group": group,
                    "estimator": member, "seconds": seconds, "ratio": seconds / reference,
                    "quality": quality, "at_least_reference_quality": bool(good),
                    "peak_mib": peak_memory(factory, Xd) if args.memory else None,
                })
                print_row(rows[-1])
    return rows


def run_scaling(args):
    """MUNMF time per iteration against the number of non-zeros."""
    rows = []
    sizes = [1e5, 1e6] if args.quick else [1e5, 1e6, 1e7]
    for nnz in sizes:
        X = random_sparse(int(nnz))
        model = MUNMF(20, init="random", random_state=0, max_iter=20, tol=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            model.fit(X)
            seconds = time.perf_counter() - start
        rows.append({"case": "scaling", "nnz": int(X.nnz), "shape": list(X.shape),
                     "seconds_per_iteration": seconds / model.n_iter_})
    for small, large in zip(rows[:-1], rows[1:]):
        large["growth_vs_previous"] = (large["seconds_per_iteration"]
                                       / small["seconds_per_iteration"])
    for row in rows:
        growth = row.get("growth_vs_previous")
        print(f"  nnz {row['nnz']:>10,d}  shape {row['shape'][0]} x {row['shape'][1]}  "
              f"{row['seconds_per_iteration'] * 1e3:8.1f} ms / iteration"
              + (f"  x{growth:.1f} for x10 non-zeros" if growth else ""))
    return rows


def _beta_error(beta):
    from sklearn.decomposition._nmf import _beta_divergence

    def measure(X, W, model):
        return float(_beta_divergence(X, np.asarray(W, dtype=np.float64),
                                      np.asarray(model.components_, dtype=np.float64),
                                      beta, square_root=True))
    return measure


def time_to_reference(name, reference, ours, X, repeats, measure):
    """scikit-learn's default fit (its time, its final error as the target) and our
    fit cut by ``max_iter`` to that error, timed alternately (``time_to_error``)."""
    import time_to_error as tte
    from sklearn.base import clone

    def fit(model):
        return tte.fit(model, X, measure)

    fit(ours)  # warm-up: numba's kernels loaded once per process
    seconds_ref, target, iter_ref = fit(reference)
    _, error_full, iter_full = fit(ours)
    tolerance = tte.TOLERANCE[np.dtype(X.dtype).name]

    def ok(n_iter):
        return fit(clone(ours).set_params(max_iter=n_iter))[1] <= target * (1 + tolerance)

    n_iter = None
    if ok(iter_full):
        low, high = 0, iter_full
        while high - low > max(1, high // 20):
            middle = (low + high) // 2
            low, high = (low, middle) if ok(middle) else (middle, high)
        n_iter = high
    cut = clone(ours).set_params(max_iter=n_iter or iter_full)
    times = {"reference": [seconds_ref], "ours": []}
    for _ in range(repeats):
        times["ours"].append(fit(cut)[0])
        times["reference"].append(fit(reference)[0])
    row = {"case": name, "reference_seconds": statistics.median(times["reference"]),
           "reference_error": target, "reference_n_iter": iter_ref,
           "ours_default_error": error_full, "ours_default_n_iter": iter_full,
           "ours_n_iter_to_target": n_iter,
           "ours_seconds_to_target": statistics.median(times["ours"]),
           "reaches": n_iter is not None}
    row["ratio"] = row["ours_seconds_to_target"] / row["reference_seconds"]
    print(f"  {name:28s} sklearn {row['reference_seconds']:7.2f} s ({iter_ref:3d} it) "
          f"err {target:.9g} | ours {row['ours_seconds_to_target']:7.2f} s "
          f"({n_iter if n_iter else 'never, default'} it; default {iter_full} it, err "
          f"{error_full:.9g})  x{row['ratio']:.2f}", flush=True)
    return row


def run_sweep(name, X, args):
    rows = []
    for dtype in args.dtypes:
        Xd = X.astype(dtype)
        for k in args.ks:
            for seed in args.seeds:
                rows.append({"k": k, "seed": seed, "dtype": dtype, **time_to_reference(
                    f"{name} k={k} seed={seed} {dtype}", NMF(k, random_state=seed),
                    MUNMF(k, random_state=seed), Xd, args.repeats, nmf_quality)})
    for dtype in args.dtypes:
        part = [r for r in rows if r["dtype"] == dtype]
        ours = sum(r["ours_seconds_to_target"] for r in part)
        reference = sum(r["reference_seconds"] for r in part)
        print(f"  {name} {dtype} sweep total: ours {ours:.2f} s, sklearn {reference:.2f} s, "
              f"x{ours / reference:.2f}")
        rows.append({"case": f"{name} total", "dtype": dtype, "ours_seconds_to_target": ours,
                     "reference_seconds": reference, "ratio": ours / reference})
    return rows


def positive_low_rank(n_rows=1000, n_cols=400, rank=10, seed=0):
    """A dense positive matrix ``W H`` times gamma noise (shape 10): Itakura-Saito data."""
    rng = np.random.default_rng(seed)
    X = rng.gamma(1.0, size=(n_rows, rank)) @ rng.gamma(1.0, size=(rank, n_cols))
    return X * rng.gamma(10.0, 0.1, size=X.shape)


def run_beta(case, args):
    beta, loss, X = {
        "kl": (1, "kullback-leibler", newsgroups(SEED_CATEGORIES)),
        "is": (0, "itakura-saito", positive_low_rank()),
    }[case]
    rows = []
    for seed in args.seeds:
        rows.append({"seed": seed, **time_to_reference(
            f"{case} k=10 seed={seed}",
            NMF(10, solver="mu", beta_loss=loss, random_state=seed),
            MUNMF(10, beta_loss=loss, random_state=seed), X, args.repeats,
            _beta_error(beta))})
    return rows


_COLD = """
import time, warnings, sys
import scipy.sparse as sp
X = sp.load_npz(sys.argv[1])
start = time.perf_counter()
if sys.argv[2] == "ours":
    from sklearn_nmfx import MUNMF as Model
else:
    from sklearn.decomposition import NMF as Model
imported = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    model = Model(n_components=5, random_state=1)
    W = model.fit_transform(X)
print(time.perf_counter() - start, imported - start, model.reconstruction_err_)
"""


def run_cold(args):
    """The README's job in fresh processes, alternately: import and first fit."""
    import os
    import subprocess
    import sys
    import tempfile

    X = newsgroups(SEED_CATEGORIES)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "X.npz")
        sp.save_npz(path, X)
        times = {"sklearn": [], "ours": []}
        for _ in range(max(args.repeats, 3)):
            for who in times:
                out = subprocess.run([sys.executable, "-c", _COLD, path, who], check=True,
                                     capture_output=True, text=True).stdout.split()
                times[who].append([float(v) for v in out])
    row = {"case": "cold k=5 random_state=1"}
    for who, runs in times.items():
        row[f"{who}_seconds"] = statistics.median(r[0] for r in runs)
        row[f"{who}_import_seconds"] = statistics.median(r[1] for r in runs)
        row[f"{who}_error"] = runs[0][2]
    row["ratio"] = row["ours_seconds"] / row["sklearn_seconds"]
    print(f"  cold process, import + first fit: sklearn {row['sklearn_seconds']:.2f} s "
          f"(import {row['sklearn_import_seconds']:.2f}, err {row['sklearn_error']:.9g}) | "
          f"ours {row['ours_seconds']:.2f} s (import {row['ours_import_seconds']:.2f}, err "
          f"{row['ours_error']:.9g})  x{row['ratio']:.2f}")
    return [row]


def run_device(args):
    """MUNMF on ``args.device`` (sparse X there) against MUNMF on the CPU (NumPy)."""
    X = newsgroups(SEED_CATEGORIES) if args.gpu_corpus == "seed" else newsgroups(min_df=2)
    ks = [5, 20] if args.gpu_corpus == "seed" else [20, 100]
    rows = []
    for dtype in ("float32", "float64"):
        Xd = X.astype(dtype)
        for k in ks:
            members = [("cpu", lambda k=k: MUNMF(k, random_state=0)),
                       (args.device, lambda k=k: MUNMF(k, random_state=0, device=args.device))]
            warm_up(members, Xd[:max(200, 2 * k)])
            runs = {name: [timed(factory, Xd, nmf_quality) for _ in range(args.repeats)]
                    for name, factory in members}
            cpu, dev = (statistics.median(r[0] for r in runs[n]) for n, _ in members)
            rows.append({"case": f"device k={k} {dtype}", "cpu_seconds": cpu,
                         "device_seconds": dev, "speedup": cpu / dev,
                         "cpu_error": runs["cpu"][0][1],
                         "device_error": runs[args.device][0][1]})
            print(f"  {dtype} k={k:<4d} cpu {cpu:7.2f} s  {args.device} {dev:7.2f} s  "
                  f"speed-up x{cpu / dev:.1f}  rel. errors {runs['cpu'][0][1]:.9f} / "
                  f"{runs[args.device][0][1]:.9f}", flush=True)
    return rows


def print_row(row):
    quality = "explained" if row["group"] == "SVD" else "rel. error"
    print(f"  {row['case']:9s} {row['dtype']:8s} {row['estimator']:36s} "
          f"{row['seconds']:8.2f} s  x{row['ratio']:5.2f}  {quality} {row['quality']:.9f}"
          f"  {'ok ' if row['at_least_reference_quality'] else 'worse'}"
          + (f"  peak {row['peak_mib']:7.1f} MiB" if row["peak_mib"] is not None else ""))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+",
                        default=["seed", "20ng-k20", "20ng-k100", "scaling"])
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"])
    parser.add_argument("--devices", nargs="+", default=["numpy", "torch"],
                        help="numpy, torch (PyTorch on the CPU), cuda")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-memory", dest="memory", action="store_false",
                        help="skip the extra fit that traces peak memory")
    parser.add_argument("--json", default=None, help="write the rows to this file")
    parser.add_argument("--ks", type=int, nargs="+", default=[2, 3, 5, 8, 10, 15, 20])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default=None,
                        help="run the device benchmark only: MUNMF on this device "
                             "(cuda, or torch for a CPU smoke test) against NumPy")
    parser.add_argument("--gpu-corpus", choices=["20ng", "seed"], default="20ng")
    args = parser.parse_args(argv)
    if args.device:
        if args.repeats == 3:
            args.repeats = 2
        rows = run_device(args)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"machine": platform.platform(), "rows": rows}, f, indent=1)
        return
    if args.quick:
        args.cases, args.dtypes, args.devices, args.repeats = (
            ["seed", "20ng-k20", "scaling"], ["float64"], ["numpy"], 1)
    try:
        import torch

        if "cuda" not in args.devices and torch.cuda.is_available():
            args.devices.append("cuda")
    except ImportError:
        args.devices = [d for d in args.devices if d == "numpy"]

    print(f"{platform.machine()}, {platform.python_version()}, devices {args.devices}, "
          f"median of {args.repeats}; ratios are to the first row of each group")
    rows = []
    all_newsgroups = None
    for case in args.cases:
        print(case)
        if case == "seed":
            rows += run_case(case, newsgroups(SEED_CATEGORIES), 5, args)
        elif case.startswith("20ng-k"):
            if all_newsgroups is None:
                all_newsgroups = newsgroups(min_df=2)
            rows += run_case(case, all_newsgroups, int(case.removeprefix("20ng-k")), args)
        elif case == "scaling":
            rows += run_scaling(args)
        elif case == "sweep-seed":
            rows += run_sweep(case, newsgroups(SEED_CATEGORIES), args)
        elif case == "sweep-20ng":
            if all_newsgroups is None:
                all_newsgroups = newsgroups(min_df=2)
            rows += run_sweep(case, all_newsgroups, args)
        elif case in ("kl", "is"):
            rows += run_beta(case, args)
        elif case == "cold":
            rows += run_cold(args)
        else:
            parser.error(f"unknown case {case!r}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": platform.platform(), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
