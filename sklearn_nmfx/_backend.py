"""Backends: where the numbers live (NumPy/SciPy on the CPU, or PyTorch on a device).

A backend turns validated NumPy/SciPy input into its own arrays, wraps the data
matrix ``X`` in a :class:`DataMatrix` that offers the few products every kernel
needs (``X @ B``, ``X.T @ B``, values of ``W @ H`` at the stored entries of a
sparse ``X``), and brings results back to NumPy.  Kernels are written once
against this interface and the array-API namespace of their arrays (see
``array_api_compat``), so NumPy and PyTorch share one implementation of each
algorithm.

``torch`` is imported only when a torch device is asked for.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from sklearn.utils.sparsefuncs import mean_variance_axis

from ._kernels import compiled

__all__ = ["resolve_backend", "NumpyBackend", "TorchBackend", "DataMatrix"]

# Rows of W @ H formed at once when a kernel needs W @ H densely (beta losses other
# than 1 and 2 on sparse data): bounds the temporary to about this many entries.
_DENSE_BLOCK_ENTRIES = 2**22

# Rows per block of the Gram matrix F^T F of a tall F on the CPU (see NumpyBackend.gram).
_GRAM_BLOCK_ROWS = 4096

_TORCH_EXTRA_HINT = "install it with: pip install 'sklearn-nmfx[torch]'"


def _import_torch(device_repr):
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised by hiding torch in tests
        raise ImportError(
            f"device={device_repr} needs PyTorch, which is not installed; "
            f"{_TORCH_EXTRA_HINT}."
        ) from exc
    return torch


def resolve_backend(device, *, require_torch=False):
    """Return the backend for a ``device`` parameter value.

    Parameters
    ----------
    device : None, str or torch.device
        ``None`` or ``"cpu"``: NumPy and SciPy (PyTorch is not imported), unless
        ``require_torch`` is true, in which case PyTorch on the CPU.
        ``"torch"``: PyTorch on the CPU. ``"cuda"``, ``"cuda:N"``, ``"mps"``, any other
        PyTorch device string, or a ``torch.device``: PyTorch on that device.
    require_torch : bool, default=False
        Whether the caller can only run on PyTorch (AutogradNMF).

    Returns
    -------
    backend : NumpyBackend or TorchBackend
    """
    if device is None or (isinstance(device, str) and device.strip().lower() == "cpu"):
        if require_torch:
            return TorchBackend(_import_torch(repr(device or "cpu")).device("cpu"))
        return NumpyBackend()
    if isinstance(device, str):
        spec = device.strip().lower()
        if spec in ("torch", "torch:cpu"):
            spec = "cpu"
        torch = _import_torch(repr(device))
        try:
            torch_device = torch.device(spec)
        except (RuntimeError, ValueError) as exc:
            raise ValueError(
                f"device={device!r} is not a device: use None or 'cpu' (NumPy), "
                "'torch' (PyTorch on the CPU), 'cuda', 'cuda:N', 'mps', or a "
                "torch.device."
            ) from exc
        return TorchBackend(torch_device)
    if type(device).__module__ == "torch" and type(device).__name__ == "device":
        torch = _import_torch(repr(device))
        return TorchBackend(device)
    raise TypeError(
        "device must be None, a string such as 'cpu', 'torch', 'cuda' or 'cuda:1', "
        f"or a torch.device; got {type(device).__name__} {device!r}."
    )


# Sparse products with fewer stored entries than this run on one thread.
_PARALLEL_MIN_NNZ = 200_000
# Row-wise dense work (NumpyBackend.map_rows) runs in blocks of about this many
# entries (1 MiB in float64), so that a step's temporaries stay in a core's cache
# and the blocks can share the cores; smaller matrices run in one piece.
_CACHE_BLOCK_ENTRIES = 2**17
# read-only zeros for NumpyBackend's clamps at 0, one block's worth per dtype
_ZEROS = {np.dtype(dtype): np.zeros(_CACHE_BLOCK_ENTRIES, dtype=dtype)
          for dtype in (np.float32, np.float64)}
for _zeros in _ZEROS.values():
    _zeros.flags.writeable = False
del _zeros
_POOL = None
_POOL_LOCK = threading.Lock()


def _cpu_threads():
    """Threads for sparse products: the CPUs this process may use, at most 8, and
    no more than a threadpoolctl limit on BLAS (so ``threadpool_limits(1)`` and
    scikit-learn's parallel jobs keep one thread each)."""
    try:
        n_cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        n_cpus = os.cpu_count() or 1
    blas = [info["num_threads"] for info in _threadpool_controller().info()
            if info["user_api"] == "blas"]
    return max(1, min(8, n_cpus, *blas))


_CONTROLLER = {"n_modules": None, "controller": None}


def _threadpool_controller():
    """threadpoolctl's controller of the native thread pools loaded in the process.

    Finding them scans the loaded libraries (about 2 ms, twice per fit before this
    cache), so the controller is kept and found again only when modules were imported
    since (an import is how a new BLAS arrives). Its ``info()`` and ``limit()`` read
    and set the libraries' current thread counts.
    """
    from threadpoolctl import ThreadpoolController

    n_modules = len(sys.modules)
    if _CONTROLLER["n_modules"] != n_modules:
        _CONTROLLER["controller"] = ThreadpoolController()
        _CONTROLLER["n_modules"] = n_modules
    return _CONTROLLER["controller"]


def _thread_pool():
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="sklearn_nmfx")
        return _POOL


_BLAS_LOCK = threading.Lock()
_BLAS_LIMIT = {"users": 0, "limiter": None}


@contextlib.contextmanager
def _one_blas_thread(controller):
    """BLAS on one thread while any fit of this process is inside, then as it was.

    threadpoolctl's limits are process-wide: two fits in threads that each entered
    and left ``controller.limit(limits=1)`` could restore each other's limit of 1
    and leave BLAS on one thread for good. Here the first to enter sets the limit
    and the last to leave restores the original.
    """
    with _BLAS_LOCK:
        if _BLAS_LIMIT["users"] == 0:
            _BLAS_LIMIT["limiter"] = controller.limit(limits=1)
        _BLAS_LIMIT["users"] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS_LIMIT["users"] -= 1
            if _BLAS_LIMIT["users"] == 0:
                limiter, _BLAS_LIMIT["limiter"] = _BLAS_LIMIT["limiter"], None
                limiter.restore_original_limits()


def _in_pieces(a, value):
    """Whether ``_maximum_in_pieces`` gives ``np.maximum(a, value)``'s result: a
    C-contiguous float ndarray of at least one dimension, and a Python int or float
    (NumPy scalars keep NumPy's own casting rules)."""
    return (type(a) is np.ndarray and a.ndim > 0 and a.dtype in _ZEROS
            and a.flags.c_contiguous and type(value) in (int, float))


def _maximum_in_pieces(a, value, out):
    """``np.maximum(a, value, out=out)`` (:func:`_in_pieces`), in pieces of
    ``_CACHE_BLOCK_ENTRIES`` against an array of the value: the same result, NumPy's
    loop for two arrays is vectorized, the one for a scalar is not."""
    flat, flat_out = a.reshape(-1), out.reshape(-1)
    if value == 0 and math.copysign(1.0, value) > 0:  # -0.0 is kept as -0.0
        fill = _ZEROS[a.dtype]
    else:
        fill = np.full(min(flat.size, _CACHE_BLOCK_ENTRIES), value, dtype=a.dtype)
    step = max(fill.size, 1)  # an empty array: no pieces
    for start in range(0, flat.size, step):
        stop = min(start + step, flat.size)
        np.maximum(flat[start:stop], fill[:stop - start], out=flat_out[start:stop])
    return out


def _squared_norm(values):
    """Sum of squares accumulated in float64 (float32 sums lose ~1e-7 of it); inf
    where it overflows (for X near float64's largest values: the solvers that need
    it work on a scaled copy, whose norm is finite)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    with np.errstate(over="ignore"):
        return float(np.dot(values, values))


def _csr_rows(X, start, stop):
    """Rows start:stop of a CSR matrix as a view: the block shares X's ``data`` and
    ``indices`` (only its ``indptr``, ``stop - start + 1`` integers, is new), where
    ``X[start:stop]`` would copy the rows' stored entries."""
    lo, hi = X.indptr[start], X.indptr[stop]
    # set after construction: SciPy's constructor copies a view of less than half
    # of its base array (scipy.sparse's prune)
    block = sp.csr_matrix((stop - start, X.shape[1]), dtype=X.dtype)
    block.indptr = X.indptr[start:stop + 1] - lo
    block.indices = X.indices[lo:hi]
    block.data = X.data[lo:hi]
    return block


def _csr_transpose(X_csr):
    """X.T in CSR with sorted indices (the conversion writes each row's entries in
    column order), never touching X."""
    Xt_csr = X_csr.T.tocsr()
    return Xt_csr if Xt_csr.has_sorted_indices else Xt_csr.sorted_indices()


def _sparse_mean(X):
    """``X.mean()`` of a sparse X as SciPy computes it (scaled values, then summed),
    read from the stored values (SciPy's own sorts an unsorted X in place)."""
    n_entries = X.shape[0] * X.shape[1]
    return float(np.sum(X.data * (1.0 / n_entries), dtype=X.dtype)) if X.nnz else 0.0


class DataMatrix:
    """The data matrix X of an NMF or SVD problem, in a backend's format.

    The kernels see X through this interface only: the products ``X @ B`` and
    ``X.T @ B``, the values of ``W @ H`` at the stored entries of a sparse X, and
    statistics computed once (squared norm, sum, largest entry, number of observed
    entries). Row-local work goes through :meth:`map_blocks` and
    :meth:`sum_blocks`: in memory X is one block, and the Dask peer
    (``sklearn_nmfx._dask``) runs the same functions on each of its row blocks.

    Parameters
    ----------
    backend : NumpyBackend or TorchBackend
    X : ndarray, scipy CSR matrix, or backend array
        Non-negative data with missing entries (if any) set to zero.
    Xt : same as X, default=None
        X.T in the same format; made on first use of :attr:`T` when not given.
    mask, mask_t : array, default=None
        Dense masks of observed entries of X and X.T (1 where observed, in X's
        dtype so that kernels multiply by it), or None when every entry is observed.
    host, host_mask : ndarray or scipy CSR matrix, default=None
        X and its boolean mask as validated NumPy/SciPy arrays (the starts, ARPACK
        and the minibatches are computed from them).
    """

    def __init__(self, backend, X, Xt=None, *, mask=None, mask_t=None, host=None,
                 host_mask=None, squared_norm, total, max_value):
        self.backend = backend
        self.X = X
        self.Xt = Xt
        self.mask = mask
        self.mask_t = mask_t
        self.host = host
        self.host_mask = host_mask
        self.squared_norm = squared_norm
        self.total = total
        self.max_value = max_value
        self._transposed = None
        self._nonzero_rows = None
        self._row_blocks = None

    @property
    def shape(self):
        return tuple(self.X.shape)

    @property
    def dtype(self):
        """X's dtype, as a NumPy dtype (float32 or float64)."""
        return self.backend.numpy_dtype(self.X)

    @property
    def is_sparse(self):
        return self.backend.is_sparse(self.X)

    @property
    def nnz(self):
        """Stored entries (all entries when X is dense)."""
        return self.backend.nnz(self.X)

    @property
    def n_observed(self):
        """Entries that are not missing."""
        if self.host_mask is None:
            return self.shape[0] * self.shape[1]
        return int(np.count_nonzero(self.host_mask))

    @functools.cached_property
    def n_observed_zeros(self):
        """Observed entries equal to zero."""
        X = self.host
        if sp.issparse(X):  # validated: no stored zeros, no missing entries
            return X.shape[0] * X.shape[1] - X.nnz
        zeros = X == 0
        return int(np.count_nonzero(zeros if self.host_mask is None else zeros & self.host_mask))

    @property
    def n_nonzero(self):
        """Observed entries that are not zero: the same for X stored densely or
        sparsely (unlike ``nnz``)."""
        return self.n_observed - self.n_observed_zeros

    @functools.cached_property
    def mean(self):
        """The mean of X as scikit-learn's NMF start takes it (``X.mean()``)."""
        X = self.host
        if sp.issparse(X):
            return _sparse_mean(X)
        return float(X.mean()) if X.size else 0.0

    @functools.cached_property
    def max_abs(self):
        """The largest magnitude of an entry of X."""
        values = self.host.data if sp.issparse(self.host) else self.host
        return float(np.abs(values).max()) if values.size else 0.0

    @functools.cached_property
    def total_variance(self):
        """The sum of the variances of the columns of X."""
        X = self.host
        with np.errstate(over="ignore", invalid="ignore"):  # overflow: reported by the caller
            if sp.issparse(X):
                return float(mean_variance_axis(X, axis=0)[1].sum())
            return float(np.var(X, axis=0).sum())

    def scaled(self, scale):
        """X divided by ``scale`` (a new data matrix; X is left as it is)."""
        X = self.host
        factor = 1.0 / scale
        X = X * X.dtype.type(factor) if factor < np.finfo(X.dtype).max else X / scale
        return self.backend.data_matrix(X)

    def on_numpy(self):
        """This data matrix on the NumPy backend (itself there; else X's host arrays,
        without a copy of X.T): the starts are computed in NumPy on every device."""
        if isinstance(self.backend, NumpyBackend):
            return self
        return NumpyBackend().data_matrix(self.host, self.host_mask)

    def keep_transpose(self):
        """Make the copy of X.T now (for a fit that multiplies by X.T at every step:
        ``X.T @ G`` then runs on the threads from the start)."""
        self.T  # noqa: B018 - built on first use

    @property
    def T(self):
        """The transposed problem (X.T), built once and shared both ways."""
        if self._transposed is None:
            if self.Xt is None:
                self.Xt = self.backend.transpose(self.X)
            self._transposed = DataMatrix(
                self.backend, self.Xt, self.X, mask=self.mask_t, mask_t=self.mask,
                squared_norm=self.squared_norm, total=self.total, max_value=self.max_value,
            )
            self._transposed._transposed = self
        return self._transposed

    def matmul(self, B):
        """X @ B for a dense B."""
        if self._row_blocks is None:
            self._row_blocks = self.backend.row_blocks(self.X)
        return self.backend.matmul(self.X, B, self._row_blocks)

    def rmatmul(self, B):
        """X.T @ B for a dense B: through the copy of X.T where this data matrix holds
        one (on the threads), else without making one (the same sums)."""
        if self.Xt is not None:
            return self.T.matmul(B)
        return self.X.T @ B

    def project(self, Q):
        """``Q.T @ X`` (a projection of X's columns on the columns of Q)."""
        return self.rmatmul(Q).T if self.is_sparse else Q.T @ self.X

    def rproject(self, Q):
        """``Q.T @ X.T``."""
        return self.matmul(Q).T if self.is_sparse else Q.T @ self.X.T

    def map_blocks(self, fn, *rows, **shared):
        """``fn(block, *rows_of_block, **shared)`` for each row block of X, the results
        stacked by rows; in memory X is one block: ``fn(self, *rows, **shared)``."""
        return fn(self, *rows, **shared)

    def sum_blocks(self, fn, *rows, **shared):
        """Like :meth:`map_blocks`, for an ``fn`` whose results are sums over the rows
        (arrays, numbers or tuples of them): the results of the blocks are added."""
        return fn(self, *rows, **shared)

    @property
    def values(self):
        """The stored entries of a sparse X (in X's CSR order)."""
        return self.backend.sparse_values(self.X)

    def product_at_nonzeros(self, W, Ht):
        """Values of ``W @ Ht.T`` at the stored entries of sparse X, in CSR order."""
        if self.backend.compiled:  # one pass, without the row index of each entry
            return compiled.product_at_nonzeros(self.X, W, Ht)
        if self._nonzero_rows is None:
            self._nonzero_rows = self.backend.nonzero_rows(self.X)
        return self.backend.product_at_nonzeros(self.X, self._nonzero_rows, W, Ht)

    def beta_numerator(self, F, G, *, beta, eps):
        """``(X * max(F @ G.T, eps) ** (beta - 2)) @ G`` over the stored entries of
        sparse X (the numerator of a beta divergence's MU ratio), fused in one pass
        where the backend has a compiled kernel for it."""
        if self.backend.compiled:
            return compiled.beta_numerator(self.X, F, G, beta, eps)
        WH = self.backend.clamp_min(self.product_at_nonzeros(F, G), eps)
        return self.with_values(self.values / WH if beta == 1
                                else self.values * WH ** (beta - 2)) @ G

    def with_values(self, values):
        """Sparse matrix with X's pattern of stored entries and new ``values``."""
        return self.backend.sparse_like(self.X, values)

    def dense_row_blocks(self):
        """Yield (start, stop) row slices sized so W[start:stop] @ H fits a budget."""
        n_rows, n_cols = self.shape
        step = max(1, _DENSE_BLOCK_ENTRIES // max(n_cols, 1))
        for start in range(0, n_rows, step):
            yield start, min(start + step, n_rows)

    def row_block(self, start, stop):
        """Rows start:stop of X (dense, or sparse CSR)."""
        return self.backend.row_slice(self.X, start, stop)


class NumpyBackend:
    """NumPy arrays and SciPy sparse matrices on the CPU."""

    compiled = compiled.AVAILABLE  # fused sparse kernels (numba) where installed

    device = "cpu"
    _n_threads = None
    _blas_controller = None

    def __repr__(self):
        return "NumpyBackend()"

    # conversion -------------------------------------------------------------
    def to_numpy(self, a):
        return np.asarray(a)

    def namespace(self):
        from array_api_compat import numpy as xp

        return xp

    def numpy_dtype(self, a):
        return np.dtype(a.dtype)

    def is_sparse(self, X):
        return sp.issparse(X)

    def index_order(self, X):
        """Validated X as the solvers take it: a sparse X with unsorted indices is
        used in its stored order, which changes only the order of the additions in
        ``X @ B`` (results equal to rounding), where a sorted copy would cost X's
        size in memory and the time of the sort."""
        return X

    def data_matrix(self, X, mask=None):
        """Wrap validated X (ndarray or scipy sparse, non-negative, NaN set to 0) and
        its boolean mask of observed entries (None when all are). The copy of X.T
        (CSR for sparse X) is made on first use of ``.T``."""
        if sp.issparse(X):
            X_csr = X.tocsr()
            vals = X_csr.data
            return DataMatrix(
                self, X_csr, host=X_csr,
                squared_norm=_squared_norm(vals), total=float(vals.sum(dtype=np.float64)),
                max_value=float(vals.max()) if vals.size else 0.0,
            )
        X = np.asarray(X)
        weights = None if mask is None else np.asarray(mask, dtype=X.dtype)
        return DataMatrix(
            self, X, mask=weights,
            mask_t=None if weights is None else np.ascontiguousarray(weights.T),
            host=X, host_mask=mask,
            squared_norm=_squared_norm(X), total=float(X.sum(dtype=np.float64)),
            max_value=float(X.max()) if X.size else 0.0,
        )

    def transpose(self, X):
        """X.T as the solvers take it: CSR with sorted indices, or C-contiguous."""
        return _csr_transpose(X) if sp.issparse(X) else np.ascontiguousarray(X.T)

    # sparse helpers ---------------------------------------------------------
    def sparse_values(self, X):
        return X.data

    def nnz(self, X):
        return X.nnz if sp.issparse(X) else X.size

    def row_blocks(self, X):
        """Row blocks of a large CSR X with equal shares of its non-zeros, one per
        thread, or None where one thread does (dense X, small X, one core)."""
        if not sp.issparse(X) or X.nnz < _PARALLEL_MIN_NNZ:
            return None
        n_threads = self.n_threads  # asks threadpoolctl: only for large X
        if n_threads < 2:
            return None
        cuts = np.searchsorted(X.indptr, np.linspace(0, X.nnz, n_threads + 1)[1:-1])
        bounds = [0, *(int(c) for c in cuts), X.shape[0]]
        return [(a, b, _csr_rows(X, a, b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]

    def matmul(self, X, B, row_blocks=None):
        """X @ B; a large sparse X is multiplied in row blocks on threads: in SciPy's
        product (single-threaded, it releases the GIL), or, for float64 and a B of
        many columns, in the compiled one where numba is installed
        (``compiled.takes_sparse_product``; SciPy's result bit for bit).

        In SciPy's product a thread forms its rows of the result in pieces of
        about ``_CACHE_BLOCK_ENTRIES`` entries, each copied into the result: SciPy's
        product has no output argument, and whole blocks would make a temporary
        the size of the result. The compiled one writes its rows in place.
        """
        if row_blocks is None:
            return X @ B
        if self.compiled and compiled.takes_sparse_product(X, B):
            return compiled.sparse_dense_product(X, np.ascontiguousarray(B),
                                                 [(a, b) for a, b, _ in row_blocks],
                                                 _thread_pool())
        B = np.ascontiguousarray(B)  # once: SciPy would copy it for every piece
        out = np.empty((X.shape[0], B.shape[1]), dtype=np.result_type(X.dtype, B.dtype))
        rows_per_piece = max(1, _CACHE_BLOCK_ENTRIES // max(B.shape[1], 1))

        def multiply(block):
            start, stop, X_block = block
            for a in range(0, stop - start, rows_per_piece):
                b = min(a + rows_per_piece, stop - start)
                out[start + a:start + b] = _csr_rows(X_block, a, b) @ B

        list(_thread_pool().map(multiply, row_blocks))
        return out

    def map_rows(self, fn, F, G):
        """``fn(F_rows, G_rows) -> partial_sum`` over row blocks of F and G.

        ``fn`` may update its rows of F in place (they are views of F) and returns a
        0-d partial sum. The rows are cut in blocks of about ``_CACHE_BLOCK_ENTRIES``
        entries, fixed by the shape alone, and the partial sums are added in block
        order, so the result does not depend on the number of threads; the blocks
        are shared between the cores. Returns the sum. ``fn`` must treat rows
        independently.
        """
        n_rows, n_cols = F.shape
        rows_per_block = max(1, _CACHE_BLOCK_ENTRIES // max(n_cols, 1))
        n_blocks = -(-n_rows // rows_per_block)
        if n_blocks == 1:
            return float(fn(F, G))
        partials = [0.0] * n_blocks

        def run(first_block, stop_block):
            for block in range(first_block, stop_block):
                start = block * rows_per_block
                stop = min(start + rows_per_block, n_rows)
                partials[block] = fn(F[start:stop], G[start:stop])

        n_threads = min(n_blocks, self.n_threads)
        if n_threads == 1:
            run(0, n_blocks)
        else:
            bounds = np.linspace(0, n_blocks, n_threads + 1).astype(int)
            with self.own_threads():
                futures = [_thread_pool().submit(run, a, b)
                           for a, b in zip(bounds[1:-1], bounds[2:])]
                run(bounds[0], bounds[1])  # the calling thread takes the first share
                for future in futures:
                    future.result()
        return math.fsum(float(p) for p in partials)

    def own_threads(self, data=None):
        """Context for work that this backend splits between its own threads.

        With more than one thread, BLAS runs on one thread meanwhile: nested BLAS
        threads would oversubscribe the cores, and OpenBLAS's threads stay
        busy-waiting for a while after each multi-threaded call (the small Gram
        products of a fit), which took a core from the sparse products' threads.
        Given the
        ``data`` of a fit, a dense X keeps BLAS's threads: they do its large
        products.
        """
        if self.n_threads > 1 and (data is None or data.is_sparse):
            return _one_blas_thread(self._blas)
        return contextlib.nullcontext()

    @property
    def n_threads(self):
        """Threads for row-wise work, read once per backend (one per fit)."""
        if self._n_threads is None:
            self._n_threads = _cpu_threads()
        return self._n_threads

    @property
    def _blas(self):
        """threadpoolctl's handle on the loaded BLAS libraries, found once per backend."""
        if self._blas_controller is None:
            self._blas_controller = _threadpool_controller().select(user_api="blas")
        return self._blas_controller

    def sparse_like(self, X, values):
        return sp.csr_matrix((values, X.indices, X.indptr), shape=X.shape)

    def nonzero_rows(self, X):
        """Row index of each stored entry of a CSR matrix."""
        return np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))

    def product_at_nonzeros(self, X, rows, W, Ht):
        out = np.empty(X.nnz, dtype=W.dtype)
        step = max(1, _DENSE_BLOCK_ENTRIES // max(W.shape[1], 1))
        for start in range(0, X.nnz, step):
            stop = min(start + step, X.nnz)
            out[start:stop] = np.einsum(
                "ij,ij->i", W[rows[start:stop]], Ht[X.indices[start:stop]]
            )
        return out

    def row_slice(self, X, start, stop):
        """Rows start:stop of X: a view of its stored entries for sparse X."""
        return _csr_rows(X, start, stop) if sp.issparse(X) else X[start:stop]

    def densify(self, X):
        return X.toarray() if sp.issparse(X) else X

    # dense helpers ----------------------------------------------------------
    def from_numpy(self, a):
        return a

    def bool_array(self, a):
        return np.asarray(a, dtype=bool)

    def clamp_min(self, a, value):
        """max(a, value) elementwise, as a new array (np.maximum is 3x faster than clip;
        in pieces against an array of the value, as :meth:`clamp_min_`)."""
        if _in_pieces(a, value):
            return _maximum_in_pieces(a, value, np.empty_like(a))
        return np.maximum(a, value)

    def clamp_min_(self, a, value):
        """max(a, value) elementwise, in place.

        A contiguous float array and a Python number are compared as an array of
        the value (zeros for 0), in pieces: NumPy's ``maximum`` with a scalar does
        not use its vectorized loop, and is 1.7 to 2 x (float64) to 3.5 x (float32)
        slower.
        """
        if _in_pieces(a, value):
            return _maximum_in_pieces(a, value, a)
        return np.maximum(a, value, out=a)

    def scalar(self, a):
        """A 0-d array as a Python float (a host sync on accelerators)."""
        return float(a)

    def lu_basis(self, Y):
        """``P L`` of the LU factorization of a tall Y: a basis of its range, 4-5 x
        cheaper than QR's, not orthonormal (Y is overwritten)."""
        from scipy import linalg

        return linalg.lu(Y, permute_l=True, overwrite_a=True, check_finite=False)[0]

    def sum_of_squares(self, a):
        """``sum(a * a)`` of a contiguous array, as one BLAS dot product (0-d)."""
        flat = a.reshape(-1)
        return np.dot(flat, flat)

    def qr_basis(self, Y):
        """The orthonormal Q of the thin QR factorization of a tall Y (Y is
        overwritten): LAPACK works in place on Fortran order only."""
        from scipy import linalg

        return linalg.qr(np.asfortranarray(Y), mode="economic", overwrite_a=True,
                         check_finite=False)[0]

    def gram(self, F):
        """``F.T @ F`` of a tall F, summed over row blocks: OpenBLAS threads one large
        tall-skinny product badly, while blocks of ``_GRAM_BLOCK_ROWS`` take
        milliseconds."""
        return _blocked_gram(F)

    def inner(self, a, b):
        """``sum(a * b)`` accumulated in float64 (0-d): in float32 the terms of the
        Frobenius objective, which nearly cancel, would lose about 1e-7 of it."""
        return np.tensordot(a.astype(np.float64, copy=False), b.astype(np.float64, copy=False),
                            axes=a.ndim)

    def contiguous_transpose(self, a):
        return np.ascontiguousarray(a.T)


class TorchBackend:
    """PyTorch tensors (sparse CSR for sparse X) on one torch device."""

    compiled = False

    def __init__(self, device):
        import torch

        self.torch = torch
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                f"device={str(device)!r} was requested, but CUDA is not available "
                "(torch.cuda.is_available() is False): no NVIDIA GPU, driver or "
                "CUDA build of PyTorch on this machine. Use device=None for the CPU."
            )
        if device.type == "cuda" and device.index is not None:
            if device.index >= torch.cuda.device_count():
                raise RuntimeError(
                    f"device={str(device)!r} was requested, but only "
                    f"{torch.cuda.device_count()} CUDA device(s) are visible."
                )
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise RuntimeError(
                "device='mps' was requested, but the MPS backend is not available "
                "on this machine."
            )
        if device.type == "meta":
            raise ValueError(
                f"device={str(device)!r} is not a device to compute on: meta tensors hold "
                "no data. Use None or 'cpu' (NumPy), 'torch', 'cuda' or 'mps'."
            )
        if device.type not in ("cpu", "cuda", "mps"):
            try:  # xpu, hpu, privateuse1...: usable only where PyTorch can allocate there
                torch.empty(1, device=device)
            except Exception as exc:  # RuntimeError, or ImportError of torch.hpu...
                raise RuntimeError(
                    f"device={str(device)!r} was requested, but PyTorch cannot use it on "
                    f"this machine ({exc})."
                ) from exc
        self.device = device

    def __repr__(self):
        return f"TorchBackend({str(self.device)!r})"

    def namespace(self):
        from array_api_compat import torch as xp

        return xp

    def _dtype(self, np_dtype):
        torch = self.torch
        dtype = {np.dtype(np.float32): torch.float32,
                 np.dtype(np.float64): torch.float64}[np.dtype(np_dtype)]
        if dtype == torch.float64 and self.device.type == "mps":
            raise TypeError(
                "float64 data cannot run on device='mps' (the MPS backend has no "
                "float64); convert X to float32 first."
            )
        return dtype

    def from_numpy(self, a):
        a = np.ascontiguousarray(a)
        if not a.flags.writeable:  # read-only (or memory-mapped) input: PyTorch would
            a = a.copy()           # share it writable, and warns; it gets a copy
        return self.torch.from_numpy(a).to(self.device, dtype=self._dtype(a.dtype))

    def bool_array(self, a):
        return self.torch.as_tensor(np.asarray(a, dtype=bool), device=self.device)

    def numpy_dtype(self, a):
        return np.dtype(str(a.dtype).removeprefix("torch."))

    def to_numpy(self, a):
        if isinstance(a, self.torch.Tensor):
            return a.detach().cpu().numpy()
        return np.asarray(a)

    def is_sparse(self, X):
        return isinstance(X, self.torch.Tensor) and X.layout == self.torch.sparse_csr

    def _csr_tensor(self, X_csr):
        torch = self.torch
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Sparse CSR tensor support is in beta")
            return torch.sparse_csr_tensor(
                torch.from_numpy(X_csr.indptr.astype(np.int64)),
                torch.from_numpy(X_csr.indices.astype(np.int64)),
                torch.from_numpy(X_csr.data if X_csr.data.flags.writeable
                                 else X_csr.data.copy()),
                size=X_csr.shape,
                dtype=self._dtype(X_csr.dtype),
                check_invariants=False,
            ).to(self.device)

    def index_order(self, X):
        """Validated X with sorted indices (a copy where they are not): torch's CSR
        tensors ask for them, and the NumPy work of a fit (its start) then sees the
        same X as the tensors, so that results do not depend on the stored order."""
        if sp.issparse(X) and not X.has_sorted_indices:
            return X.sorted_indices()
        return X

    def data_matrix(self, X, mask=None):
        """Wrap validated X (and its boolean mask) as tensors on the device, with X.T
        (PyTorch's CSR products want both in CSR, sorted)."""
        if sp.issparse(X):
            X_csr = X.tocsr()
            if not X_csr.has_sorted_indices:
                X_csr = X_csr.sorted_indices()  # a copy: X itself is left as it is
            vals = X_csr.data
            return DataMatrix(
                self, self._csr_tensor(X_csr), self._csr_tensor(_csr_transpose(X_csr)),
                host=X_csr, squared_norm=_squared_norm(vals),
                total=float(vals.sum(dtype=np.float64)),
                max_value=float(vals.max()) if vals.size else 0.0,
            )
        X = np.asarray(X)
        Xd = self.from_numpy(X)
        m = None if mask is None else self.from_numpy(np.asarray(mask, dtype=X.dtype))
        return DataMatrix(
            self, Xd, Xd.T.contiguous(), mask=m,
            mask_t=None if m is None else m.T.contiguous(), host=X, host_mask=mask,
            squared_norm=_squared_norm(X), total=float(X.sum(dtype=np.float64)),
            max_value=float(X.max()) if X.size else 0.0,
        )

    def sparse_values(self, X):
        return X.values()

    def row_blocks(self, X):
        return None  # PyTorch's sparse product is multi-threaded already

    def matmul(self, X, B, row_blocks=None):
        return X @ B

    def map_rows(self, fn, F, G):
        """``fn(F, G)``: PyTorch runs the whole matrix at once, on its own threads."""
        return fn(F, G)

    def nnz(self, X):
        return int(X.values().shape[0]) if self.is_sparse(X) else X.numel()

    def sparse_like(self, X, values):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Sparse CSR tensor support is in beta")
            return self.torch.sparse_csr_tensor(
                X.crow_indices(), X.col_indices(), values, size=X.shape,
                check_invariants=False,
            )

    def nonzero_rows(self, X):
        crow = X.crow_indices()
        return self.torch.repeat_interleave(
            self.torch.arange(X.shape[0], device=self.device), crow[1:] - crow[:-1]
        )

    def product_at_nonzeros(self, X, rows, W, Ht):
        torch = self.torch
        col = X.col_indices()
        nnz = col.shape[0]
        out = torch.empty(nnz, dtype=W.dtype, device=self.device)
        step = max(1, _DENSE_BLOCK_ENTRIES // max(W.shape[1], 1))
        for start in range(0, nnz, step):
            stop = min(start + step, nnz)
            out[start:stop] = (W[rows[start:stop]] * Ht[col[start:stop]]).sum(dim=1)
        return out

    def row_slice(self, X, start, stop):
        if self.is_sparse(X):
            crow = X.crow_indices()
            lo, hi = int(crow[start]), int(crow[stop])
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*Sparse CSR tensor support is in beta")
                return self.torch.sparse_csr_tensor(
                    crow[start:stop + 1] - lo, X.col_indices()[lo:hi], X.values()[lo:hi],
                    size=(stop - start, X.shape[1]), check_invariants=False,
                )
        return X[start:stop]

    def densify(self, X):
        return X.to_dense() if self.is_sparse(X) else X

    def clamp_min(self, a, value):
        return self.torch.clamp(a, min=value)

    def clamp_min_(self, a, value):
        return a.clamp_(min=value)

    def scalar(self, a):
        return float(a)

    def lu_basis(self, Y):
        """``P L`` of the LU factorization of a tall Y: a basis of its range."""
        P, L, _ = self.torch.linalg.lu(Y)
        return P @ L

    def sum_of_squares(self, a):
        """``sum(a * a)`` as one dot product (0-d tensor, no host sync)."""
        flat = a.reshape(-1)
        return self.torch.dot(flat, flat)

    def qr_basis(self, Y):
        """The orthonormal Q of the thin QR factorization of a tall Y."""
        return self.torch.linalg.qr(Y)[0]

    def gram(self, F):
        """``F.T @ F`` of a tall F: summed over row blocks on the CPU (PyTorch threads
        one large tall-skinny product badly there), at once on an accelerator."""
        return _blocked_gram(F) if self.device.type == "cpu" else F.T @ F

    def inner(self, a, b):
        """``sum(a * b)`` accumulated in float64 (0-d tensor)."""
        return self.torch.tensordot(a.double(), b.double(), dims=a.dim())

    def contiguous_transpose(self, a):
        return a.T.contiguous()

    def own_threads(self, data=None):
        """PyTorch runs its own threads: nothing to do."""
        return contextlib.nullcontext()


def _blocked_gram(F):
    """``F.T @ F``, summed over blocks of ``_GRAM_BLOCK_ROWS`` rows when F is tall."""
    if F.shape[0] <= 2 * _GRAM_BLOCK_ROWS:
        return F.T @ F
    out = None
    for start in range(0, F.shape[0], _GRAM_BLOCK_ROWS):
        block = F[start:start + _GRAM_BLOCK_ROWS]
        out = block.T @ block if out is None else out + block.T @ block
    return out

