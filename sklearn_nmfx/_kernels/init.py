"""Starting points for NMF: random, NNDSVD and its variants, as scikit-learn computes them.

Everything here runs in NumPy on the CPU, from the same ``random_state``, so every
backend starts from the same W and H (the estimator moves them to its device).
"""

import numpy as np
import scipy.sparse as sp
from scipy import linalg
from sklearn.utils import check_random_state
from sklearn.utils.extmath import randomized_svd, svd_flip

INIT_METHODS = ("random", "nndsvd", "nndsvda", "nndsvdar", "custom")


def resolve_init(init, n_components, n_samples, n_features):
    """The init method to use: scikit-learn's default is 'nndsvda' when it applies."""
    if init is None:
        return "nndsvda" if n_components <= min(n_samples, n_features) else "random"
    if init in ("nndsvd", "nndsvda", "nndsvdar") and n_components > min(n_samples, n_features):
        raise ValueError(
            f"init={init!r} can only be used when n_components <= min(n_samples, "
            f"n_features) = {min(n_samples, n_features)}; got n_components="
            f"{n_components}. Use init='random' or fewer components."
        )
    return init


# SciPy's X.sum(), X.mean() and X.max() sum duplicates first, which sorts the indices
# of an unsorted X in place, in the caller's matrix: validated X has no duplicates, so
# these read the stored values instead.
def entry_sum(X):
    """``X.sum()``, for sparse X over its stored values."""
    return float((X.data if sp.issparse(X) else X).sum())


def _mean(X):
    """``X.mean()``; for sparse X as SciPy computes it (scaled values, then summed)."""
    if not sp.issparse(X):
        return float(X.mean()) if X.size else 0.0
    n_entries = X.shape[0] * X.shape[1]
    return float(np.sum(X.data * (1.0 / n_entries), dtype=X.dtype)) if X.nnz else 0.0


def _largest(X):
    """``X.max()`` of a non-negative X."""
    values = X.data if sp.issparse(X) else X
    return float(values.max()) if values.size else 0.0


def initialize_factors(X, n_components, init, random_state, eps=1e-6, data=None):
    """Initial W (n_samples, n_components) and H (n_components, n_features).

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Non-negative data, missing entries set to zero.
    n_components : int
    init : {'random', 'nndsvd', 'nndsvda', 'nndsvdar'}
        As in :class:`sklearn.decomposition.NMF`, with identical results for the
        same ``random_state``.
    random_state : int, RandomState instance or None
    eps : float, default=1e-6
        NNDSVD entries below ``eps`` are set to zero (then filled for 'a'/'ar'); below
        ``X.max()`` when X is smaller than ``eps`` (scikit-learn's absolute
        threshold would zero the whole start there).
    data : DataMatrix, default=None
        X on the NumPy backend. For sparse X its threaded products (``X @ B``, and
        ``X.T @ B`` through its CSR copy of X.T where it holds one) replace SciPy's
        single-threaded ones in the randomized SVD, with the same results.

    Returns
    -------
    W, H : ndarray
        Of X's dtype.
    """
    dtype = X.dtype
    if init == "random":
        return random_start(_mean(X), X.shape, n_components, dtype, random_state)

    # the mean of a sparse X copies its values: taken before the SVD's temporaries
    # and the factors exist, it adds nothing to the peak
    avg = _mean(X) if init != "nndsvd" else None
    if sp.issparse(X):
        products = (None, None)
        if data is not None:  # X.T's products where data holds X.T (else SciPy's)
            products = (data.matmul, data.T.matmul if data.Xt is not None else None)
        U, S, V = sparse_randomized_svd(X, n_components, random_state, *products)
    else:
        U, S, V = randomized_svd(X, n_components, random_state=random_state)
    eps = nndsvd_threshold(eps, _largest(X))
    use_p, lbd = nndsvd_weights(S, split_norms(U), split_norms(V.T))
    W = nndsvd_factor(U, S, use_p, lbd, split_norms(U), eps)
    del U
    H = np.ascontiguousarray(nndsvd_factor(V.T, S, use_p, lbd, split_norms(V.T), eps).T)
    del V
    if init != "nndsvd":
        rng = check_random_state(random_state) if init == "nndsvdar" else None
        fill_zeros(W, zero_fill(init, avg, np.count_nonzero(W == 0), rng))
        fill_zeros(H, zero_fill(init, avg, np.count_nonzero(H == 0), rng))
    return W.astype(dtype, copy=False), H.astype(dtype, copy=False)


def sparse_randomized_svd(X, n_components, random_state, matmul=None, rmatmul=None):
    """scikit-learn's ``randomized_svd(X, n_components, random_state=random_state)`` of
    a sparse X, with the products with X given as functions.

    The steps of ``sklearn.utils.extmath._randomized_svd`` with its defaults (10
    oversamples, 7 or 4 power iterations normalized by LU, a QR basis, X transposed
    when it is wide, signs flipped), the same random draws and the same LAPACK
    calls: with SciPy's products (the defaults here) the results are scikit-learn's
    bit for bit. So they are with ``matmul`` and ``rmatmul`` that add the same terms
    in the same order: row blocks of CSR X for ``X @ B``, and a CSR copy of X.T with
    sorted indices for ``X.T @ B`` (SciPy's CSC product adds, for each entry of the
    result, the terms in the order of the rows of X too). ``Q.T @ X`` is formed as
    ``(X.T @ Q).T``, as SciPy forms it.

    Parameters
    ----------
    X : sparse matrix of shape (n_samples, n_features)
    n_components : int
    random_state : int, RandomState instance or None
    matmul, rmatmul : callable, default=None
        ``B -> X @ B`` and ``B -> X.T @ B`` for dense B.

    Returns
    -------
    U : ndarray of shape (n_samples, n_components)
    S : ndarray of shape (n_components,)
    Vt : ndarray of shape (n_components, n_features)
    """
    matmul = matmul or (lambda B: X @ B)
    rmatmul = rmatmul or (lambda B: X.T @ B)
    random_state = check_random_state(random_state)
    n_random = n_components + 10
    n_samples, n_features = X.shape
    n_iter = 7 if n_components < 0.1 * min(X.shape) else 4
    transpose = n_samples < n_features
    # the decomposition is of A = X.T when X is wide, else of A = X
    A_times, At_times = (rmatmul, matmul) if transpose else (matmul, rmatmul)

    # the range finder (sklearn.utils.extmath._randomized_range_finder); the
    # products are fresh arrays, which LU and QR may overwrite
    Q = random_state.normal(size=(n_samples if transpose else n_features, n_random))
    if X.dtype == np.float32:
        Q = Q.astype(np.float32, copy=False)
    for _ in range(n_iter):
        Q, _ = linalg.lu(A_times(Q), permute_l=True, overwrite_a=True, check_finite=False)
        Q, _ = linalg.lu(At_times(Q), permute_l=True, overwrite_a=True, check_finite=False)
    # QR works in place on Fortran order only (on C order it holds two more copies)
    Q, _ = linalg.qr(np.asfortranarray(A_times(Q)), mode="economic", overwrite_a=True,
                     check_finite=False)

    # SVD of the projection Q.T @ A onto the range, then back
    Uhat, s, Vt = linalg.svd(At_times(Q).T, full_matrices=False, lapack_driver="gesdd")
    U = Q @ Uhat
    del Q
    U, Vt = svd_flip(U, Vt, u_based_decision=not transpose)
    if transpose:
        return Vt[:n_components].T, s[:n_components], U[:, :n_components].T
    return U[:, :n_components], s[:n_components], Vt[:n_components]


def random_start(mean, shape, n_components, dtype, random_state):
    """The 'random' start: ``sqrt(mean / n_components)`` times absolute standard normals
    (H drawn first, then W), of ``dtype``."""
    n_samples, n_features = shape
    avg = np.sqrt(mean / n_components)
    rng = check_random_state(random_state)
    H = avg * rng.standard_normal(size=(n_components, n_features)).astype(dtype, copy=False)
    W = avg * rng.standard_normal(size=(n_samples, n_components)).astype(dtype, copy=False)
    np.abs(H, out=H)
    np.abs(W, out=W)
    return W.astype(dtype, copy=False), H.astype(dtype, copy=False)


def nndsvd_threshold(eps, largest):
    """The threshold below which NNDSVD entries become zero: ``eps``, or ``X.max()``
    when that is smaller (scikit-learn's absolute eps would zero the whole start of
    data below it)."""
    return min(eps, largest) if largest > 0 else eps


# NNDSVD (Boutsidis & Gallopoulos 2008) in pieces, so that a factor split in row
# blocks (W on Dask) is built block by block: the column norms are sums over rows.
def split_norms(U):
    """Norms of the positive and of the negative parts of the columns 1: of U."""
    x = U[:, 1:]
    return np.linalg.norm(np.maximum(x, 0), axis=0), np.linalg.norm(np.maximum(-x, 0), axis=0)


def nndsvd_weights(S, U_norms, V_norms):
    """Which part (positive or negative) of each singular pair 1: to keep, and its weight.

    The leading singular pair of a non-negative matrix is non-negative; of every
    other pair keep the dominant one of its positive and negative parts.
    """
    (x_p_nrm, x_n_nrm), (y_p_nrm, y_n_nrm) = U_norms, V_norms
    m_p, m_n = x_p_nrm * y_p_nrm, x_n_nrm * y_n_nrm
    use_p = m_p > m_n
    return use_p, np.sqrt(S[1:] * np.where(use_p, m_p, m_n))


def nndsvd_factor(U, S, use_p, lbd, norms, eps):
    """The NNDSVD factor from singular vectors ``U`` (columns): W from U, H.T from V.T.

    ``norms`` are ``split_norms`` of the whole of U (U may be a block of its rows).
    Entries below ``eps`` are set to zero. Formed in the memory of F, without
    temporaries of its size.
    """
    F = np.zeros_like(U)
    F[:, 0] = np.sqrt(S[0]) * np.abs(U[:, 0])
    if U.shape[1] > 1:
        x = U[:, 1:]
        p_nrm, n_nrm = norms
        u = F[:, 1:]  # the kept part of each column: max(x, 0) or max(-x, 0), normalized
        np.negative(x, out=u)
        np.copyto(u, x, where=use_p[None, :])
        np.maximum(u, 0, out=u)
        with np.errstate(invalid="ignore", divide="ignore"):
            u /= np.where(use_p, p_nrm, n_nrm)
        np.nan_to_num(u, copy=False)
        u *= lbd
    F[F < eps] = 0
    return F


def zero_fill(init, avg, n_zeros, rng):
    """What the zeros of an NNDSVD factor become: the mean of X ('nndsvda') or small
    random values ('nndsvdar', drawn from ``rng`` in the order of the zeros)."""
    if init == "nndsvda":
        return avg
    return abs(avg * rng.standard_normal(size=n_zeros) / 100)


def fill_zeros(F, values):
    """Set the zeros of F (in place) to ``values`` (a scalar or one per zero, row-major)."""
    F[F == 0] = values
    return F


def uniform_rows(n_rows, n_components, scale, dtype):
    """The start of a W solve with H fixed: every entry ``scale`` (row-independent)."""
    return np.full((n_rows, n_components), scale, dtype=dtype)
