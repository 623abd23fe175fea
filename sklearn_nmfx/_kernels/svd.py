"""Truncated SVD of a data matrix: randomized (Halko et al.) and ARPACK.

One randomized SVD, written against the products of a data matrix (``X @ G`` and
``X.T @ G``, in memory or over Dask row blocks) and the backend's array namespace,
so NumPy and PyTorch share it and sparse X is never densified. Its random test
matrix is drawn with NumPy, so the same seed gives the same result on every
device. It runs one of two schemes of power iterations:

- ``'subspace'`` (TruncatedSVDTopics): the products with ``A A^T``, A the wide one
  of X and X.T, normalized by LU after each, QR at the end, and the SVD of the
  small factor from its Gram matrix;
- ``'scikit-learn'`` (the NNDSVD start): the steps of scikit-learn's
  ``randomized_svd`` with its defaults, normalized by LU after every product,
  with the same random draws and LAPACK calls, so the same result bit for bit.

``arpack_svd`` calls :func:`scipy.sparse.linalg.svds` (on the CPU, NumPy/SciPy
arrays only).
"""

import numpy as np
from scipy import linalg
from sklearn.utils import check_random_state
from sklearn.utils.extmath import svd_flip


def range_basis(times, rtimes, Q, *, n_products, lu_every, B, normalizer="LU"):
    """An orthonormal basis of the range of ``A (A^T A)^m Q`` by power iterations.

    ``times`` and ``rtimes`` are ``G -> A @ G`` and ``G -> A.T @ G``; they are applied
    in turn, ``n_products`` times in all, starting with ``times``. After every
    ``lu_every``-th product the basis is renormalized by the ``P L`` factor of its
    LU factorization (several times cheaper than QR, the same range); the last
    product is orthonormalized by QR. With ``normalizer='QR'`` the renormalizations
    are QR's, with 'none' there are none. The products are fresh arrays, which LU
    and QR overwrite.
    """
    products = (times, rtimes)
    renormalize = {"LU": B.lu_basis, "QR": B.qr_basis, "none": None}[normalizer]
    for i in range(n_products - 1):
        Q = products[i % 2](Q)
        if renormalize is not None and (i + 1) % lu_every == 0:
            Q = renormalize(Q)
    return B.qr_basis(products[(n_products - 1) % 2](Q))


def randomized_svd(data, n_components, *, n_oversamples, n_iter, random_state, B,
                   scheme="subspace", normalizer="auto"):
    """Rank-``n_components`` SVD of ``data`` by randomized power iterations.

    Halko, Martinsson & Tropp (2011), algorithm 4.4. With ``l = n_components +
    n_oversamples`` columns, a Gaussian matrix is multiplied ``n_iter`` times by
    ``X X^T`` (or ``X^T X``: the small side), renormalized on the way
    (:func:`range_basis`); X is then projected on the orthonormal basis of the
    result and the small projection's SVD gives the factors.

    Parameters
    ----------
    data : DataMatrix
        X, shape (n_samples, n_features).
    n_components : int
        Rank wanted, ``<= min(n_samples, n_features)``.
    n_oversamples : int
        Extra columns of the sketch.
    n_iter : int or 'auto'
        Power iterations; 'auto' (scikit-learn's) is 7, or 4 when ``n_components``
        is at least a tenth of the small side.
    random_state : None, int or RandomState
        Seed of the Gaussian start (drawn with NumPy, the same on every device).
    B : NumpyBackend or TorchBackend
    scheme : {'subspace', 'scikit-learn'}, default='subspace'
        'subspace': ``2 * n_iter`` products with A (the wide one of X and X.T)
        starting from the narrow side, normalized after every second, and the
        small SVD from its Gram matrix. 'scikit-learn': scikit-learn's
        ``randomized_svd`` (``2 * n_iter + 1`` products, each normalized, LAPACK's
        gesdd on the projection, signs flipped as it flips them).
    normalizer : {'auto', 'LU', 'QR', 'none'}, default='auto'
        The renormalization of the 'subspace' power iterations (scikit-learn's
        ``power_iteration_normalizer``): 'auto' an LU after every second product,
        'LU' or 'QR' after every product, 'none' only the final QR.

    Returns
    -------
    U : array of shape (n_samples, n_components)
    S : array of shape (n_components,), descending
    Vt : array of shape (n_components, n_features)
        Backend arrays (signs flipped with 'scikit-learn' only).
    """
    n_samples, n_features = data.shape
    if n_iter == "auto":
        n_iter = 7 if n_components < 0.1 * min(n_samples, n_features) else 4
    rng = check_random_state(random_state)
    if scheme == "scikit-learn":
        return _scikit_learn_svd(data, n_components, n_oversamples, n_iter, rng, B)
    # A = X or X.T, whichever is wide (fewer rows than columns); its products
    swap = n_samples > n_features
    A_times, At_times = (data.rmatmul, data.matmul) if swap else (data.matmul, data.rmatmul)
    narrow = min(n_samples, n_features)
    size = min(n_components + n_oversamples, narrow)
    Q = B.from_numpy(_gaussian(rng, (narrow, size), data.dtype))
    Q = range_basis(At_times, A_times, Q, n_products=2 * max(int(n_iter), 1),
                    lu_every=2 if normalizer == "auto" else 1, B=B,
                    normalizer="LU" if normalizer == "auto" else normalizer)
    # A ~ Q Q^T A = Q (A^T Q)^T; the SVD of the (wide, size) matrix A^T Q.
    Ub, S, Vb = _thin_svd(At_times(Q), n_components, B)
    # A^T Q = Ub S Vb^T  =>  A ~ (Q Vb) S Ub^T
    U_A = Q @ Vb
    Vt_A = Ub.T
    if swap:  # X = A^T ~ Ub S (Q Vb)^T
        return Vt_A.T, S, U_A.T
    return U_A, S, Vt_A


def _scikit_learn_svd(data, n_components, n_oversamples, n_iter, rng, B):
    """``sklearn.utils.extmath.randomized_svd(X, n_components)`` step by step on the
    products of ``data``: the same draws and LAPACK calls, and with products that add
    the same terms in the same order (row blocks of CSR X for ``X @ G``, a CSR copy
    of X.T with sorted indices or SciPy's CSC product for ``X.T @ G``), the same
    result bit for bit. NumPy arrays only."""
    n_samples, n_features = data.shape
    transpose = n_samples < n_features
    if transpose:  # the decomposition is of M = X.T
        times, rtimes, project = data.rmatmul, data.matmul, data.rproject
    else:
        times, rtimes, project = data.matmul, data.rmatmul, data.project
    Q = _gaussian(rng, (n_samples if transpose else n_features, n_components + n_oversamples),
                  data.dtype)
    Q = range_basis(times, rtimes, Q, n_products=2 * n_iter + 1, lu_every=1, B=B)
    # the SVD of the projection Q.T @ M onto the range, then back
    projection = project(Q)
    if not np.isfinite(projection).all():
        raise RuntimeError(
            "the randomized SVD of the NNDSVD start produced non-finite values: X "
            "overflows the floating-point type. Rescale X."
        )
    Uhat, s, Vt = linalg.svd(projection, full_matrices=False, lapack_driver="gesdd")
    U = Q @ Uhat
    del Q
    U, Vt = svd_flip(U, Vt, u_based_decision=not transpose)
    if transpose:
        return Vt[:n_components].T, s[:n_components], U[:, :n_components].T
    return U[:, :n_components], s[:n_components], Vt[:n_components]


def _gaussian(rng, shape, dtype):
    """Standard normal draws (float64, then float32 for float32 X, as scikit-learn)."""
    Q = rng.normal(size=shape)
    return Q.astype(np.float32, copy=False) if dtype == np.float32 else Q


def _thin_svd(Bt, n_components, B):
    """Leading ``n_components`` singular triplets of a tall, narrow ``Bt``.

    From the eigendecomposition of the small Gram matrix ``Bt.T @ Bt`` (two
    GEMMs instead of a LAPACK SVD of the tall matrix, several times faster).
    That squares the condition number, so it is used only when the singular
    values kept are all above ``sqrt(1000 * eps)`` times the largest, where the
    result is accurate to the precision of X; otherwise the plain SVD is used.
    Returns (Ub, S, Vb) with ``Bt ~ Ub @ diag(S) @ Vb.T``, S descending.
    """
    xp = B.namespace()
    gram = Bt.T @ Bt
    evals, evecs = xp.linalg.eigh(gram)
    evals = xp.flip(evals, axis=0)[:n_components]
    evecs = xp.flip(evecs, axis=1)[:, :n_components]
    eps = float(np.finfo(B.numpy_dtype(Bt)).eps)
    largest = float(evals[0]) if evals.shape[0] else 0.0
    if largest > 0 and float(evals[-1]) > 1e3 * eps * largest:
        S = xp.sqrt(evals)
        return (Bt @ evecs) / S, S, evecs
    Ub, S, Vbt = xp.linalg.svd(Bt, full_matrices=False)
    return Ub[:, :n_components], S[:n_components], Vbt.T[:, :n_components]


def arpack_svd(X, n_components, *, tol, random_state):
    """Rank-``n_components`` SVD of a NumPy/SciPy X with ARPACK (scipy's ``svds``).

    ``n_components`` must be ``< min(X.shape)``. The start vector is drawn as in
    :class:`sklearn.decomposition.TruncatedSVD` (uniform in [-1, 1]).

    Returns
    -------
    U, S, Vt : ndarrays, singular values descending, not yet sign-flipped.
    """
    from scipy.sparse.linalg import svds

    rng = check_random_state(random_state)
    v0 = rng.uniform(-1, 1, size=min(X.shape))
    U, S, Vt = svds(X, k=n_components, tol=tol, v0=v0)
    order = np.argsort(S)[::-1]
    return U[:, order], S[order], Vt[order]


def flip_signs(Vt):
    """Orient each row of Vt so that its largest-magnitude entry is positive.

    Returns the signs (+1/-1, one per row) and the flipped copy.
    """
    Vt = np.array(Vt, copy=True)
    if Vt.size == 0:
        return np.ones(Vt.shape[0], dtype=Vt.dtype), Vt
    largest = np.argmax(np.abs(Vt), axis=1)
    signs = np.sign(Vt[np.arange(Vt.shape[0]), largest])
    signs[signs == 0] = 1
    Vt *= signs[:, None]
    return signs.astype(Vt.dtype), Vt
