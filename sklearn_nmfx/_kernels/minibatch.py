"""Minibatch (online) NMF for any beta divergence, scikit-learn's ``MiniBatchNMF`` scheme.

The algorithm is the online NMF of Lefevre, Bach & Fevotte (2011), after the online
matrix factorization of Mairal, Bach, Ponce & Sapiro (2010), as scikit-learn's
``MiniBatchNMF`` runs it. The minibatches are visited in turn; for each batch
``X_b``:

- its rows ``W_b`` take a majorization-minimization step with H fixed (or, with
  ``fresh_restarts``, are solved from scratch, ``solve.solve_W``);
- the statistics of H's surrogate objective are multiplied by ``rho`` (the forget
  factor, ``forget_factor ** (batch_size / n_samples)``) and the batch's terms are
  added;
- H takes a majorization-minimization step on that surrogate.

The steps are those of MUNMF, the same functions: for the Frobenius loss the fast
multiplicative update (``mu.frobenius_update``: Pham et al.'s tighter majorant,
repeated on fixed products as Gillis & Glineur do, column by column up to 10
components as in MUNMF, ``mu.inner_rule``), on the statistics
``A = sum rho^t W_b^T W_b`` (k x k) and ``Bt = sum rho^t X_b^T W_b``, so that with
one batch and ``rho = 0`` a step is exactly an iteration of MUNMF; for the other
beta divergences the Fevotte & Idier ratio, whose numerator and denominator are
accumulated as scikit-learn accumulates them. Sparse X is never densified.
``learning_rate`` other than 'mu' (Frobenius loss only) replaces the steps by HALS
sweeps ('lipschitz') or projected gradient steps of a schedule ('constant',
'invscaling', 'adaptive'), on the same statistics.

H is kept transposed (``Ht``, shape ``(n_features, n_components)``), so that the
update of ``Ht`` against ``(A, Bt)`` is the update of ``W_b`` against
``(H H^T, X_b H^T)``: one function serves both.

The stopping rules are scikit-learn's: the relative change of H between two steps
falls to ``tol``, or an exponentially weighted average of the batch costs has not
improved for ``max_no_improvement`` steps.

Missing entries (a mask of observed entries) take the general ratio steps (and,
with 'lipschitz' or the gradient rates, per-row Gram matrices, ``hals.row_grams``).
"""

import math

import array_api_compat
import numpy as np

from .driver import check_finite
from .hals import gram_product, hals_sweeps, row_grams
from .losses import beta_divergence, frobenius_objective, penalty
from .mu import (
    beta_H_terms,
    beta_step,
    frobenius_update,
    inner_repeats,
    inner_rule,
    update_exponent,
)

LEARNING_RATES = ("mu", "lipschitz", "constant", "invscaling", "adaptive")


def forget_rate(forget_factor, batch_rows, n_samples):
    """``rho``, the weight kept by the statistics at each step: ``forget_factor **
    (batch_rows / n_samples)`` (scikit-learn's ``MiniBatchNMF``)."""
    return float(forget_factor) ** (batch_rows / n_samples)


def initial_statistics(Ht, beta, B):
    """The statistics before any batch: for the Frobenius loss zeros for ``(A, Bt)``
    with a weight of 0 rows; for the other losses scikit-learn's ``(H, 1)`` for the
    ratio's numerator and denominator (the start H as the ratio)."""
    xp = B.namespace()
    if beta == 2:
        k = Ht.shape[1]
        return {"A": xp.zeros((k, k), dtype=Ht.dtype, device=array_api_compat.device(Ht)),
                "Bt": xp.zeros_like(Ht), "weight": 0.0}
    return {"numerator": xp.asarray(Ht, copy=True), "denominator": xp.ones_like(Ht)}


def _mu_update(F, XG, grams, l1, l2, nnz, n_other, floor, B, fixed=None):
    """The 'mu' step of the rows F on ``(grams, XG)``, repeated as often as
    ``inner_repeats`` says: MUNMF's rule (``inner_rule``: the column rule at few
    components) where the Gram matrix is shared, the joint step with its alpha of 2
    (:func:`masked_frobenius_update`) for per-row ones (missing entries)."""
    n_rows, k = F.shape
    if grams.ndim == 2:
        columns, alpha = inner_rule(k)
        repeats = inner_repeats(nnz, n_rows, n_other, k, alpha=alpha)
        return frobenius_update(F, XG, grams, l1, l2, repeats, floor, B, fixed=fixed,
                                columns=columns)
    repeats = inner_repeats(nnz, n_rows, n_other, k, alpha=2.0)
    return masked_frobenius_update(F, XG, grams, l1, l2, repeats, floor, B, fixed=fixed)


def masked_frobenius_update(F, XG, grams, l1, l2, n_repeats, floor, B, delta=0.05,
                            fixed=None, relax=1.99):
    """``mu.frobenius_update`` for per-row Gram matrices (missing entries): the fast
    MU step ``F - s (F G_i + l2 F - X G + l1)`` of each row ``i`` with its own
    diagonal majorant ``s_i = relax / (G_i 1 + l2)``, projected on ``F >= 0``,
    repeated while it still moves; the columns ``fixed`` are kept."""
    xp = B.namespace()
    scale = relax / B.clamp_min(xp.sum(grams, axis=1) + l2, floor)
    first = None
    for _ in range(n_repeats):
        grad = gram_product(F, grams, B) - XG
        if l2:
            grad = grad + l2 * F
        if l1:
            grad = grad + l1
        new = B.clamp_min(F - scale * grad, 0.0)
        if fixed is not None:
            new = xp.where(fixed[None, :], F, new)
        moved = B.scalar(B.sum_of_squares(new - F))
        F = new
        if first is None:
            first = moved
        elif moved <= delta * delta * first:
            break
    return F


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
    return B.namespace().where(fixed[None, :], Ht, step)


class MinibatchSteps:
    """The minibatch step of one fit (or one stream), with its statistics.

    Parameters
    ----------
    Ht : array of shape (n_features, n_components)
        The transpose of H (the start); updated by each step (``self.Ht``).
    statistics : dict
        From :func:`initial_statistics` or an earlier fit.
    beta : float
    rho : float
        The weight kept by the statistics at each step.
    penalties : callable
        ``penalties(n_rows) -> (l1_W, l2_W, l1_H, l2_H)``: the regularization weights
        for a batch of ``n_rows`` rows (``losses.regularization``).
    learning_rate : str
        One of :data:`LEARNING_RATES`.
    eta0, power_t : float
        The step schedule of the gradient learning rates.
    floor, eps : float
        ``mu.floors`` of the whole data.
    fresh_restarts, fresh_restarts_max_iter : bool, int
        Whether each batch's W is solved from scratch (``solve_W(batch, Ht,
        max_iter)``), and the iterations of that solve.
    solve_W : callable
        ``solve_W(batch, Ht, max_iter) -> W_b``.
    B : backend
    fixed : sequence of int, default=None
        Components whose column of ``Ht`` is kept as given, bit for bit.
    """

    def __init__(self, Ht, statistics, *, beta, rho, penalties, learning_rate, eta0, power_t,
                 floor, eps, fresh_restarts, fresh_restarts_max_iter, solve_W, B, fixed=None):
        self.Ht = Ht
        self.statistics = dict(statistics)
        self.quadratic = "A" in statistics
        self.beta, self.rho, self.penalties = beta, float(rho), penalties
        self.learning_rate, self.eta, self.eta0, self.power_t = (
            learning_rate, float(eta0), float(eta0), float(power_t))
        self.floor, self.eps = floor, eps
        self.fresh_restarts, self.fresh_restarts_max_iter = fresh_restarts, fresh_restarts_max_iter
        self.solve_W, self.B = solve_W, B
        self.fixed_list = None if fixed is None else [int(j) for j in fixed]
        self.fixed = None
        if fixed is not None:
            xp = B.namespace()
            self.fixed = B.bool_array(np.isin(np.arange(Ht.shape[1]), self.fixed_list))
            self._fixed_index = xp.asarray(np.asarray(self.fixed_list, dtype=np.int64),
                                           device=array_api_compat.device(Ht))
            self._fixed_values = xp.asarray(Ht[:, self._fixed_index], copy=True)

    def __call__(self, batch, W):
        """One step on the batch (a data matrix) with its current rows W (None: solved
        from scratch). Returns the new W and the batch cost (its divergence plus the
        penalties, per row, after the W step and before the H step)."""
        B = self.B
        xp = B.namespace()
        n_rows, n_features = batch.shape
        l1_W, l2_W, l1_H, l2_H = self.penalties(n_rows)
        Ht = self.Ht
        XHt = HtHt = None
        if self.fresh_restarts or W is None:
            W = self.solve_W(batch, Ht, self.fresh_restarts_max_iter)
        elif self.quadratic and self.learning_rate == "mu":
            XHt, HtHt = batch.matmul(Ht), row_grams(batch, Ht, B)
            W = _mu_update(W, XHt, HtHt, l1_W, l2_W, batch.n_nonzero, n_features,
                           self.floor, B)
        elif self.quadratic:
            XHt, HtHt = batch.matmul(Ht), row_grams(batch, Ht, B)
            W, _ = hals_sweeps(W, XHt, HtHt, l1=l1_W, l2=l2_W, max_sweeps=10, tol=0.1, B=B)
        else:
            W = beta_step(batch, W, Ht, beta=self.beta, l1=l1_W, l2=l2_W, floor=self.floor,
                          eps=self.eps)
        if self.quadratic and batch.mask is None:
            if XHt is None:
                XHt, HtHt = batch.matmul(Ht), B.gram(Ht)
            WtW = B.gram(W)
            divergence = frobenius_objective(batch.squared_norm, B.inner(W, XHt),
                                             B.inner(WtW, HtHt))
        else:
            WtW = None
            divergence = beta_divergence(batch, W, Ht, beta=self.beta, eps=self.eps)
        cost = B.scalar(divergence + penalty(W, Ht, l1_W, l2_W, l1_H, l2_H, xp)) / n_rows
        if self.quadratic:
            self._quadratic_H_step(batch, W, WtW)
        else:
            self._ratio_H_step(batch, W, l1_H, l2_H)
        return W, cost

    def _quadratic_H_step(self, batch, W, WtW):
        B, rho, stats = self.B, self.rho, self.statistics
        grams = WtW if WtW is not None else row_grams(batch.T, W, B)
        if stats["A"].ndim != grams.ndim:  # the first masked batch: per-row grams
            stats["A"] = stats["A"][None, :, :] + 0.0 * grams
        stats["A"] = rho * stats["A"] + grams
        stats["Bt"] = rho * stats["Bt"] + batch.rmatmul(W)
        stats["weight"] = rho * stats["weight"] + batch.shape[0]
        _, _, l1_H, l2_H = self.penalties(stats["weight"])
        A, Bt, Ht = stats["A"], stats["Bt"], self.Ht
        if self.learning_rate == "mu":
            Ht = _mu_update(Ht, Bt, A, l1_H, l2_H, batch.n_nonzero, batch.shape[0],
                            self.floor, B, fixed=self.fixed)
        elif self.learning_rate == "lipschitz":
            Ht, _ = hals_sweeps(Ht, Bt, A, l1=l1_H, l2=l2_H, max_sweeps=1, tol=0.0, B=B,
                                fixed=self.fixed_list)
        else:
            Ht = projected_gradient_step(Ht, A, Bt, l1=l1_H, l2=l2_H, eta=self.eta, B=B,
                                         fixed=self.fixed)
        self.Ht = self._keep_fixed(Ht)

    def _ratio_H_step(self, batch, W, l1_H, l2_H):
        """scikit-learn's online ratio: ``H = (A / B) ** gamma`` with
        ``A = rho A + num * H ** (1 / gamma)`` and ``B = rho B + den`` (penalties of the
        batch in ``den``)."""
        B, rho, stats, Ht = self.B, self.rho, self.statistics, self.Ht
        num, den = beta_H_terms(batch, W, Ht=Ht, beta=self.beta, eps=self.eps)
        if l2_H:
            den = den + l2_H * Ht
        if l1_H:
            den = den + l1_H
        gamma = update_exponent(self.beta)
        stats["numerator"] = rho * stats["numerator"] + num * (
            Ht if gamma == 1.0 else Ht ** (1.0 / gamma))
        stats["denominator"] = rho * stats["denominator"] + den
        new = stats["numerator"] / B.clamp_min(stats["denominator"], self.floor)
        if gamma != 1.0:
            new = new**gamma
        if self.fixed is not None:
            new = B.namespace().where(self.fixed[None, :], Ht, new)
        self.Ht = self._keep_fixed(new)

    def _keep_fixed(self, Ht):
        """The fixed columns, bit for bit whatever the rounding of the step."""
        if self.fixed is not None:
            Ht[:, self._fixed_index] = self._fixed_values
        return Ht

    def start_epoch(self, n_epoch):
        if self.learning_rate == "invscaling":
            self.eta = self.eta0 / n_epoch**self.power_t


def minibatch_nmf(batches, Ws, steps, *, n_samples, max_iter, tol, max_no_improvement, rng,
                  shuffle, B, callback=None):
    """Epochs of minibatch NMF over ``batches`` (the rows of X in blocks).

    Parameters
    ----------
    batches : list of DataMatrix
        The minibatches of X (rows), in the order of ``Ws``.
    Ws : list of arrays of shape (batch_rows, n_components)
        The current W rows of each batch (the start).
    steps : MinibatchSteps
        The step, holding H (``steps.Ht``) and its statistics.
    n_samples : int
        The rows of X (the weight of the batch costs' moving average).
    max_iter : int
        Maximum number of epochs (passes over the batches).
    tol : float
        Stop once a step changes H by at most ``tol`` times its norm (tol > 0).
    max_no_improvement : int or None
        Stop once the moving average of the batch costs has not improved for this
        many steps (with ``learning_rate='adaptive'``, divide the step by 5 first,
        and stop once it is below 1e-6). None: never.
    rng : numpy RandomState
        Order of the batches in each epoch when ``shuffle``.
    B : backend
    callback : callable, default=None
        Called as ``callback(epoch, mean_batch_cost)`` after every epoch.

    Returns
    -------
    Ws : list of arrays
    n_steps : int
        Minibatch steps run.
    history : list of (int, float)
        The mean batch cost of every epoch (the last one may be partial).
    converged : bool
        Whether a stopping rule stopped the fit before ``max_iter`` epochs.
    """
    Ws = list(Ws)
    n_batches = len(batches)
    ewa = {"cost": None, "min": None, "no_improvement": 0}
    history = []
    n_steps = 0
    dtype = B.numpy_dtype(steps.Ht)
    lowering = None if steps.learning_rate in ("mu", "lipschitz") else "eta0"

    def stop_after(batch_rows, cost, H_change, H_norm):
        """scikit-learn's ``MiniBatchNMF`` rules, after every step but the first."""
        alpha = min(batch_rows / (n_samples + 1), 1.0)
        ewa["cost"] = cost if ewa["cost"] is None else ewa["cost"] * (1 - alpha) + cost * alpha
        if tol > 0 and H_change <= tol * H_norm:
            return True
        if ewa["min"] is None or ewa["cost"] < ewa["min"]:
            ewa["no_improvement"], ewa["min"] = 0, ewa["cost"]
        else:
            ewa["no_improvement"] += 1
        if max_no_improvement is None or ewa["no_improvement"] < max_no_improvement:
            return False
        if steps.learning_rate == "adaptive" and steps.eta > 1e-6:
            steps.eta /= 5.0
            ewa["no_improvement"] = 0
            return False
        return True

    for n_epoch in range(1, max_iter + 1):
        steps.start_epoch(n_epoch)
        order = rng.permutation(n_batches) if shuffle else range(n_batches)
        costs, stopped = [], False
        for index in order:
            batch = batches[index]
            Ht_before = B.namespace().asarray(steps.Ht, copy=True)
            Ws[index], cost = steps(batch, Ws[index])
            n_steps += 1
            check_finite(cost, n_epoch, dtype=dtype, unit="epoch", lowering=lowering)
            costs.append(cost)
            if n_steps == 1:  # H was not updated before the first step's cost
                continue
            change = math.sqrt(B.scalar(B.sum_of_squares(steps.Ht - Ht_before)))
            norm = math.sqrt(B.scalar(B.sum_of_squares(steps.Ht)))
            if stop_after(batch.shape[0], cost, change, norm):
                stopped = True
                break
        history.append((n_epoch, float(np.mean(costs))))
        if callback is not None:
            callback(n_epoch, history[-1][1])
        if stopped:
            return Ws, n_steps, history, True
    return Ws, n_steps, history, False
