"""Minibatch (online) NMF for the Frobenius loss, with non-negativity by projection.

The algorithm is the online matrix factorization of Mairal, Bach, Ponce & Sapiro
(2010), the scheme that scikit-learn's ``MiniBatchNMF`` follows (Lefevre, Bach &
Fevotte 2011), made to converge on a finite data set:

- for each minibatch ``X_b``, its rows ``W_b`` are solved well with ``H`` fixed:
  a few HALS sweeps (Cichocki & Phan 2009), i.e. projected coordinate steps of size
  ``1 / (H H^T)_jj``, the Lipschitz constant of each column of ``W_b``;
- the sufficient statistics ``A = W^T W`` (k x k) and ``B = W^T X`` (k x
  n_features) are updated with the change of ``W_b``. During ``fit`` the old
  contribution of the batch is replaced by the new one (as in SAG / MISO), so
  ``A`` and ``B`` always belong to the stored W and ``A H - B`` is the exact
  gradient of the full objective in H: every step decreases the objective and the
  epochs converge like batch alternating least squares, at the cost of one pass
  over X per epoch. In streaming (``partial_fit``) the statistics of earlier
  chunks are kept with a forgetting factor instead (memory bounded by one chunk);
- ``H`` then takes projected gradient steps on ``0.5 tr(H^T A H) - tr(H^T B)``:
  by default one HALS sweep over its rows (step ``1 / A_jj`` per row, the
  Lipschitz constant of that block), or full steps ``eta / lambda_max(A)`` with an
  ``eta`` schedule (constant, inverse scaling, adaptive) as in ``SGDRegressor``.

Non-negativity is kept by projection (``max(0, .)``), which gives exact zeros; no
penalty lets an entry go negative. H is kept transposed (``Ht``, shape
``(n_features, n_components)``), so that the update of ``Ht`` against ``(A, B^T)``
is the update of ``W_b`` against ``(H H^T, X_b H^T)``: one function serves both.

The objective of the stored W and current H needs no extra pass over X:
``0.5 ||X - W H||^2 = 0.5 (||X||^2 - 2 <B, H> + <A, H H^T>)``.

Missing entries (a mask of observed entries, missing entries of X set to zero) make
the Gram matrix of each row its own: row ``i`` of W sees ``H_i H_i^T`` over the
observed columns of row ``i`` only, and column ``j`` of H sees
``A_j = sum_i m_ij w_i w_i^T``. These per-row Gram matrices (shape
``(n_rows, k, k)``, see :func:`row_grams`) take the place of the shared ``k x k``
one everywhere (HALS, least squares, statistics), so the masked gradients are
exact and the algorithm is the same.
"""

import math

import array_api_compat
import numpy as np

LEARNING_RATES = ("lipschitz", "constant", "invscaling", "adaptive")


# Rows per block of the Gram matrix F^T F of a tall F on the CPU: OpenBLAS (NumPy)
# and PyTorch thread one large tall-skinny product badly (on a busy 2-core machine,
# 0.3 s to seconds for 50,000 x 20), while blocks of this size take milliseconds.
_GRAM_BLOCK_ROWS = 4096


def gram(F, B):
    """``F.T @ F`` for a tall F (summed over row blocks on the CPU)."""
    on_cpu = B.name == "numpy" or B.device.type == "cpu"
    if not on_cpu or F.shape[0] <= 2 * _GRAM_BLOCK_ROWS:
        return F.T @ F
    out = None
    for start in range(0, F.shape[0], _GRAM_BLOCK_ROWS):
        block = F[start:start + _GRAM_BLOCK_ROWS]
        out = block.T @ block if out is None else out + block.T @ block
    return out


def row_grams(data, G, B):
    """The Gram matrix of G seen by each row of the data: ``G.T @ G`` (k x k) when
    every entry is observed, else ``sum_j m_ij g_j g_j^T`` for each row ``i`` (shape
    ``(n_rows, k, k)``), with ``m`` the mask of observed entries."""
    if data.mask is None:
        return gram(G, B)
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
        return xp.sum(GtG * gram(F, B))
    return xp.sum(gram_product(F, GtG, B) * F)


def _contiguous_transpose(a, B):
    if B.name == "numpy":
        return np.ascontiguousarray(a.T)
    return a.T.contiguous()


def hals_sweeps(F, XG, GtG, *, l1, l2, max_sweeps, tol, B, per_row=False, fixed=None):
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

    Returns
    -------
    F : array of shape (n_rows, n_components)
    n_sweeps : int
    """
    xp = B.namespace()
    n_components = F.shape[1]
    tiny = float(np.finfo(str(F.dtype).removeprefix("torch.")).tiny)  # of F's dtype
    if GtG.ndim == 2:
        diag = np.diag(B.to_numpy(GtG)).astype(np.float64) + l2
        inv_diag = [1.0 / d if d > tiny else 0.0 for d in diag]
        rows_of = GtG
    else:  # one Gram matrix per row: columns (k, k, n_rows)
        rows_of = xp.permute_dims(GtG, (1, 2, 0))
        inv_diag = []
        for j in range(n_components):
            d = rows_of[j, j] + l2
            inv_diag.append(xp.where(d > tiny, 1.0 / xp.where(d > tiny, d, 1.0), 0.0 * d))
    skip = set() if fixed is None else {int(j) for j in fixed}
    Ft = _contiguous_transpose(F, B)
    XGt = _contiguous_transpose(XG, B)
    active = xp.ones((1, F.shape[0]), dtype=xp.bool) if per_row else None
    first = None
    n_sweeps = 0
    for n_sweeps in range(1, max_sweeps + 1):
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
    return _contiguous_transpose(Ft, B), n_sweeps


def least_squares_start(XG, GtG, *, l1, l2, B):
    """``max(0, (XG - l1) @ (GtG + l2 I)^+)``: the unconstrained least-squares rows,
    projected. A row-by-row, deterministic start for solving W with H fixed (per-row
    Gram matrices: each row its own least squares)."""
    k = GtG.shape[-1]
    G = B.to_numpy(GtG).astype(np.float64) + l2 * np.eye(k)
    inverse = B.from_numpy(np.linalg.pinv(G, hermitian=True).astype(B.to_numpy(XG).dtype))
    rhs = XG - l1 if l1 else XG
    return B.clamp_min(gram_product(rhs, inverse, B), 0.0)


def solve_rows_hals(data, Ht, *, l1, l2, max_sweeps, tol, B):
    """W for X fixed and H fixed (``transform``): least-squares start, then HALS
    with per-row stopping. Sparse X stays sparse (one product ``X @ Ht``); missing
    entries are left out (per-row Gram matrices)."""
    XHt = data.matmul(Ht)
    HtHt = row_grams(data, Ht, B)
    W = least_squares_start(XHt, HtHt, l1=l1, l2=l2, B=B)
    W, _ = hals_sweeps(W, XHt, HtHt, l1=l1, l2=l2, max_sweeps=max_sweeps, tol=tol, B=B,
                       per_row=True)
    return W


def projected_gradient_step(Ht, A, Bt, *, l1, l2, eta, B, fixed=None):
    """One projected gradient step of Ht on ``0.5 tr(H A H^T) - <B, H>``, of size
    ``eta / L`` with ``L = lambda_max(A) + l2`` (the Lipschitz constant of the
    gradient; the largest over the rows for per-row Gram matrices)."""
    lipschitz = float(np.max(np.linalg.eigvalsh(B.to_numpy(A).astype(np.float64)))) + l2
    if lipschitz <= 0:
        return Ht
    grad = gram_product(Ht, A, B) - Bt
    if l2:
        grad = grad + l2 * Ht
    if l1:
        grad = grad + l1
    step = B.clamp_min(Ht - (eta / lipschitz) * grad, 0.0)
    if fixed is None:
        return step
    xp = B.namespace()
    keep = np.zeros(Ht.shape[1], dtype=bool)
    keep[list(fixed)] = True
    keep = xp.asarray(keep, device=array_api_compat.device(Ht))
    return xp.where(keep[None, :], Ht, step)


def objective_from_statistics(sq_norm, A, Bt, Ht, B):
    """``0.5 ||X - W H||^2`` from ``A = W^T W`` and ``Bt = X^T W`` (no pass over X);
    over the observed entries with per-feature ``A`` (missing entries)."""
    xp = B.namespace()
    return 0.5 * (sq_norm - 2.0 * xp.sum(Bt * Ht) + gram_quadratic(A, Ht, B))


def _penalty_value(Ws, Ht, l1_W, l2_W, l1_H, l2_H, xp):
    value = 0.0
    if l1_W or l2_W:
        for W in Ws:
            value = value + l1_W * xp.sum(W) + 0.5 * l2_W * xp.sum(W * W)
    if l1_H:
        value = value + l1_H * xp.sum(Ht)
    if l2_H:
        value = value + 0.5 * l2_H * xp.sum(Ht * Ht)
    return value


def _check_finite(value, epoch):
    if not math.isfinite(value):
        raise RuntimeError(
            f"the objective became {value} at epoch {epoch}: the data overflow the "
            "floating-point type, or the learning rate is too large. Rescale X, use "
            "float64, or lower eta0."
        )


def minibatch_nmf(
    batches, Ws, Ht, *, A_past=None, Bt_past=None, sq_norm_past=0.0,
    l1_W, l2_W, l1_H, l2_H, max_iter, tol, n_iter_no_change, learning_rate, eta0,
    power_t, rng, shuffle, B, w_sweeps=10, h_sweeps=1, fixed=None, callback=None,
):
    """Epochs of minibatch NMF over ``batches`` (the rows of X in blocks).

    Parameters
    ----------
    batches : list of DataMatrix
        The minibatches of X (rows), in the order of ``Ws``.
    Ws : list of arrays of shape (batch_rows, n_components)
        The current W rows of each batch (the start).
    Ht : array of shape (n_features, n_components)
        The transpose of H (the start).
    A_past, Bt_past, sq_norm_past : arrays, arrays and float, default=None, None, 0
        Statistics of earlier chunks (streaming), already weighted by the
        forgetting factor; they stay fixed while this data is fitted.
    l1_W, l2_W, l1_H, l2_H : float
        Regularization weights (``losses.regularization``; the H weights scaled to
        the number of samples the statistics stand for).
    max_iter : int
        Maximum number of epochs.
    tol : float
        An epoch improves when ``sqrt(2 * objective)`` falls by at least ``tol``
        times its value at the start.
    n_iter_no_change : int
        Stop after this many epochs in a row without improvement (with
        ``learning_rate='adaptive'``, divide ``eta`` by 5 instead, and stop once it
        is below 1e-6).
    learning_rate : {'lipschitz', 'constant', 'invscaling', 'adaptive'}
        Step of H: 'lipschitz' is a HALS sweep (step ``1 / A_jj`` for row j of H);
        the others are full projected gradient steps ``eta / lambda_max(A)`` with
        ``eta = eta0``, ``eta0 / t ** power_t`` (t the epoch), or adaptive.
    rng : numpy RandomState
        Order of the batches in each epoch when ``shuffle``.
    B : backend
    w_sweeps, h_sweeps : int
        HALS sweeps per minibatch for ``W_b`` (at most; stopped once they stall)
        and for H.
    fixed : sequence of int, default=None
        Components whose column of ``Ht`` is kept as given, bit for bit.
    callback : callable, default=None
        Called as ``callback(epoch, objective)`` after every epoch (and at 0).

    Returns
    -------
    Ws, Ht : list of arrays, array
    A, Bt : arrays
        The statistics of this data and the past ones together.
    sq_norm : float
    n_epochs : int
    n_steps : int
        Minibatch steps run.
    history : list of (int, float)
        The objective (0.5 ||X - W H||^2 plus penalties, past chunks included) at
        the start and after every epoch.
    converged : bool
    """
    xp = B.namespace()
    Ws = list(Ws)
    A = A_past + 0.0 if A_past is not None else xp.zeros((Ht.shape[1], Ht.shape[1]), dtype=Ht.dtype)
    Bt = Bt_past + 0.0 if Bt_past is not None else xp.zeros_like(Ht)
    sq_norm = float(sq_norm_past)
    for batch, W in zip(batches, Ws):
        A = A + row_grams(batch.T, W, B)
        Bt = Bt + batch.T.matmul(W)
        sq_norm += batch.squared_norm

    def objective():
        value = objective_from_statistics(sq_norm, A, Bt, Ht, B)
        return B.scalar(value + _penalty_value(Ws, Ht, l1_W, l2_W, l1_H, l2_H, xp))

    current = objective()
    _check_finite(current, 0)
    history = [(0, current)]
    if callback is not None:
        callback(0, current)
    error_at_init = best_error = math.sqrt(2.0 * max(current, 0.0))
    eta = float(eta0)
    no_improvement = 0
    converged = False
    n_steps = 0
    epoch = 0
    for epoch in range(1, max_iter + 1):
        order = rng.permutation(len(batches)) if shuffle else range(len(batches))
        if learning_rate == "invscaling":
            eta = float(eta0) / epoch**power_t
        for index in order:
            batch, W_old = batches[index], Ws[index]
            XHt = batch.matmul(Ht)
            HtHt = row_grams(batch, Ht, B)
            W_new, _ = hals_sweeps(W_old, XHt, HtHt, l1=l1_W, l2=l2_W, max_sweeps=w_sweeps,
                                   tol=0.1, B=B)
            A = A + (row_grams(batch.T, W_new, B) - row_grams(batch.T, W_old, B))
            Bt = Bt + batch.T.matmul(W_new - W_old)
            Ws[index] = W_new
            if learning_rate == "lipschitz":
                Ht, _ = hals_sweeps(Ht, Bt, A, l1=l1_H, l2=l2_H, max_sweeps=h_sweeps, tol=0.0,
                                    B=B, fixed=fixed)
            else:
                Ht = projected_gradient_step(Ht, A, Bt, l1=l1_H, l2=l2_H, eta=eta, B=B,
                                             fixed=fixed)
            n_steps += 1
        # A is cheap to recompute exactly: no drift from the incremental updates
        A = (A_past + 0.0) if A_past is not None else xp.zeros_like(A)
        for batch, W in zip(batches, Ws):
            A = A + row_grams(batch.T, W, B)
        current = objective()
        _check_finite(current, epoch)
        history.append((epoch, current))
        if callback is not None:
            callback(epoch, current)
        error = math.sqrt(2.0 * max(current, 0.0))
        if error_at_init == 0:
            converged = True
            break
        if best_error - error >= tol * error_at_init:
            no_improvement = 0
        else:
            no_improvement += 1
        best_error = min(best_error, error)
        if no_improvement >= n_iter_no_change:
            if learning_rate == "adaptive" and eta > 1e-6:
                eta /= 5.0
                no_improvement = 0
                continue
            converged = True
            break
    return Ws, Ht, A, Bt, sq_norm, epoch, n_steps, history, converged
