"""Truncated SVD of a (sparse) data matrix: randomized (Halko et al.) and ARPACK.

The randomized solver is written once against the :class:`DataMatrix` interface
(``X @ G`` and ``X.T @ G``) and the array-API namespace of the backend, so NumPy
and PyTorch share it and sparse X is never densified. Its random test matrix is
drawn with NumPy, so the same seed gives the same result on every device.

``arpack_svd`` calls :func:`scipy.sparse.linalg.svds` (on the CPU, NumPy/SciPy
arrays only).
"""

import numpy as np
from sklearn.utils import check_random_state


def randomized_svd(data, n_components, *, n_oversamples, n_iter, random_state, B):
    """Rank-``n_components`` SVD of ``data`` by randomized subspace iteration.

    Halko, Martinsson & Tropp (2011), algorithm 4.4 (randomized subspace
    iteration). Let ``A`` be X or X.T, whichever is wide (fewer rows than
    columns), and ``l = n_components + n_oversamples``. The sketch is an
    orthonormal basis ``Q`` of shape ``(n_rows(A), l)`` of the range of A: it
    starts from a Gaussian matrix and is replaced ``n_iter`` times by a basis of
    the range of ``A @ (A.T @ Q)``: the L factor of its LU factorization (as
    scikit-learn's power iterations; several times cheaper than QR), the last
    time its orthonormal QR factor; then the SVD of the small matrix ``A.T @ Q``
    gives the factors. That is ``2 * n_iter + 1`` sparse products with ``l``
    columns, and QR factorizations of the narrow side only (the wide side never
    needs one: one product by ``A @ A.T`` squares the singular value ratios once,
    which loses only directions far below the leading ones).

    Parameters
    ----------
    data : DataMatrix
        X, shape (n_samples, n_features).
    n_components : int
        Rank wanted, ``<= min(n_samples, n_features)``.
    n_oversamples : int
        Extra columns of the sketch.
    n_iter : int
        Subspace iterations (products with ``A @ A.T``), at least 1.
    random_state : None, int or RandomState
        Seed of the Gaussian start (drawn with NumPy, the same on every device).
    B : NumpyBackend or TorchBackend

    Returns
    -------
    U : array of shape (n_samples, n_components)
    S : array of shape (n_components,), descending
    Vt : array of shape (n_components, n_features)
        Backend arrays, not yet sign-flipped.
    """
    xp = B.namespace()
    n_samples, n_features = data.shape
    swap = n_samples > n_features
    A = data.T if swap else data  # A is (narrow, wide)
    At = A.T
    narrow = A.shape[0]
    size = min(n_components + n_oversamples, narrow)
    rng = check_random_state(random_state)
    omega = rng.standard_normal(size=(narrow, size)).astype(_numpy_dtype(data))
    Q = B.from_numpy(omega)
    n_iter = max(int(n_iter), 1)
    for _ in range(n_iter - 1):
        Q = B.lu_basis(A.matmul(At.matmul(Q)))
    Q, _ = xp.linalg.qr(A.matmul(At.matmul(Q)))
    # A ~ Q Q^T A = Q (A^T Q)^T; the SVD of the (wide, size) matrix A^T Q.
    Bt = At.matmul(Q)
    Ub, S, Vb = _thin_svd(Bt, n_components, xp)
    # A^T Q = Ub S Vb^T  =>  A ~ (Q Vb) S Ub^T
    U_A = Q @ Vb
    Vt_A = Ub.T
    if swap:  # X = A^T ~ Ub S (Q Vb)^T
        return Vt_A.T, S, U_A.T
    return U_A, S, Vt_A


def _thin_svd(Bt, n_components, xp):
    """Leading ``n_components`` singular triplets of a tall, narrow ``Bt``.

    From the eigendecomposition of the small Gram matrix ``Bt.T @ Bt`` (two
    GEMMs instead of a LAPACK SVD of the tall matrix, several times faster).
    That squares the condition number, so it is used only when the singular
    values kept are all above ``sqrt(1000 * eps)`` times the largest, where the
    result is accurate to the precision of X; otherwise the plain SVD is used.
    Returns (Ub, S, Vb) with ``Bt ~ Ub @ diag(S) @ Vb.T``, S descending.
    """
    gram = Bt.T @ Bt
    evals, evecs = xp.linalg.eigh(gram)
    evals = xp.flip(evals, axis=0)[:n_components]
    evecs = xp.flip(evecs, axis=1)[:, :n_components]
    eps = float(np.finfo(str(Bt.dtype).removeprefix("torch.")).eps)
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


def _numpy_dtype(data):
    return np.dtype(str(data.X.dtype).removeprefix("torch."))
