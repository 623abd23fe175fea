"""The Dask peer of the data matrix: X in row blocks on the workers.

:class:`RowBlockMatrix` answers what the kernels ask of X (the products
``X @ G`` and ``X.T @ G``, statistics, and ``map_blocks`` / ``sum_blocks`` of
row-local work) with one task per row block. What it returns is in memory, in
this process (the client): ``X @ G`` has ``n_samples`` rows (W and the sketches
of the randomized SVD live in the client), ``X.T @ G`` and the sums are small,
added up pairwise on the workers. The kernels then run exactly as on X in
memory, and a fit of a dask array is the in-memory fit up to the order of the
sums over the blocks.

The blocks (converted to the fit's dtype; CSR without duplicates) are kept on the
workers (in this process with the threaded scheduler) when X takes less than half
of their memory; otherwise every pass computes them from X's graph again (reads
them again, for X read from files), so that a worker holds a few blocks at a time.
"""

import operator
import os
import sys

import numpy as np
import scipy.sparse as sp

from .._backend import NumpyBackend, _squared_norm
from .._validation import (
    canonical_sparse,
    check_block_counts,
    first_negative,
    refuse_negative,
)
from . import import_dask


def _block(X_b, dtype, scale=None):
    """A chunk of X as an ndarray or a canonical CSR matrix of ``dtype`` (X_b is not
    modified), divided by ``scale`` if given."""
    if sp.issparse(X_b) or hasattr(X_b, "tocsr"):
        X_b = canonical_sparse(X_b.tocsr().astype(dtype, copy=False))
    else:
        X_b = np.ascontiguousarray(X_b, dtype=dtype)
    if scale is not None:
        factor = 1.0 / scale
        X_b = X_b * X_b.dtype.type(factor) if factor < np.finfo(dtype).max else X_b / scale
    return X_b


def _counts(X_b, offset, dtype, scale):
    """One block's share of the sums, counts and extremes of X."""
    X_b = _block(X_b, dtype, scale)
    values = X_b.data if sp.issparse(X_b) else X_b.ravel()
    finite = np.isfinite(values)
    n_negative, first = first_negative(X_b) if finite.all() else (0, None)
    return {
        "nnz": int(values.size),
        "squared_norm": _squared_norm(values),
        "total": float(values.sum(dtype=np.float64)),
        "column_sums": np.asarray(X_b.sum(axis=0, dtype=np.float64)).ravel(),
        "max_value": float(values.max()) if values.size else 0.0,
        "max_abs": float(np.abs(values).max()) if values.size else 0.0,
        "n_nonfinite": int(values.size - np.count_nonzero(finite)),
        "n_zeros": X_b.shape[0] * X_b.shape[1] - int(np.count_nonzero(values)),
        "n_negative": n_negative,
        "first_negative": None if first is None else (first[0] + offset, *first[1:]),
    }


_COMBINE = {
    "max_value": max,
    "max_abs": max,
    "first_negative": lambda a, b: a if a is not None else b,  # blocks in row order
}


def _add(a, b):
    """The sum of two shares: arrays or numbers, tuples or dicts of them (see _COMBINE)."""
    if isinstance(a, dict):
        return {key: _COMBINE.get(key, operator.add)(a[key], b[key]) for key in a}
    if isinstance(a, tuple):
        return tuple(x + y for x, y in zip(a, b))
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


def _shared(value):
    """A value that every block task of a pass reads (H, a sketch), sent to the
    workers once."""
    client = _client()
    if client is None or not isinstance(value, np.ndarray):
        return value
    return client.scatter(value, broadcast=True, hash=False)


def _nbytes(X, nnz, dtype):
    if sp.issparse(X._meta) or hasattr(X._meta, "tocsr"):
        return nnz * (dtype.itemsize + 4) + 4 * (X.shape[0] + X.numblocks[0])
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


def _times(X_b, G, dtype, scale):
    return np.asarray(_block(X_b, dtype, scale) @ G)


def _rtimes(X_b, G_b, dtype, scale):
    return np.asarray(_block(X_b, dtype, scale).T @ G_b)


def _apply(fn, X_b, dtype, scale, rows, shared):
    """``fn`` on the data matrix of one block (in memory, on the NumPy backend)."""
    return fn(NumpyBackend().data_matrix(_block(X_b, dtype, scale)), *rows, **shared)


class RowBlockMatrix:
    """A dask array X in row blocks, with the interface of an in-memory DataMatrix.

    Parameters
    ----------
    X : dask.array.Array
        Checked by ``validate_dask_X`` (one column chunk, known row chunks).
    dtype : dtype
        float32 or float64, what the blocks are converted to.
    whom : str
        The method, for the messages of the checks of the first pass.
    backend : backend
        The estimator's: the blocks are NumPy/SciPy arrays, so NumpyBackend only.
    non_negative : bool
        Whether X must be non-negative (NMF).
    scale : float, default=None
        X is divided by ``scale`` (see ``scaled``).
    """

    mask = mask_t = host = host_mask = None  # missing values: in memory only

    def __init__(self, X, dtype, whom, *, backend, non_negative, scale=None):
        if not isinstance(backend, NumpyBackend):
            raise ValueError(
                f"{whom} on a dask array runs on NumPy/SciPy blocks: use device=None "
                f"(got a device on {backend!r})."
            )
        self._dask = import_dask()[0]
        self._X, self._whom, self._non_negative = X, whom, non_negative
        self.dtype, self._scale = np.dtype(dtype), scale
        self.backend = backend
        self.rows = tuple(int(n) for n in X.chunks[0])
        self.shape = (sum(self.rows), int(X.shape[1]))
        self._bounds = np.cumsum((0, *self.rows))
        self._xs = list(X.to_delayed().ravel())
        counts = self._sum([self._task(_counts)(X_b, int(offset), self.dtype, scale)
                            for X_b, offset in zip(self._xs, self._bounds)])
        check_block_counts(counts, whom, non_negative)
        self.nnz, self.squared_norm = counts["nnz"], counts["squared_norm"]
        self.total = counts["total"]
        self.max_value, self.max_abs = counts["max_value"], counts["max_abs"]
        self.n_observed_zeros = counts["n_zeros"]
        self._column_sums = counts["column_sums"]
        self.is_sparse = sp.issparse(X._meta) or hasattr(X._meta, "tocsr")
        if _fits_in_memory(_client(), _nbytes(X, self.nnz, self.dtype)):
            self._xs = list(self._dask.persist(
                *[self._task(_block)(X_b, self.dtype, scale) for X_b in self._xs]))
            self._scale = None  # the kept blocks are converted and scaled

    def _task(self, fn):
        from dask import delayed

        return delayed(fn, pure=False)

    def _sum(self, parts):
        return _tree_sum(parts).compute()

    def _split(self, A):
        """An array with X's rows in X's row blocks, sent to the workers (futures with
        a distributed client; the threaded scheduler shares this process's memory)."""
        blocks = [A[a:b] for a, b in zip(self._bounds[:-1], self._bounds[1:])]
        client = _client()
        return client.scatter(blocks, hash=False) if client is not None else blocks

    @property
    def n_observed(self):
        return self.shape[0] * self.shape[1]

    @property
    def n_nonzero(self):
        return self.n_observed - self.n_observed_zeros

    @property
    def mean(self):
        return self.total / max(self.n_observed, 1)

    @property
    def total_variance(self):
        """The sum of the variances of the columns of X, from the first pass's sums."""
        n_samples = self.shape[0]
        column_means = self._column_sums / n_samples
        return self.squared_norm / n_samples - float(column_means @ column_means)

    def scaled(self, scale):
        """X divided by ``scale``, as a new peer (a new pass over X)."""
        return RowBlockMatrix(self._X, self.dtype, self._whom, backend=self.backend,
                              non_negative=self._non_negative, scale=scale)

    def on_numpy(self):
        return self

    def keep_transpose(self):
        """Nothing to keep: ``X.T @ G`` is a pass over the blocks."""

    def matmul(self, G):
        """X @ G, gathered in this process."""
        G = _shared(np.ascontiguousarray(G))
        parts = self._dask.compute(*[self._task(_times)(X_b, G, self.dtype, self._scale)
                                     for X_b in self._xs])
        return np.concatenate(parts, axis=0)

    def rmatmul(self, G):
        """X.T @ G for G with X's rows, summed over the blocks."""
        return self._sum([self._task(_rtimes)(X_b, G_b, self.dtype, self._scale)
                          for X_b, G_b in zip(self._xs, self._split(G))])

    def project(self, Q):
        return self.rmatmul(Q).T

    def rproject(self, Q):
        return self.matmul(Q).T

    def _apply_tasks(self, fn, rows, shared):
        shared = {key: _shared(value) for key, value in shared.items()}
        per_block = zip(*(self._split(A) for A in rows)) if rows else [()] * len(self._xs)
        return [self._task(_apply)(fn, X_b, self.dtype, self._scale, block_rows, shared)
                for X_b, block_rows in zip(self._xs, per_block)]

    def map_blocks(self, fn, *rows, **shared):
        """``fn(block, *rows_of_block, **shared)`` on each row block, stacked by rows."""
        return np.concatenate(self._dask.compute(*self._apply_tasks(fn, rows, shared)), axis=0)

    def sum_blocks(self, fn, *rows, **shared):
        """``fn`` on each row block, its results (sums over rows) added up."""
        return self._sum(self._apply_tasks(fn, rows, shared))


def transform_blocks(X, transform, dtype, n_components, whom, non_negative):
    """``transform`` of each row block of the dask array X, lazily (the rows are
    independent). A negative entry is reported at its row in X, not in its block:
    each block is checked with its offset before it is transformed (duplicates of a
    sparse block summed first, as in memory)."""

    def run(X_b, block_info=None):
        X_b = _block(X_b, dtype)
        if non_negative:
            offset = block_info[0]["array-location"][0][0] if block_info else 0
            n_negative, first = first_negative(X_b)
            if n_negative:
                refuse_negative(n_negative, (first[0] + int(offset), *first[1:]), whom)
        return transform(X_b)

    return X.map_blocks(run, dtype=dtype, chunks=(X.chunks[0], (n_components,)),
                        meta=np.empty((0, 0), dtype=dtype))
