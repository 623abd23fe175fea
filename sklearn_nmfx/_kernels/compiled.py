"""Compiled kernels (numba), with the pure NumPy path chosen where numba is absent.

Each kernel here fuses a loop that NumPy can only write as several passes with
temporaries (a gather of factor rows per stored entry, say). They are compiled on
first use and cached on disk (``cache=True``): a machine pays the compile cost once.

Set the environment variable ``SKLEARN_NMFX_NUMBA=0`` before importing the package
to use the NumPy path although numba is installed (CI tests both paths).
"""

import os

import numpy as np

try:
    if os.environ.get("SKLEARN_NMFX_NUMBA", "1") == "0":
        raise ImportError("disabled by SKLEARN_NMFX_NUMBA=0")
    import numba
except ImportError:
    numba = None

AVAILABLE = numba is not None


def _jit(fn, parallel=True):
    return numba.njit(cache=True, nogil=True, parallel=parallel)(fn) if AVAILABLE else None

# Rows of a fast MU repeat (Frobenius) per block: the movement of a repeat is summed
# block by block in block order, so it does not depend on the number of threads.
FROBENIUS_BLOCK_ENTRIES = 2**13
# A factor with fewer entries than this runs its repeats on one thread: a parallel
# region costs tens of microseconds, more than such a repeat's arithmetic.
FROBENIUS_PARALLEL_ENTRIES = 2**16
# MUNMF uses the fused repeats up to this many components (see mu._fused).
FROBENIUS_MAX_COMPONENTS = 10
# Rows of F per block of a column sweep: the block's columns of F and C and the
# residual stay in the core's caches (L1 at a few components, L2 at 10) while the
# sweep runs over them.
COLUMN_SWEEP_BLOCK_ROWS = 256
# ``X @ B`` for a large CSR X (one the backend splits between threads) of float64
# runs in the compiled product from this many columns of B: below, SciPy's product
# on the same threads was as fast or faster (20 Newsgroups, 2 cores: SciPy's faster
# at 10 columns, even at 5 and 15; the compiled one 10% faster at 20 and 1.7 times
# at 100; benchmarks/README.md). float32 fits ran no faster with it: they keep SciPy's.
SPARSE_PRODUCT_MIN_COLUMNS = 20


def _product_at_nonzeros(indptr, indices, W, Ht, out):
    for i in numba.prange(indptr.shape[0] - 1):
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            s = 0.0
            for c in range(W.shape[1]):
                s += W[i, c] * Ht[j, c]
            out[p] = s


def _sparse_rows_product(indptr, indices, values, B, out, start, stop):
    """Rows ``start:stop`` of ``X @ B`` into ``out`` (X in CSR arrays)."""
    k = B.shape[1]
    row = np.empty(k, dtype=out.dtype)
    for i in range(start, stop):
        row[:] = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            v = values[p]
            B_j = B[indices[p]]
            for c in range(k):
                row[c] += v * B_j[c]
        out[i, :] = row


def _beta_numerator(indptr, indices, values, F, G, beta, eps, out):
    n_components = F.shape[1]
    for i in numba.prange(indptr.shape[0] - 1):
        for c in range(n_components):
            out[i, c] = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            s = 0.0
            for c in range(n_components):
                s += F[i, c] * G[j, c]
            s = max(s, eps)
            if beta == 1.0:
                v = values[p] / s
            else:
                v = values[p] * s ** (beta - 2.0)
            for c in range(n_components):
                out[i, c] += v * G[j, c]


def _frobenius_finish(F, FM, C, block_rows, partials):
    """``F <- max(FM + C, 0)`` in place for a product ``FM = F @ M`` made by BLAS;
    returns the squared norm of the change (summed block by block, in order)."""
    n_rows, k = F.shape
    n_blocks = partials.shape[0]
    for block in numba.prange(n_blocks):
        start = block * block_rows
        stop = min(start + block_rows, n_rows)
        moved = 0.0
        for i in range(start, stop):
            for j in range(k):
                value = max(FM[i, j] + C[i, j], 0.0)
                change = value - F[i, j]
                moved += change * change
                F[i, j] = value
        partials[block] = moved
    total = 0.0
    for block in range(n_blocks):
        total += partials[block]
    return total


def _column_sweep(Ft, Ct, Hs, inv, block_rows, partials):
    """One sweep of exact column steps (HALS) on F, kept transposed (``Ft``,
    ``k x n_rows``, rows of F as its columns): for each block of rows, column ``c``
    becomes ``max(F[:, c] + (C[:, c] - F @ Hs[:, c]) * inv[c], 0)`` in turn (the
    later columns see the new earlier ones); ``inv[c] == 0`` leaves column ``c`` as
    it is. Every loop runs over a contiguous block of a row of ``Ft``, which the
    compiler vectorizes. Returns the squared norm of the change, summed block by
    block in order."""
    k, n_rows = Ft.shape
    n_blocks = partials.shape[0]
    for block in range(n_blocks):
        start = block * block_rows
        m = min(block_rows, n_rows - start)
        residual = np.empty(m, dtype=Ft.dtype)
        moved = np.zeros(m, dtype=Ft.dtype)
        for c in range(k):
            step = inv[c]
            if step == 0.0:
                continue
            C_c = Ct[c, start:start + m]
            for t in range(m):
                residual[t] = C_c[t]
            for j in range(k):
                h = Hs[c, j]
                F_j = Ft[j, start:start + m]
                for t in range(m):
                    residual[t] -= h * F_j[t]
            F_c = Ft[c, start:start + m]
            for t in range(m):
                value = max(F_c[t] + residual[t] * step, 0.0)
                change = value - F_c[t]
                moved[t] += change * change
                F_c[t] = value
        block_moved = 0.0
        for t in range(m):
            block_moved += moved[t]
        partials[block] = block_moved
    total = 0.0
    for block in range(n_blocks):
        total += partials[block]
    return total


def _write_back(F, Ft):
    """``F[...] = Ft.T``; returns ``sum(|Ft.T - F|)`` (the L1 change, in row order)."""
    n_rows, k = F.shape
    total = 0.0
    for i in range(n_rows):
        for c in range(k):
            value = Ft[c, i]
            total += abs(value - F[i, c])
            F[i, c] = value
    return total


product_at_nonzeros_kernel = _jit(_product_at_nonzeros)
# one thread per call: the callers split the rows between their threads (an OpenMP
# region's threads would spin after it, taking the cores from the fit's other work)
sparse_rows_product_kernel = _jit(_sparse_rows_product, parallel=False)
beta_numerator_kernel = _jit(_beta_numerator)
frobenius_finish_kernels = (_jit(_frobenius_finish, parallel=False), _jit(_frobenius_finish))


def frobenius_repeats(F, M, C, n_repeats, delta):
    """The fast MU repeats of ``mu.frobenius_update`` on F (C-contiguous, written
    over): each repeat is BLAS's ``F @ M`` into one buffer, then one fused pass that
    adds C, clamps at zero, sums the squared change and writes F (NumPy needs five
    passes and a temporary for that), on the cores only where F is large. Stops
    once a repeat moves F by at most ``delta`` times the first (in norm); returns
    the number of repeats run.

    The result of a row depends on that row only, and the movement that stops the
    repeats is summed in a fixed block order: it is the same on any number of
    threads. (Forming ``F @ M`` in the same pass was measured slower than BLAS's
    product even at k=5: the pass is compute-bound there, and BLAS vectorizes it.)
    """
    n_rows, k = F.shape
    block_rows = max(1, FROBENIUS_BLOCK_ENTRIES // max(k, 1))
    n_blocks = max(1, -(-n_rows // block_rows))
    finish = frobenius_finish_kernels[int(F.size >= FROBENIUS_PARALLEL_ENTRIES)]
    partials = np.empty(n_blocks, dtype=np.float64)
    FM = np.empty_like(F)
    first = None
    for repeat in range(n_repeats):
        np.matmul(F, M, out=FM)
        moved = finish(F, FM, C, block_rows, partials)
        if first is None:
            first = moved
        elif moved <= delta * delta * first:
            return repeat + 1
    return n_repeats


# one thread: two ran no faster (26576 x 10, 0.42 ms a sweep either way), and a fresh
# process then loads one kernel less (the cold fit of the README's job)
column_sweep_kernel = _jit(_column_sweep, parallel=False)
write_back_kernel = _jit(_write_back, parallel=False)


def column_sweeps(F, XG, l1, Hs, inv, n_sweeps, delta):
    """The repeats of ``mu.frobenius_update``'s column rule on F (C-contiguous,
    written over): sweeps of exact column steps (HALS) on the fixed products, in
    one compiled pass each, on one thread. ``XG`` is ``X @ G`` (left as it is),
    ``l1`` the L1 penalty, ``Hs`` the Hessian ``G^T G + l2 I`` and ``inv`` the
    inverses of its diagonal (0 for a column to leave as it is). Stops once a sweep
    moves F by at most ``delta`` times the first (in norm), or not at all; returns
    the number of sweeps run and the L1 change of F, ``sum(|F_new - F|)`` (the
    stopping rule of MUNMF's fit, which then needs no copy of F).

    F and ``XG - l1`` are transposed into scratch once per call (the sweeps run
    over columns of F), and F written back at the end, in the pass that sums the
    change. The result of a row of F depends on that row only, and the movement
    that stops the sweeps is summed in a fixed block order.
    """
    n_rows = F.shape[0]
    block_rows = COLUMN_SWEEP_BLOCK_ROWS
    n_blocks = max(1, -(-n_rows // block_rows))
    partials = np.empty(n_blocks, dtype=np.float64)
    Ft = F.T.copy()  # a copy even where F.T is contiguous (one column): F keeps the start
    Ct = XG.T.copy()
    if l1:
        Ct -= l1
    Hs = np.ascontiguousarray(Hs, dtype=F.dtype)
    inv = np.ascontiguousarray(inv, dtype=F.dtype)
    first = None
    n_run = n_sweeps
    for sweep_number in range(1, n_sweeps + 1):
        moved = column_sweep_kernel(Ft, Ct, Hs, inv, block_rows, partials)
        if first is None:
            first = moved
        if moved <= delta * delta * first:  # at the first sweep: only if F did not move
            n_run = sweep_number
            break
    return n_run, write_back_kernel(F, Ft)


def sparse_dense_product(X, B, row_bounds=None, pool=None):
    """``X @ B`` for CSR X and a dense, C-contiguous B of X's dtype: each row's sum
    runs over its stored entries in stored order, as SciPy's product does, so the
    result is SciPy's bit for bit (tests/test_compiled.py), without its temporaries.
    With ``row_bounds`` (``[(start, stop), ...]``) and a ``concurrent.futures`` pool,
    each range of rows runs on one of the pool's threads."""
    out = np.empty((X.shape[0], B.shape[1]), dtype=B.dtype)

    def rows(bounds):
        sparse_rows_product_kernel(X.indptr, X.indices, X.data, B, out, *bounds)

    if row_bounds is None or pool is None:
        rows((0, X.shape[0]))
    else:
        list(pool.map(rows, row_bounds))
    return out


def takes_sparse_product(X, B):
    """Whether :func:`sparse_dense_product` takes ``X @ B`` and is worth it: CSR X and
    a 2-d B, both float64, of matching shapes, B of at least
    ``SPARSE_PRODUCT_MIN_COLUMNS`` columns, on a machine where the kernel adds as
    SciPy's product does (:func:`_adds_as_scipy`)."""
    return (AVAILABLE and getattr(X, "format", None) == "csr" and getattr(B, "ndim", 0) == 2
            and X.dtype == np.float64 and B.dtype == np.float64
            and B.shape[0] == X.shape[1] and B.shape[1] >= SPARSE_PRODUCT_MIN_COLUMNS
            and _adds_as_scipy())


_ADDS_AS_SCIPY = []


def _adds_as_scipy():
    """Whether the compiled product rounds as SciPy's does on this machine, asked once
    per process. SciPy's C++ loop may be compiled with fused multiply-adds (its
    wheels for ARM are: one rounding per ``y += a * x``) where numba's kernel rounds
    the product and the sum apart; a row of ``1 * -1 + (1 + 2**-30)**2`` tells them
    apart (2**-29 rounded apart, 2**-29 + 2**-60 fused). B has two columns, so that
    SciPy takes its loop for many columns, the one the fits use (one column would
    take its matrix-vector loop)."""
    if not _ADDS_AS_SCIPY:
        import scipy.sparse as sp

        a = 1.0 + 2.0**-30
        X = sp.csr_matrix((np.array([1.0, a]), np.array([0, 1], dtype=np.int32),
                           np.array([0, 2], dtype=np.int32)), shape=(1, 2))
        B = np.array([[-1.0, -1.0], [a, a]])
        _ADDS_AS_SCIPY.append(bool(np.array_equal(sparse_dense_product(X, B), X @ B)))
    return _ADDS_AS_SCIPY[0]


def product_at_nonzeros(X, W, Ht):
    """``(W @ Ht.T)[i, j]`` at each stored entry (i, j) of the CSR matrix X, in CSR
    order, in one pass (no gathered copies of the rows of W and Ht)."""
    out = np.empty(X.nnz, dtype=W.dtype)
    product_at_nonzeros_kernel(X.indptr, X.indices, W, Ht, out)
    return out


def beta_numerator(X, F, G, beta, eps):
    """``(X * max(F @ G.T, eps) ** (beta - 2)) @ G`` for CSR X, at its stored entries
    only, in one pass: the numerator of the MU ratio of F for a beta divergence."""
    out = np.empty_like(F)
    beta_numerator_kernel(X.indptr, X.indices, X.data, F, G, float(beta), float(eps), out)
    return out
