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


def _jit(fn):
    return numba.njit(cache=True, nogil=True, parallel=True)(fn) if AVAILABLE else None


def _product_at_nonzeros(indptr, indices, W, Ht, out):
    for i in numba.prange(indptr.shape[0] - 1):
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            s = 0.0
            for c in range(W.shape[1]):
                s += W[i, c] * Ht[j, c]
            out[p] = s


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


product_at_nonzeros_kernel = _jit(_product_at_nonzeros)
beta_numerator_kernel = _jit(_beta_numerator)


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
