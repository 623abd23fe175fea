"""The held-out score of every estimator: bi-cross-validation over the columns.

``score(X)`` must tell how well a fitted model describes new data, and must not
simply improve with ``n_components``. Refitting W on all the columns of new rows
and measuring the error on those same columns does improve with every added
component (more components always fit a row better). Here W of each row is fitted
on one part of its columns and judged on the other part, which it never saw
(bi-cross-validation, Owen & Perry 2009, with H fixed from ``fit``):

1. The columns are split at random, with a fixed seed, into ``n_splits`` (2)
   groups of equal size (within one column).
2. For each group ``G``: W is solved for every row of X from the entries of the
   other columns only, with H restricted to those columns: exact non-negative
   least squares for estimators with ``_non_negative`` (NMF), least squares for
   the others (SVD); the squared errors ``(X[i, j] - (W @ H)[i, j])**2`` are
   summed over the columns ``j`` in ``G``.
3. The score is minus the mean of those squared errors over all entries of X
   (every entry is held out exactly once; missing entries are skipped).

Extra components let W follow the noise of the columns it is fitted on, which
raises the error on the held-out columns, so the score peaks near the number of
components that the data support.

W is fitted by (non-negative) least squares whatever the estimator's loss: the score
then compares the topics H alone, and does not inherit the stopping error of an
approximate solver.
"""

import numpy as np
import scipy.sparse as sp

from ._backend import NumpyBackend
from ._kernels.hals import solve_rows_hals

__all__ = ["bicross_validation_score", "least_squares_rows", "nonnegative_least_squares_rows"]

# Rows of the dense residual formed at once.
_BLOCK_ENTRIES = 2**22


def bicross_validation_score(X, mask, H, *, non_negative, n_splits=2, random_state=0):
    """Minus the mean squared error of held-out entries (higher is better).

    See the module docstring for exactly what is computed.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Validated data (missing entries set to 0), typically rows not used in ``fit``.
    mask : ndarray of bool of shape (n_samples, n_features) or None
        The observed entries (None when all are).
    H : ndarray of shape (n_components, n_features)
        The fitted components.
    non_negative : bool
        Whether W is solved by non-negative least squares (NMF).
    n_splits : int, default=2
        Number of column groups; W of each row is fitted on ``1 - 1/n_splits`` of
        its columns.
    random_state : int, default=0
        Seed of the column split (fixed, so the score is deterministic).

    Returns
    -------
    score : float
        ``-mean((X - W @ H)**2)`` over the held-out entries.
    """
    n_samples, n_features = X.shape
    if n_features < 2:
        raise ValueError(
            f"score needs X with at least 2 features (n_features={n_features}): it fits "
            "W on some columns and measures the error on the others."
        )
    if sp.issparse(X):
        X = X.tocsc()  # column selection; each group is turned back into CSR
    n_splits = int(min(n_splits, n_features))
    groups = np.random.RandomState(random_state).permutation(n_features) % n_splits
    H = np.asarray(H, dtype=np.float64)
    squared_error, n_entries = 0.0, 0
    for group in range(n_splits):
        held = np.flatnonzero(groups == group)
        kept = np.flatnonzero(groups != group)
        X_kept, X_held = _columns(X, kept), _columns(X, held)
        mask_kept = None if mask is None else mask[:, kept]
        mask_held = None if mask is None else mask[:, held]
        W = _solve_W_on_columns(X_kept, mask_kept, H[:, kept], non_negative)
        error, count = _squared_error(X_held, mask_held, np.asarray(W, dtype=np.float64),
                                      H[:, held])
        squared_error += error
        n_entries += count
    return -squared_error / max(n_entries, 1)


def _solve_W_on_columns(X_cols, mask_cols, H, non_negative):
    """W for the rows of ``X_cols`` (X restricted to some columns), H restricted to
    them fixed: exact least squares (non-negative for an NMF estimator)."""
    if mask_cols is not None:
        return _masked_least_squares(X_cols, mask_cols, H, non_negative)
    if non_negative:
        return nonnegative_least_squares_rows(X_cols, H)
    return least_squares_rows(X_cols, H)


def nonnegative_least_squares_rows(X, H, *, max_sweeps=1000, tol=1e-10):
    """``argmin_{W >= 0} ||X - W @ H||_F`` for dense or sparse X, all rows at once, in
    float64: the HALS solver from the clipped least-squares solution, each row run
    until a sweep changes it by less than ``tol`` relative to its size (the problem
    is convex: the solution does not depend on the start)."""
    H64 = np.asarray(H, dtype=np.float64)
    X64 = X.astype(np.float64) if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    data = NumpyBackend().data_matrix(X64)
    W = solve_rows_hals(data, np.ascontiguousarray(H64.T), l1=0.0, l2=0.0,
                        max_sweeps=max_sweeps, tol=tol)
    return W.astype(X.dtype, copy=False)


def _masked_least_squares(X, mask, H, non_negative):
    """Row by row least squares over the observed entries of a dense X."""
    W = np.zeros((X.shape[0], H.shape[0]), dtype=np.float64)
    solve = nonnegative_least_squares_rows if non_negative else least_squares_rows
    for i in range(X.shape[0]):
        observed = mask[i]
        if observed.any():
            W[i] = solve(np.asarray(X[i, observed], dtype=np.float64)[None, :], H[:, observed])[0]
    return W.astype(X.dtype, copy=False)


def least_squares_rows(X, H):
    """``argmin_W ||X - W @ H||_F`` (minimum-norm), for dense or sparse X."""
    H64 = np.asarray(H, dtype=np.float64)
    XHt = X @ H64.T
    XHt = np.asarray(XHt.toarray() if sp.issparse(XHt) else XHt, dtype=np.float64)
    W = XHt @ np.linalg.pinv(H64 @ H64.T, hermitian=True)
    return W.astype(X.dtype, copy=False)


def _columns(X, columns):
    if sp.issparse(X):
        return X[:, columns].tocsr()
    return np.ascontiguousarray(X[:, columns])


def _squared_error(X, mask, W, H):
    """(sum of squared errors of X - W @ H over observed entries, their number)."""
    n_samples, n_features = X.shape
    if sp.issparse(X):
        values = X.data.astype(np.float64)
        X_norm = float(values @ values)
        cross = float(np.sum(W * np.asarray(X.astype(np.float64) @ H.T)))
        gram = float(np.sum((W.T @ W) * (H @ H.T)))
        return max(X_norm - 2.0 * cross + gram, 0.0), n_samples * n_features
    total, count = 0.0, 0
    step = max(1, _BLOCK_ENTRIES // max(n_features, 1))
    for start in range(0, n_samples, step):
        stop = min(start + step, n_samples)
        residual = np.asarray(X[start:stop], dtype=np.float64) - W[start:stop] @ H
        if mask is not None:
            residual = residual[mask[start:stop]]
        count += residual.size
        total += float(np.sum(residual * residual))
    return total, count
