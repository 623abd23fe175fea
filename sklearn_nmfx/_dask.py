"""Dask arrays: MUNMF and TruncatedSVDTopics on X chunked by rows, beyond one machine.

X is a ``dask.array.Array`` of shape ``(n_samples, n_features)`` in row blocks
(chunks of NumPy arrays or of scipy.sparse matrices; column chunks are joined).
What has ``n_samples`` rows stays in row blocks on the workers (W, the sketches
of the randomized SVD); what has ``n_features`` rows (H, the sums ``X.T @ W``)
or ``n_components`` rows (Gram matrices) is small and lives in the client, as
NumPy arrays.

One MU iteration is one pass over the row blocks: a task per block takes
``X_b``, its rows ``W_b`` of W and the current H, updates ``W_b`` with the
in-memory kernel (``frobenius_update`` or ``beta_step``), and returns, besides
the new ``W_b`` (kept on its worker), its share of what the H update needs
(``X_b.T @ W_b`` and ``W_b.T @ W_b``, or the numerator and denominator of a beta
step), of the objective and of the stopping rule. The shares are added up in a
tree on the workers; the client updates H (``frobenius_update`` /
``beta_ratio_step``) and ships it with the next pass. Per iteration and block,
``n_features x n_components`` numbers cross the network each way.

The NNDSVD start runs scikit-learn's randomized SVD over the row blocks (the same
random matrix and power iterations, normalized by QR), so it is the in-memory
start up to rounding.

dask is imported only once a dask array is passed: ``is_dask_array`` looks at the
type's module.
"""

import functools
import math
import operator
import os
import sys
import uuid

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.utils import check_random_state

from ._backend import NumpyBackend, _squared_norm, resolve_backend
from ._kernels.init import (
    fill_zeros,
    nndsvd_factor,
    nndsvd_threshold,
    nndsvd_weights,
    random_start,
    split_norms,
    zero_fill,
)
from ._kernels.losses import _frobenius_from_products, beta_divergence, beta_from_loss, penalty
from ._kernels.mu import (
    _check_finite,
    _l1_change,
    beta_numerator_denominator,
    beta_ratio_step,
    beta_step,
    floors,
    frobenius_update,
    inner_repeats,
)
from ._kernels.svd import flip_signs
from ._validation import check_largest_entry, check_non_negative_data, validate_data

_DASK_EXTRA_HINT = "install it with: pip install 'sklearn-nmfx[dask]'"


def is_dask_array(X):
    """Whether X is a dask array (without importing dask)."""
    return type(X).__module__.startswith("dask.array") and hasattr(X, "chunks")


def import_dask():
    """(dask, dask.array), or an ImportError that names the ``[dask]`` extra."""
    try:
        import dask
        import dask.array as da
    except ImportError as exc:
        raise ImportError(
            "X is a dask array, and fitting it needs dask with dask.array, which "
            f"could not be imported; {_DASK_EXTRA_HINT}."
        ) from exc
    return dask, da


# -- input ---------------------------------------------------------------------
def check_dask_X(estimator, X, *, reset, whom):
    """Check what a dask X shows without computing it: 2-D, numbers, known row chunks,
    the feature count. Its values are checked by the first pass over it.

    Returns X with one column chunk, and the dtype the blocks are converted to
    (float32 and float64 are kept, anything else becomes float64).
    """
    import_dask()
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-D dask array in {whom}, got {X.ndim}-D with shape {X.shape}."
        )
    if np.dtype(X.dtype).kind not in "biuf":
        raise ValueError(f"dask array of dtype {X.dtype} passed to {whom}: X must hold numbers.")
    if any(math.isnan(size) for size in X.chunks[0]):
        raise ValueError(
            f"The dask array passed to {whom} has unknown chunk sizes; call "
            "X.compute_chunk_sizes() first."
        )
    if min(X.shape) < 1:
        raise ValueError(f"Found an empty dask array of shape {X.shape} in {whom}.")
    validate_data(estimator, X, reset=reset, skip_check_array=True)
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    return X, np.dtype(dtype)


def _block(X_b, dtype):
    """A chunk of X as an ndarray or a CSR matrix of ``dtype`` (X_b is not modified)."""
    if sp.issparse(X_b) or hasattr(X_b, "tocsr"):
        return X_b.tocsr().astype(dtype, copy=False)
    return np.asarray(X_b, dtype=dtype)


def _block_values(X_b):
    return X_b.data if sp.issparse(X_b) else X_b.ravel()


def _block_stats(X_b, dtype):
    """One block's share of the sums, counts and extremes that the fit needs."""
    X_b = _block(X_b, dtype)
    values = _block_values(X_b)
    n_entries = X_b.shape[0] * X_b.shape[1]
    return {
        "nnz": int(values.size),
        "squared_norm": _squared_norm(values),
        "total": float(values.sum(dtype=np.float64)),
        "column_sums": np.asarray(X_b.sum(axis=0, dtype=np.float64)).ravel(),
        "max": float(values.max()) if values.size else 0.0,
        "n_negative": int(np.count_nonzero(values < 0)),
        "n_nonfinite": int(values.size - np.count_nonzero(np.isfinite(values))),
        "n_zeros": n_entries - int(np.count_nonzero(values)),
    }


def _check_block(X_b, dtype, whom, non_negative):
    """A block of X for ``transform``: finite (and non-negative for NMF)."""
    X_b = _block(X_b, dtype)
    if not np.isfinite(_block_values(X_b)).all():
        raise ValueError(f"Input X passed to {whom} contains NaN or infinity.")
    if non_negative:
        check_non_negative_data(X_b, whom)
    return X_b


def _check_stats(stats, whom, non_negative, dtype):
    """The checks of in-memory X, from the first pass's counts."""
    if stats["n_nonfinite"]:
        raise ValueError(
            f"Input X passed to {whom} contains NaN or infinity ({stats['n_nonfinite']} "
            "entries)."
        )
    if non_negative and stats["n_negative"]:
        raise ValueError(
            f"Negative values in data passed to {whom}: {stats['n_negative']} negative "
            "entries. Non-negative matrix factorization needs X >= 0."
        )
    if non_negative:  # the NMF solvers' safe range of X's scale
        check_largest_entry(stats["max"], dtype, whom)


def refuse_mask(mask, whom):
    """Missing values are for in-memory X: a ``mask`` with a dask X is an error."""
    if mask is not None:
        raise ValueError(
            f"{whom} takes a mask of observed entries with in-memory X only, not with "
            "a dask array."
        )


def _check_device(estimator, whom):
    if resolve_backend(estimator.device).name != "numpy":
        raise ValueError(
            f"{whom} on a dask array runs on NumPy/SciPy blocks: use device=None "
            f"(got device={estimator.device!r})."
        )


# -- blocks, sums and passes -----------------------------------------------------
@functools.lru_cache(maxsize=1)
def _numpy_backend():
    """One NumpyBackend per process: it reads the thread limits once."""
    return NumpyBackend()


_COMBINE = {"max": max}


def _add(a, b):
    """Sum of two shares (dicts of numbers and arrays, or arrays); 'max' keys take the max."""
    if isinstance(a, dict):
        return {key: _COMBINE.get(key, operator.add)(a[key], b[key]) for key in a}
    return a + b


def _tree_sum(parts):
    """The sum of Delayed shares, added up pairwise on the workers."""
    from dask import delayed

    parts = list(parts)
    while len(parts) > 1:
        pairs = [parts[i:i + 2] for i in range(0, len(parts), 2)]
        parts = [delayed(_add, pure=False)(*pair) if len(pair) == 2 else pair[0]
                 for pair in pairs]
    return parts[0]


def _client():
    if "distributed" not in sys.modules:
        return None
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        return None


def _shared(array):
    """A small array (H, a sketch) that every block task of a pass reads, sent once."""
    client = _client()
    if client is not None:
        return client.scatter(array, broadcast=True, hash=False)
    from dask import delayed

    return delayed(array, name=f"sklearn-nmfx-shared-{uuid.uuid4().hex}")


def _map(func, xs, *per_block, nout=None, **shared):
    """``func(x_b, *others_b, **shared)`` for every row block, as Delayed."""
    from dask import delayed

    task = delayed(func, pure=False, nout=nout)
    return [task(*args, **shared) for args in zip(xs, *per_block)]


def _keep(dask, tasks):
    """Compute Delayed values and leave them where they are: futures on the workers
    with a distributed client, values in this process with the threaded scheduler."""
    client = _client()
    if client is None:
        return list(dask.compute(*tasks))
    return client.compute(list(tasks))


def _result(value):
    return value.result() if hasattr(value, "result") else value


def _pass(dask, steps):
    """Run block tasks that return ``(rows, share)``: the rows stay on the workers,
    the shares are summed there and brought to the client."""
    rows = [step[0] for step in steps]
    total = _tree_sum(step[1] for step in steps)
    *rows, total = _keep(dask, [*rows, total])
    return rows, _result(total)


def _sum(parts):
    return _tree_sum(parts).compute()


def _split(A, rows):
    """An array of ``sum(rows)`` rows as a list of row blocks."""
    bounds = np.cumsum((0, *rows))
    return [np.ascontiguousarray(A[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def _scattered(arrays):
    """Row blocks made in the client, sent to the workers (kept as they are without a
    distributed client: the threaded scheduler shares the client's memory)."""
    client = _client()
    return client.scatter(arrays, hash=False) if client is not None else arrays


def _as_dask_array(da, blocks, rows, n_columns, dtype):
    """Row blocks (futures, arrays or Delayed) as one dask array."""
    from dask import delayed

    return da.concatenate([da.from_delayed(delayed(b), shape=(n, n_columns), dtype=dtype)
                           for b, n in zip(blocks, rows)])


# -- randomized SVD over row blocks -----------------------------------------------
def _times(X_b, Q, dtype):
    return np.asarray(_block(X_b, dtype) @ Q)


def _transposed_times(X_b, Y_b, dtype):
    return np.asarray(_block(X_b, dtype).T @ Y_b)


def _matmul(Q_b, A):
    return Q_b @ A


def _nbytes(X, stats, dtype):
    if sp.issparse(X._meta) or hasattr(X._meta, "tocsr"):
        return stats["nnz"] * (dtype.itemsize + 4) + 4 * (X.shape[0] + X.numblocks[0])
    return X.shape[0] * X.shape[1] * dtype.itemsize


def _fits_in_memory(client, nbytes, share=0.5):
    """Whether ``nbytes`` is less than ``share`` of the workers' memory limits (of the
    memory available to this process, without a distributed client)."""
    if client is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
            return False
        return nbytes < share * available
    limits = [w.get("memory_limit") or 0 for w in client.scheduler_info()["workers"].values()]
    return 0 in limits or nbytes < share * sum(limits)


class _RowBlocks:
    """X in row blocks, its sums and counts, and the products a randomized SVD needs.

    The blocks (converted to ``dtype``, CSR) are kept on the workers (in this
    process with the threaded scheduler) when X takes less than half of their
    memory; otherwise every pass computes them from X's graph again (reads them
    again, for X read from files), so that a worker holds a few blocks at a time.
    """

    @property
    def shape(self):
        return (sum(self.rows), self.n_features)

    def __init__(self, dask, da, X, dtype, whom, non_negative):
        self.dask, self.da, self.rows = dask, da, X.chunks[0]
        self.n_features, self.dtype = X.shape[1], dtype
        self.xs = list(X.to_delayed().ravel())
        self.stats = _sum(_map(_block_stats, self.xs, dtype=dtype))
        _check_stats(self.stats, whom, non_negative, dtype)
        self.kept = _fits_in_memory(_client(), _nbytes(X, self.stats, dtype))
        if self.kept:
            self.xs = _keep(dask, _map(_block, self.xs, dtype=dtype))

    def times(self, Q):
        """``X @ Q`` for a small Q: row blocks, kept (with Q's column count)."""
        blocks = _map(_times, self.xs, Q=_shared(Q), dtype=self.dtype)
        return _keep(self.dask, blocks), Q.shape[1]

    def transposed_times(self, Y_blocks):
        """``X.T @ Y`` for Y in row blocks: a NumPy array."""
        return _sum(_map(_transposed_times, self.xs, Y_blocks, dtype=self.dtype))

    def tall_qr(self, Y):
        """Thin QR of a tall matrix in row blocks (dask's TSQR): (Q blocks, R)."""
        Y_blocks, n_columns = Y
        Y = _as_dask_array(self.da, Y_blocks, self.rows, n_columns, self.dtype)
        Q, R = self.da.linalg.qr(Y)
        *Q, R = _keep(self.dask, [*Q.to_delayed().ravel(), R.to_delayed().ravel()[0]])
        return Q, _result(R)

    def rows_times(self, blocks, A):
        """``Y @ A`` for Y in row blocks and a small A: row blocks, kept."""
        return _keep(self.dask, _map(_matmul, blocks, A=_shared(A)))


def _small_qr(A):
    return scipy.linalg.qr(A, mode="economic", check_finite=False)[0]


def randomized_svd_rows(X, n_components, *, n_oversamples, n_iter, random_state):
    """scikit-learn's ``randomized_svd`` of X in row blocks: (U in row blocks, S, Vt).

    The same random matrix, ``transpose='auto'`` and power iterations as
    :func:`sklearn.utils.extmath.randomized_svd`, normalized by QR (dask's TSQR on
    the side with ``n_samples`` rows): the same subspace, so the same result up to
    rounding and signs. X is read ``2 * n_iter + 2`` times.
    """
    n_samples, n_features = sum(X.rows), X.n_features
    size = n_components + n_oversamples
    if n_iter == "auto":
        n_iter = 7 if n_components < 0.1 * min(n_samples, n_features) else 4
    rng = check_random_state(random_state)
    k = n_components
    if n_samples >= n_features:  # scikit-learn factors X
        Q = rng.normal(size=(n_features, size)).astype(X.dtype, copy=False)
        for _ in range(n_iter):
            Q_rows, _ = X.tall_qr(X.times(Q))
            Q = _small_qr(X.transposed_times(Q_rows))
        Q_rows, _ = X.tall_qr(X.times(Q))
        U_hat, S, Vt = scipy.linalg.svd(X.transposed_times(Q_rows).T, full_matrices=False)
        return X.rows_times(Q_rows, U_hat[:, :k]), S[:k], Vt[:k]
    # scikit-learn factors M = X.T: its range finder works on the features' side
    Q_rows = _scattered(_split(rng.normal(size=(n_samples, size)).astype(X.dtype), X.rows))
    for _ in range(n_iter):
        Q = _small_qr(X.transposed_times(Q_rows))
        Q_rows, _ = X.tall_qr(X.times(Q))
    Q = _small_qr(X.transposed_times(Q_rows))
    # Q.T @ M = (X @ Q).T = R.T @ Z.T with X @ Q = Z R; R.T = Ur S Vrt
    Z_rows, R = X.tall_qr(X.times(Q))
    U_r, S, Vrt = scipy.linalg.svd(R.T, full_matrices=False)
    # M ~ (Q Ur) S (Z Vrt.T).T, so X ~ (Z Vrt.T) S (Q Ur).T
    return X.rows_times(Z_rows, Vrt.T[:, :k]), S[:k], (Q @ U_r[:, :k]).T


# -- MUNMF ----------------------------------------------------------------------
def _split_squares(U_b):
    return np.square(np.array(split_norms(U_b)))


def _nndsvd_block(U_b, fill, S, use_p, lbd, norms, eps, dtype):
    W_b = nndsvd_factor(U_b, S, use_p, lbd, norms, eps)
    if fill is not None:
        fill_zeros(W_b, fill)
    return W_b.astype(dtype, copy=False)


def _count_zeros(U_b, S, use_p, lbd, norms, eps):
    return np.count_nonzero(nndsvd_factor(U_b, S, use_p, lbd, norms, eps) == 0)


def _nndsvd_start(X, n_components, init, random_state, mean, eps=1e-6):
    """NNDSVD (and its 'a'/'ar' variants) as ``initialize_factors``: W in row blocks."""
    U_rows, S, Vt = randomized_svd_rows(X, n_components, n_oversamples=10, n_iter="auto",
                                        random_state=random_state)
    eps = nndsvd_threshold(eps, X.stats["max"])
    U_norms = tuple(np.sqrt(_sum(_map(_split_squares, U_rows))))
    V_norms = split_norms(Vt.T)
    use_p, lbd = nndsvd_weights(S, U_norms, V_norms)
    H = np.ascontiguousarray(nndsvd_factor(Vt.T, S, use_p, lbd, V_norms, eps).T)
    factor = dict(S=S, use_p=use_p, lbd=lbd, norms=U_norms, eps=eps)
    fills = [None] * len(U_rows)
    if init != "nndsvd":
        rng = check_random_state(random_state) if init == "nndsvdar" else None
        counts = [int(c) for c in X.dask.compute(*_map(_count_zeros, U_rows, **factor))]
        values = zero_fill(init, mean, sum(counts), rng)
        fills = [values] * len(U_rows) if init == "nndsvda" else _split(values, counts)
        fill_zeros(H, zero_fill(init, mean, np.count_nonzero(H == 0), rng))
    W_rows = _keep(X.dask, _map(_nndsvd_block, U_rows, fills, dtype=X.dtype, **factor))
    return W_rows, H.astype(X.dtype, copy=False)


def _initialize(X, n_components, init, random_state, *, stats):
    """``initialize_factors`` for X in row blocks: W in row blocks (NNDSVD) or in
    NumPy ('random'), H in NumPy."""
    n_samples, n_features = X.shape
    mean = stats["total"] / (n_samples * n_features)
    if init == "random":
        return random_start(mean, X.shape, n_components, X.dtype, random_state)
    return _nndsvd_start(X, n_components, init, random_state, mean)


def _start(estimator, X, stats, W, H, n_components, fixed_components):
    """The start of the fit as in memory (``estimator._start``): W in row blocks, H
    in NumPy, the fixed components."""
    W0, H0, fixed = estimator._start(X, W, H, n_components, fixed_components,
                                     initialize=functools.partial(_initialize, stats=stats))
    if isinstance(W0, np.ndarray):  # drawn or given in the client
        W0 = _scattered(_split(W0, X.rows))
    return W0, H0, fixed


def _frobenius_block(X_b, W_b, Ht, HtHt, dtype, l1, l2, n_repeats, floor):
    """The fast MU update of the rows W_b, and the block's share of the H update
    (``X_b.T @ W_b``, ``W_b.T @ W_b``), of the objective and of the change."""
    B = _numpy_backend()
    xp = B.namespace()
    X_b = _block(X_b, dtype)
    XHt = X_b @ Ht
    W = frobenius_update(W_b, XHt, HtHt, l1, l2, n_repeats, floor, B)
    WtW = W.T @ W
    return W, {
        "XtW": np.asarray(X_b.T @ W),
        "WtW": WtW,
        # 0.5 (-2 <W, X H^T> + <W^T W, H H^T>): add 0.5 ||X||^2 for the divergence
        "divergence": float(_frobenius_from_products(0.0, W, XHt, WtW, HtHt, xp)),
        "penalty": float(penalty(W, None, l1, l2, 0.0, 0.0, xp)),
        "change": float(_l1_change(W, W_b, B)),
    }


def _beta_block(X_b, W_b, Ht, dtype, beta, l1, l2, floor, eps):
    """The MU update of the rows W_b for a beta divergence, and the block's share of
    the numerator and denominator of the H update, and of the change."""
    B = _numpy_backend()
    data = _data(X_b, dtype, beta)
    W = beta_step(data, W_b, Ht, beta, l1, l2, floor, eps, B)
    num, den = beta_numerator_denominator(data.T, Ht, W, beta, eps, B)
    return W, {"num": num, "den": den, "change": float(_l1_change(W, W_b, B))}


def _data(X_b, dtype, beta):
    """A block as a DataMatrix; without X.T for the Frobenius loss (less memory)."""
    return _numpy_backend().data_matrix(_block(X_b, dtype), transpose=beta != 2)


def _objective_block(X_b, W_b, Ht, dtype, beta, l1, l2, eps):
    B = _numpy_backend()
    data = _data(X_b, dtype, beta)
    return {
        "divergence": float(beta_divergence(data, W_b, Ht, beta, B, eps=eps)),
        "penalty": float(penalty(W_b, None, l1, l2, 0.0, 0.0, B.namespace())),
    }


def _final_block(X_b, Ht, solver, scale, dtype, beta, eps):
    """W_b for the final H, solved as ``transform`` solves it, and its divergence."""
    B = _numpy_backend()
    data = _data(X_b, dtype, beta)
    W = solver._solve_W(data, Ht, scale, B)
    return W, {"divergence": float(beta_divergence(data, W, Ht, beta, B, eps=eps))}


def fit_munmf(estimator, X, W=None, H=None, fixed_components=None):
    """``MUNMF._fit_validated`` for a dask X: (fitted attributes, W as a dask array)."""
    from ._mu import ZEROS_FOR_BETA_MESSAGE, scale_from_sum

    dask, da = import_dask()
    whom = f"{type(estimator).__name__}.fit"
    _check_device(estimator, whom)
    X, dtype = check_dask_X(estimator, X, reset=True, whom=whom)
    n_samples, n_features = X.shape
    blocks = _RowBlocks(dask, da, X, dtype, whom, non_negative=True)
    xs, stats = blocks.xs, blocks.stats
    n_components = estimator._resolved_n_components(n_features, W, H, fixed_components)
    beta = beta_from_loss(estimator.beta_loss)
    if beta <= 0 and stats["n_zeros"]:
        raise ValueError(ZEROS_FOR_BETA_MESSAGE)
    W_rows, H0, fixed = _start(estimator, blocks, stats, W, H, n_components, fixed_components)
    Ht = np.ascontiguousarray(H0.T)
    fixed_columns = None if fixed is None else np.isin(np.arange(n_components), fixed)

    B = _numpy_backend()
    xp = B.namespace()
    l1_W, l2_W, l1_H, l2_H = estimator._regularization(n_samples, n_features)
    floor, eps = floors(dtype, stats["max"])
    fast = beta == 2
    nnz = stats["nnz"]
    repeats_W = inner_repeats(nnz, n_samples, n_features, n_components)
    repeats_H = inner_repeats(nnz, n_features, n_samples, n_components)

    def objective(W_rows, Ht):
        sums = _sum(_map(_objective_block, xs, W_rows, Ht=_shared(Ht), dtype=dtype,
                         beta=beta, l1=l1_W, l2=l2_W, eps=eps))
        return sums["divergence"] + sums["penalty"] + _penalty_H(Ht)

    def _penalty_H(Ht):
        return float(penalty(None, Ht, 0.0, 0.0, l1_H, l2_H, xp))

    value = objective(W_rows, Ht)
    _check_finite(value, 0)
    history = [(0, value)]
    estimator._report(0, value)
    first_change, converged, n_iter = None, False, 0
    for n_iter in range(1, int(estimator.max_iter) + 1):
        check = n_iter % 10 == 0 or n_iter == estimator.max_iter
        if fast:
            HtHt = Ht.T @ Ht
            steps = _map(_frobenius_block, xs, W_rows, nout=2, Ht=_shared(Ht), HtHt=HtHt,
                         dtype=dtype, l1=l1_W, l2=l2_W, n_repeats=repeats_W, floor=floor)
            W_rows, sums = _pass(dask, steps)
            if check:  # W updated, H not yet: as the in-memory loop measures it
                value = (0.5 * stats["squared_norm"] + sums["divergence"] + sums["penalty"]
                         + _penalty_H(Ht))
            Ht_new = frobenius_update(Ht, sums["XtW"], sums["WtW"], l1_H, l2_H, repeats_H,
                                      floor, B, fixed=fixed_columns)
        else:
            steps = _map(_beta_block, xs, W_rows, nout=2, Ht=_shared(Ht), dtype=dtype,
                         beta=beta, l1=l1_W, l2=l2_W, floor=floor, eps=eps)
            W_rows, sums = _pass(dask, steps)
            Ht_new = beta_ratio_step(Ht, sums["num"], sums["den"], beta, l1_H, l2_H, floor, B)
        if fixed_columns is not None:  # as in memory: the fixed columns bit for bit
            Ht_new = np.where(fixed_columns[None, :], Ht, Ht_new)
        change = sums["change"] + float(_l1_change(Ht_new, Ht, B))
        Ht = Ht_new
        if first_change is None:
            first_change = change
        if check:
            if not fast:
                value = objective(W_rows, Ht)
            _check_finite(value, n_iter)
            history.append((n_iter, value))
            estimator._report(n_iter, value)
            if change <= estimator.tol * first_change:
                converged = True
                break

    scale = scale_from_sum(stats["total"], n_samples * n_features, n_components)
    steps = _map(_final_block, xs, nout=2, Ht=_shared(Ht), solver=clone(estimator),
                 scale=scale, dtype=dtype, beta=beta, eps=eps)
    W_rows, sums = _pass(dask, steps)
    attributes = estimator._fitted_attributes(Ht, fixed, n_iter, history, converged,
                                              sums["divergence"], scale)
    return attributes, _as_dask_array(da, W_rows, X.chunks[0], n_components, dtype)


def _transform_block(X_b, estimator, block_dtype, whom, non_negative):
    X_b = _check_block(X_b, block_dtype, whom, non_negative)
    return estimator._transform_validated(X_b, None, _numpy_backend())


def transform_rows(estimator, X):
    """``transform`` of a dask X, block by block (the rows are independent): a lazy
    dask array of shape ``(n_samples, n_components)`` with X's row chunks."""
    whom = f"{type(estimator).__name__}.transform"
    _check_device(estimator, whom)
    X, dtype = check_dask_X(estimator, X, reset=False, whom=whom)
    n_components = estimator.components_.shape[0]
    return X.map_blocks(
        _transform_block, estimator=estimator, block_dtype=dtype, whom=whom,
        non_negative=estimator._non_negative,
        chunks=(X.chunks[0], (n_components,)), meta=np.empty((0, 0), dtype=dtype),
    )


# -- TruncatedSVDTopics -------------------------------------------------------------
def _projection_block(X_b, components_t, dtype):
    W = np.ascontiguousarray(_block(X_b, dtype) @ components_t, dtype=dtype)
    return W, {"sum": W.sum(axis=0, dtype=np.float64),
               "sum_squares": np.square(W, dtype=np.float64).sum(axis=0)}


def fit_truncated_svd(estimator, X):
    """``TruncatedSVDTopics._fit_validated`` for a dask X, by the randomized solver."""
    dask, da = import_dask()
    whom = f"{type(estimator).__name__}.fit"
    _check_device(estimator, whom)
    if estimator.algorithm == "arpack":
        raise ValueError(
            "algorithm='arpack' needs X in memory; on a dask array use "
            "algorithm='randomized' (or 'auto')."
        )
    X, dtype = check_dask_X(estimator, X, reset=True, whom=whom)
    estimator._check_n_components(X)
    n_samples, n_features = X.shape
    blocks = _RowBlocks(dask, da, X, dtype, whom, non_negative=False)
    stats = blocks.stats
    k = int(estimator.n_components)
    _, S, Vt = randomized_svd_rows(blocks, k, n_oversamples=int(estimator.n_oversamples),
                                   n_iter=int(estimator.n_iter),
                                   random_state=estimator.random_state)
    _, components = flip_signs(np.asarray(Vt, dtype=dtype))
    components = np.ascontiguousarray(components)
    steps = _map(_projection_block, blocks.xs, nout=2,
                 components_t=_shared(np.ascontiguousarray(components.T)), dtype=dtype)
    W_rows, sums = _pass(dask, steps)
    explained_variance = sums["sum_squares"] / n_samples - (sums["sum"] / n_samples) ** 2
    column_means = stats["column_sums"] / n_samples
    full_variance = stats["squared_norm"] / n_samples - float(column_means @ column_means)
    ratio = (explained_variance / full_variance if full_variance > 0
             else np.zeros_like(explained_variance))
    attributes = {
        "components_": components,
        "n_components_": k,
        "algorithm_": "randomized",
        "singular_values_": np.asarray(S, dtype=dtype).copy(),
        "explained_variance_": explained_variance.astype(dtype),
        "explained_variance_ratio_": np.asarray(ratio, dtype=dtype),
    }
    return attributes, _as_dask_array(da, W_rows, X.chunks[0], k, dtype)
