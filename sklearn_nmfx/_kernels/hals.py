"""HALS: exact coordinate steps for non-negative least squares of rows.

``min_{F >= 0} 0.5 ||X - F G^T||^2 + l1 |F| + l2 / 2 |F|^2`` is a sum of independent
problems, one per row of F, each convex: HALS (hierarchical alternating least
squares, Cichocki & Phan 2009) takes the exact projected coordinate step of each
column of F in turn. It solves W for a fixed H (``transform``, the last step of
``fit``, the held-out score), and the minibatch updates of W and H in SGDNMF (H is
kept transposed, so the update of ``Ht`` against ``(A, B^T)`` is the update of
``W_b`` against ``(H H^T, X_b H^T)``).

Missing entries (a mask of observed entries) make the Gram matrix of each row its
own: row ``i`` sees ``sum_j m_ij g_j g_j^T`` over its observed columns only (shape
``(n_rows, k, k)``, see :func:`row_grams`), which takes the place of the shared
``k x k`` one everywhere.
"""

import numpy as np


def row_grams(data, G, B):
    """The Gram matrix of G seen by each row of the data: ``G.T @ G`` (k x k) when
    every entry is observed, else ``sum_j m_ij g_j g_j^T`` for each row ``i`` (shape
    ``(n_rows, k, k)``), with ``m`` the mask of observed entries."""
    if data.mask is None:
        return B.gram(G)
    k = G.shape[1]
    outer = G[:, :, None] * G[:, None, :]
    mask = data.mask
    if mask.dtype != G.dtype:
        mask = B.namespace().astype(mask, G.dtype)
    return B.namespace().reshape(mask @ B.namespace().reshape(outer, (G.shape[0], k * k)),
                                 (data.shape[0], k, k))


def gram_product(F, GtG, B):
    """``F @ GtG`` for a shared Gram matrix, or row by row for per-row ones."""
    if GtG.ndim == 2:
        return F @ GtG
    return B.namespace().sum(GtG * F[:, None, :], axis=2)


def gram_quadratic(GtG, F, B):
    """``<GtG, F^T F>`` for a shared Gram matrix, or ``sum_i f_i^T GtG_i f_i``."""
    xp = B.namespace()
    if GtG.ndim == 2:
        return xp.sum(GtG * B.gram(F))
    return xp.sum(gram_product(F, GtG, B) * F)


def column_step_sizes(GtG, l2, dtype, relative=False):
    """The step of each column's HALS update, ``1 / (GtG[j, j] + l2)`` (float64,
    NumPy), and 0 for a column to leave as it is: one whose diagonal is at most the
    dtype's smallest normal number (a dead component, its column of G zero).

    With ``relative``, also one whose diagonal is at most ``eps ** 1.5`` times the
    largest (``eps`` the dtype's epsilon): a column of G whose norm is below
    ``eps ** 0.75`` times the largest's (1.8e-12 in float64, 6.5e-6 in float32), so
    that its part of ``F G^T`` is at the level of the others' accumulated rounding.
    The exact step of such a column divides that rounding by its tiny diagonal
    and moves the column by noise (a 1 x 2 X at k=3 switched one component off to
    a norm ratio of 1.4e-15 and its column of H then differed between the NumPy and
    the PyTorch fit). MUNMF's column repeats use it, where such a column of W or H
    is one the fit has switched off; the next update of the other factor still
    revives it if the data ask for it.
    """
    diag = np.diag(GtG).astype(np.float64) + l2
    finfo = np.finfo(dtype)
    cutoff = float(finfo.tiny)
    if relative:
        cutoff = max(cutoff, float(finfo.eps) ** 1.5 * float(diag.max(initial=0.0)))
    return np.where(diag > cutoff, 1.0 / np.where(diag > cutoff, diag, 1.0), 0.0)


def hals_sweeps(F, XG, GtG, *, l1, l2, max_sweeps, tol, B, per_row=False, fixed=None,
                step_sizes=None):
    """HALS sweeps on the rows of F for ``min 0.5 ||X - F G^T||^2 + l1 |F| + l2/2 |F|^2``,
    ``F >= 0``, given ``XG = X @ G`` and ``GtG = G.T @ G``.

    Each column ``j`` takes the exact projected coordinate step
    ``F[:, j] = max(0, F[:, j] - (F @ GtG[:, j] - XG[:, j] + l2 F[:, j] + l1) / (GtG[j, j] + l2))``,
    the later columns using the new earlier ones (Gauss-Seidel). The work is done on
    the transposes, so that every column is a contiguous vector.

    Parameters
    ----------
    F : array of shape (n_rows, n_components)
        The start (not modified).
    GtG : array of shape (n_components, n_components) or (n_rows, n_components, \
            n_components)
        The Gram matrix, shared or one per row (missing entries, :func:`row_grams`).
    per_row : bool, default=False
        Stop each row by itself once a sweep changes it by less than ``tol``
        relative to its norm (a stopped row is never touched again, so the result
        of a row does not depend on the other rows: ``transform``). Otherwise all
        rows stop together once a sweep moves less than ``tol`` times the first.
    fixed : sequence of int, default=None
        Columns of F left as they are (fixed components).
    step_sizes : ndarray of shape (n_components,), default=None
        For a shared Gram matrix, the steps of the columns in place of
        ``column_step_sizes(GtG, l2, dtype)`` (0 leaves a column as it is).

    Returns
    -------
    F : array of shape (n_rows, n_components)
    n_sweeps : int
    """
    xp = B.namespace()
    n_components = F.shape[1]
    tiny = float(np.finfo(B.numpy_dtype(F)).tiny)
    if GtG.ndim == 2:
        if step_sizes is None:
            step_sizes = column_step_sizes(B.to_numpy(GtG), l2, B.numpy_dtype(F))
        inv_diag = [float(step) for step in step_sizes]
        rows_of = GtG
    else:  # one Gram matrix per row: columns (k, k, n_rows)
        rows_of = xp.permute_dims(GtG, (1, 2, 0))
        inv_diag = []
        for j in range(n_components):
            d = rows_of[j, j] + l2
            inv_diag.append(xp.where(d > tiny, 1.0 / xp.where(d > tiny, d, 1.0), 0.0 * d))
    skip = set() if fixed is None else {int(j) for j in fixed}
    Ft = B.contiguous_transpose(F)
    XGt = B.contiguous_transpose(XG)
    active = xp.ones((1, F.shape[0]), dtype=xp.bool) if per_row else None
    first = None
    n_sweeps = 0
    for n_sweeps in range(1, max_sweeps + 1):  # noqa: B007 - returned below
        Ft_new = xp.asarray(Ft, copy=True)
        for j in range(n_components):
            if j in skip or (GtG.ndim == 2 and inv_diag[j] == 0.0):
                continue  # fixed, or a dead component (column j of G is zero)
            if GtG.ndim == 2:
                grad = rows_of[j] @ Ft_new - XGt[j]
            else:
                grad = xp.sum(rows_of[j] * Ft_new, axis=0) - XGt[j]
            if l2:
                grad = grad + l2 * Ft_new[j]
            if l1:
                grad = grad + l1
            Ft_new[j] = B.clamp_min(Ft_new[j] - inv_diag[j] * grad, 0.0)
        if per_row:
            diff = Ft_new - Ft
            moved = xp.sum(diff * diff, axis=0, keepdims=True)
            size = xp.sum(Ft_new * Ft_new, axis=0, keepdims=True)
            Ft = xp.where(active, Ft_new, Ft)
            active = active & (moved > (tol * tol) * size)
            if not bool(xp.any(active)):
                break
        else:
            # one temporary (the difference; its square is one dot product)
            moved = B.scalar(B.sum_of_squares(Ft_new - Ft))
            Ft = Ft_new
            if first is None:
                first = moved
            if moved <= (tol * tol) * first or moved == 0.0:
                break
    return B.contiguous_transpose(Ft), n_sweeps


def least_squares_start(XG, GtG, *, l1, l2, B):
    """``max(0, (XG - l1) @ (GtG + l2 I)^+)``: the unconstrained least-squares rows,
    projected. A row-by-row, deterministic start for solving W with H fixed (per-row
    Gram matrices: each row its own least squares)."""
    k = GtG.shape[-1]
    G = B.to_numpy(GtG).astype(np.float64) + l2 * np.eye(k)
    inverse = B.from_numpy(np.linalg.pinv(G, hermitian=True).astype(B.to_numpy(XG).dtype))
    rhs = XG - l1 if l1 else XG
    return B.clamp_min(gram_product(rhs, inverse, B), 0.0)


def solve_rows_hals(data, Ht, *, l1, l2, max_sweeps, tol):
    """W for X fixed and H fixed (``transform``): least-squares start, then HALS
    with per-row stopping, so each row is solved by itself. Sparse X stays sparse
    (one product ``X @ Ht``); missing entries are left out (per-row Gram matrices)."""
    B = data.backend
    XHt = data.matmul(Ht)
    HtHt = row_grams(data, Ht, B)
    W = least_squares_start(XHt, HtHt, l1=l1, l2=l2, B=B)
    W, _ = hals_sweeps(W, XHt, HtHt, l1=l1, l2=l2, max_sweeps=max_sweeps, tol=tol, B=B,
                       per_row=True)
    return W
