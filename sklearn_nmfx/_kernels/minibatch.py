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
the Gram matrix of each row its own (:func:`hals.row_grams`): column ``j`` of H sees
``A_j = sum_i m_ij w_i w_i^T``, so the masked gradients are exact and the algorithm
is the same.
"""

import math

import array_api_compat
import numpy as np

from .driver import iterate
from .hals import gram_product, gram_quadratic, hals_sweeps, row_grams
from .losses import frobenius_objective, penalty

LEARNING_RATES = ("lipschitz", "constant", "invscaling", "adaptive")


def decayed_statistics(statistics, n_rows, forget_factor):
    """The statistics of the rows seen so far, weighted for a new chunk of ``n_rows``
    rows: the weight of the past is multiplied by ``forget_factor ** (n_rows /
    n_seen)``. ``statistics`` is ``(A, Bt, squared_norm, n_seen)``; returns the
    decayed ``(A, Bt, squared_norm)`` and the weight of all rows with the chunk."""
    A, Bt, squared_norm, n_seen = statistics
    decay = float(forget_factor) ** (n_rows / max(n_seen, 1.0))
    return (decay * A, decay * Bt, decay * squared_norm), decay * n_seen + n_rows


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
    return frobenius_objective(sq_norm, B.namespace().sum(Bt * Ht), gram_quadratic(A, Ht, B))


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
        value = value + sum(penalty(W, None, l1_W, l2_W, 0.0, 0.0, xp) for W in Ws)
        return B.scalar(value + penalty(None, Ht, 0.0, 0.0, l1_H, l2_H, xp))

    current = objective()
    error_at_init = math.sqrt(2.0 * max(current, 0.0))
    state = {"eta": float(eta0), "best_error": error_at_init, "no_improvement": 0,
             "n_steps": 0}

    def epoch(n_epoch, check):
        nonlocal A, Bt, Ht
        order = rng.permutation(len(batches)) if shuffle else range(len(batches))
        if learning_rate == "invscaling":
            state["eta"] = float(eta0) / n_epoch**power_t
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
                Ht = projected_gradient_step(Ht, A, Bt, l1=l1_H, l2=l2_H, eta=state["eta"],
                                             B=B, fixed=fixed)
            state["n_steps"] += 1
        # A is cheap to recompute exactly: no drift from the incremental updates
        A = (A_past + 0.0) if A_past is not None else xp.zeros_like(A)
        for batch, W in zip(batches, Ws):
            A = A + row_grams(batch.T, W, B)
        return objective()

    def converged(n_epoch, current):
        """No improvement by ``tol`` in ``n_iter_no_change`` epochs (with the adaptive
        rate: then a smaller eta first)."""
        error = math.sqrt(2.0 * max(current, 0.0))
        if error_at_init == 0:
            return True
        if state["best_error"] - error >= tol * error_at_init:
            state["no_improvement"] = 0
        else:
            state["no_improvement"] += 1
        state["best_error"] = min(state["best_error"], error)
        if state["no_improvement"] < n_iter_no_change:
            return False
        if learning_rate == "adaptive" and state["eta"] > 1e-6:
            state["eta"] /= 5.0
            state["no_improvement"] = 0
            return False
        return True

    n_epochs, history, is_converged = iterate(
        epoch, current, max_iter=max_iter, converged=converged, dtype=B.numpy_dtype(Ht),
        callback=callback, unit="epoch", lowering=None if learning_rate == "lipschitz" else "eta0",
    )
    return Ws, Ht, A, Bt, sq_norm, n_epochs, state["n_steps"], history, is_converged
