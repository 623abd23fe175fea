"""The held-out scores: topic stability (the default ``score``) and bi-cross-validation.

``score(X)`` must tell how well a fitted model describes new data, and must not
simply improve with ``n_components``. A reconstruction error does improve with every
added component; on TF-IDF text a held-out reconstruction error barely moves with k
either (almost every entry is a zero that every k predicts about equally well).

The default, :func:`topic_stability_score`, asks instead whether the topics are
*reproducible*: the model fitted on the training rows and a second model of the same
kind fitted on ``X`` (the held-out rows) alone should describe the documents of ``X``
in the same way, topic for topic (split-half stability, after Greene, O'Callaghan &
Cunningham 2014, "How many topics? Stability analysis for topic models"; here topics
are compared by the documents they describe, not by their top terms):

1. W of every row of X is solved with each model's H fixed (non-negative least
   squares for NMF, least squares for SVD): ``W_fit`` and ``W_refit``; for NMF each
   row is then divided by its sum (the document's topic proportions).
2. ``C[a, b]`` is the Pearson correlation over the documents of column ``a`` of
   ``W_fit`` and column ``b`` of ``W_refit`` (its absolute value for SVD, whose
   components have no sign); a constant column correlates 0 with everything.
3. The topics of the two models are matched one to one so as to maximize the sum of
   the matched correlations (the Hungarian algorithm).
4. ``score = sum over the matched pairs of (C[a, b] - 1/2)``: each topic found again
   (correlation above one half) adds to the score, each topic that the other half
   of the data does not reproduce takes from it.

The score grows with k while added topics are real, and falls once they split or
follow noise: it peaks near the number of topics the data support. It is between
``-k/2`` and ``k/2`` and does not depend on the scale of X.
:func:`bicross_validation_score` is the earlier default, kept for comparison.
"""

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment

from ._backend import NumpyBackend
from ._kernels.hals import solve_rows_hals

__all__ = ["topic_stability_score", "matched_topic_correlations", "bicross_validation_score",
           "least_squares_rows", "nonnegative_least_squares_rows"]

# Rows of the dense residual formed at once.
_BLOCK_ENTRIES = 2**22


def topic_stability_score(X, mask, H_fit, H_refit, *, non_negative):
    """Sum over matched topics of (correlation - 1/2): higher is better.

    See the module docstring for exactly what is computed.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Validated data (missing entries set to 0), the rows ``H_refit`` was fitted on.
    mask : ndarray of bool of shape (n_samples, n_features) or None
        The observed entries (None when all are).
    H_fit, H_refit : ndarray of shape (n_components, n_features)
        The components of the fitted model and of the model refitted on X.
    non_negative : bool
        Whether W is solved by non-negative least squares and compared as topic
        proportions (NMF), or by least squares, up to sign (SVD).

    Returns
    -------
    score : float
        ``sum(C[a, b] - 1/2)`` over the matched pairs of topics.
    """
    correlations = matched_topic_correlations(X, mask, H_fit, H_refit,
                                              non_negative=non_negative)
    return float(np.sum(correlations - 0.5))


def matched_topic_correlations(X, mask, H_fit, H_refit, *, non_negative):
    """The correlations of the matched topics of two models over the rows of X
    (steps 1-3 of the module docstring), in the order of ``H_fit``'s topics."""
    W_fit = _solve_W(X, mask, H_fit, non_negative)
    W_refit = _solve_W(X, mask, H_refit, non_negative)
    if non_negative:  # the documents that both models describe, as topic proportions
        described = (W_fit.sum(axis=1) > 0) & (W_refit.sum(axis=1) > 0)
        W_fit, W_refit = _proportions(W_fit[described]), _proportions(W_refit[described])
    C = _column_correlations(W_fit, W_refit)
    if not non_negative:
        C = np.abs(C)
    rows, columns = linear_sum_assignment(C, maximize=True)
    matched = np.zeros(W_fit.shape[1])
    matched[rows] = C[rows, columns]
    return matched


def _solve_W(X, mask, H, non_negative):
    H = np.asarray(H, dtype=np.float64)
    if mask is not None:
        W = _masked_least_squares(X, mask, H, non_negative)
    elif non_negative:
        W = nonnegative_least_squares_rows(X, H)
    else:
        W = least_squares_rows(X, H)
    return np.asarray(W, dtype=np.float64)


def _proportions(W):
    """Each row of W divided by its sum (rows of zeros stay zero)."""
    total = W.sum(axis=1, keepdims=True)
    return np.divide(W, total, out=np.zeros_like(W), where=total > 0)


def _column_correlations(A, B):
    """Pearson correlations of the columns of A with those of B; 0 where a column is
    constant (to rounding: its spread below 1e-10 of its size) or overflows."""
    if A.shape[0] < 2:  # no spread over fewer than two documents
        return np.zeros((A.shape[1], B.shape[1]))
    centered, spreads = [], []
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for M in (A, B):
            largest = np.max(np.abs(M), axis=0, initial=0.0)
            M = M / np.where(largest > 0, largest, 1.0)  # no overflow in the squares
            size = np.sqrt(np.sum(M * M, axis=0))
            M = M - M.mean(axis=0)
            spread = np.sqrt(np.sum(M * M, axis=0))
            spread[~(spread > 1e-10 * size)] = np.inf  # constant: correlation 0
            centered.append(M)
            spreads.append(spread)
        C = (centered[0].T @ centered[1]) / np.outer(spreads[0], spreads[1])
    C[~np.isfinite(C)] = 0.0
    return np.clip(C, -1.0, 1.0)


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
