"""NMF by PyTorch autograd and a torch optimizer (Adam, L-BFGS, SGD, or any other).

The objective ``d_beta(X, W H) + penalties`` (or a user loss) is written as a torch
expression and differentiated by autograd; an optimizer steps the factors, which
are kept non-negative by projection after each step (exact zeros) or by a
reparametrization (``W = softplus(P)`` or ``exp(P)``, strictly positive).

The built-in losses never densify a sparse X:

- Frobenius: ``0.5 (||X||^2 - 2 <X, W H> + <W^T W, H H^T>)``, one autograd
  function whose forward computes ``X @ H^T`` (kept) and whose backward is the
  written-out gradient ``W (H H^T) - X H^T``, ``H^T (W^T W) - X^T W`` (a product
  with the CSR copy of X^T): two sparse products per step, as in an MU iteration.
- Kullback-Leibler on sparse X: ``sum x log(x / WH) - sum x + sum WH`` with
  ``WH`` gathered at the non-zeros only and ``sum WH`` from column sums.
- Other beta divergences form ``W H`` by row blocks, running the backward of each
  block at once, so that one block of ``W H`` is alive at a time.

A user loss ``loss(X, WH)`` receives dense tensors. torch is imported by the
functions here only, and this module is imported only by AutogradNMF.
"""

import math

import numpy as np

from .driver import iterate
from .losses import beta_divergence, dense_terms, frobenius_objective, penalty

OPTIMIZERS = ("adam", "lbfgs", "sgd")
CONSTRAINTS = ("project", "softplus", "exp")
# the base of learning_rate='auto' (for Adam, relative to the largest start entry)
AUTO_LEARNING_RATE = {"adam": 0.1, "sgd": 1.0, "lbfgs": 1.0}
# Adam's moment decays for 'adam' unless optimizer_kwargs give others: the gradient
# is exact (full batch), so its averages need a memory of about 5 and 10 steps, not
# torch's 10 and 1000 (there early, large gradients keep the steps small for
# hundreds of steps)
ADAM_BETAS = (0.8, 0.9)


def _torch():
    import torch

    return torch


# -- non-negativity ---------------------------------------------------------------
def to_free(F, constraint, floor):
    """The unconstrained parameter whose image is F (a copy of F for 'project')."""
    torch = _torch()
    if constraint == "project":
        return F.detach().clone()
    F = torch.clamp(F.detach(), min=floor)
    if constraint == "exp":
        return torch.log(F)
    return F + torch.log(-torch.expm1(-F))  # softplus^-1, stable for large F


def from_free(P, constraint):
    """The non-negative factor of a parameter."""
    torch = _torch()
    if constraint == "project":
        return P
    if constraint == "exp":
        return torch.exp(P)
    return torch.nn.functional.softplus(P)


# -- losses -----------------------------------------------------------------------
_FROBENIUS = []


def _frobenius_class():
    if _FROBENIUS:
        return _FROBENIUS[0]
    torch = _torch()

    class FrobeniusLoss(torch.autograd.Function):
        """``0.5 ||X - W Ht^T||^2`` by the trace form, with its gradient written out:
        ``W Ht^T Ht - X Ht`` and ``Ht W^T W - X^T W``, the products of X (sparse or
        dense) by DataMatrix. Autograd would spend four Gram-sized products on the
        backward of ``<W^T W, Ht^T Ht>``; this spends two."""

        @staticmethod
        def forward(ctx, W, Ht, data, XHt):
            if XHt is None:
                XHt = data.matmul(Ht)
            gram_W, gram_H = W.T @ W, Ht.T @ Ht
            inner = torch.dot(W.reshape(-1), XHt.reshape(-1))
            ctx.data = data
            ctx.save_for_backward(W, Ht, XHt, gram_W, gram_H)
            return frobenius_objective(data.squared_norm, inner, torch.sum(gram_W * gram_H))

        @staticmethod
        def backward(ctx, grad):
            W, Ht, XHt, gram_W, gram_H = ctx.saved_tensors
            grad_W = grad_Ht = None
            if ctx.needs_input_grad[0]:
                grad_W = torch.addmm(XHt, W, gram_H, beta=-1.0).mul_(grad)
            if ctx.needs_input_grad[1]:
                grad_Ht = torch.addmm(ctx.data.rmatmul(W), Ht, gram_W, beta=-1.0).mul_(grad)
            return grad_W, grad_Ht, None, None

    _FROBENIUS.append(FrobeniusLoss)
    return FrobeniusLoss


def frobenius_loss(data, W, Ht, XHt=None):
    """``0.5 ||X - W Ht^T||^2``, differentiable in W and Ht, X never densified;
    ``XHt`` (``X @ Ht``) given when Ht is fixed."""
    return _frobenius_class().apply(W, Ht, data, XHt)


class Objective:
    """The loss of X against ``W Ht^T`` plus penalties, with its backward.

    ``evaluate(W, Ht, backward)`` returns the objective as a float and, when
    ``backward``, accumulates its gradient into the graph leaves of W and Ht.

    Parameters
    ----------
    data : DataMatrix (torch backend)
    beta : float or None
        The beta divergence, or None with ``user_loss``.
    user_loss : callable or None
        ``user_loss(X, WH) -> scalar tensor``, X and WH dense.
    l1_W, l2_W, l1_H, l2_H : float
    eps : float
        Floor of W H inside logarithms and negative powers.
    B : TorchBackend
    fixed_Ht : tensor or None
        With Ht fixed (``transform``), the Frobenius loss reuses ``X @ Ht``.
    """

    def __init__(self, data, *, beta, user_loss, l1_W, l2_W, l1_H, l2_H, eps, B,
                 fixed_Ht=None):
        self.data, self.beta, self.user_loss = data, beta, user_loss
        self.l1_W, self.l2_W, self.l1_H, self.l2_H = l1_W, l2_W, l1_H, l2_H
        self.eps, self.B = eps, B
        if user_loss is not None and data.mask is not None:
            raise ValueError(
                "missing values (NaN entries or a mask) are not supported with a "
                "callable beta_loss: the loss would see the missing entries."
            )
        self.XHt = None
        if fixed_Ht is not None and user_loss is None and beta == 2 and data.mask is None:
            self.XHt = data.matmul(fixed_Ht)
        self._X_dense = None

    def _penalty(self, W, Ht):
        return penalty(W, Ht, self.l1_W, self.l2_W, self.l1_H, self.l2_H, self.B.namespace())

    def evaluate(self, W, Ht, backward=True):
        torch = _torch()
        data, beta = self.data, self.beta
        if self.user_loss is not None:
            if self._X_dense is None:
                self._X_dense = self.B.densify(data.X)
            value = self.user_loss(self._X_dense, W @ Ht.T) + self._penalty(W, Ht)
            if not isinstance(value, torch.Tensor) or value.dim() != 0:
                raise TypeError(
                    "the loss callable must return a scalar tensor (0-d), got "
                    f"{type(value).__name__} {getattr(value, 'shape', '')}."
                )
        elif beta == 2 and data.mask is None:
            value = frobenius_loss(data, W, Ht, self.XHt) + self._penalty(W, Ht)
        elif beta == 1 and data.is_sparse:
            value = beta_divergence(data, W, Ht, beta=1.0, eps=self.eps) + self._penalty(W, Ht)
        else:
            return self._blockwise(W, Ht, backward)
        if backward and value.requires_grad:
            value.backward()
        return float(value.detach())

    def _blockwise(self, W, Ht, backward):
        """Any beta divergence over dense row blocks of W H, one block alive at a time
        (over the observed entries when some are missing)."""
        data = self.data
        needs_grad = backward and (W.requires_grad or Ht.requires_grad)
        total = self._penalty(W, Ht)
        if isinstance(total, _torch().Tensor):
            if needs_grad and total.requires_grad:
                total.backward(retain_graph=True)
            total = total.detach()
        total = float(total)
        for start, stop in data.dense_row_blocks():
            X_blk = self.B.densify(data.row_block(start, stop))
            mask = None if data.mask is None else data.mask[start:stop]
            value = dense_terms(X_blk, W[start:stop] @ Ht.T, mask, self.beta, self.B, self.eps)
            if needs_grad:
                value.backward(retain_graph=True)
            total += float(value.detach())
        return total


# -- optimizers -------------------------------------------------------------------
def make_optimizer(optimizer, params, learning_rates, optimizer_kwargs):
    """A torch optimizer over ``params`` (one parameter group each, its own lr)."""
    torch = _torch()
    kwargs = dict(optimizer_kwargs or {})
    if isinstance(optimizer, str):
        cls = {"adam": torch.optim.Adam, "lbfgs": torch.optim.LBFGS,
               "sgd": torch.optim.SGD}[optimizer]
        if optimizer == "adam":
            kwargs.setdefault("betas", ADAM_BETAS)
    else:
        cls = optimizer
    if "lr" in kwargs:
        groups = [{"params": [p]} for p in params]
    else:
        groups = [{"params": [p], "lr": lr} for p, lr in zip(params, learning_rates)]
    if cls is torch.optim.LBFGS:
        # L-BFGS takes one parameter group: one lr for all
        kwargs.setdefault("lr", learning_rates[0])
        kwargs.setdefault("max_iter", 1)
        kwargs.setdefault("history_size", 10)
        kwargs.setdefault("line_search_fn", "strong_wolfe")
        return cls(params, **kwargs)
    return cls(groups, **kwargs)


def default_learning_rates(optimizer, factors, constraint, objective_hessians, learning_rate):
    """The lr of each factor: for Adam ``learning_rate`` times the largest entry of
    the factor's start (Adam's steps are about lr per entry, whatever the gradient's
    scale, so this makes the step relative to the data's scale); for SGD ``learning_rate`` over the
    Lipschitz constant of the factor's gradient (Frobenius loss); for others
    ``learning_rate``."""
    torch = _torch()
    rates = []
    for F, hessian in zip(factors, objective_hessians):
        if optimizer == "adam":
            if constraint == "project":
                largest = float(torch.max(F)) if F.numel() else 0.0
                rates.append(learning_rate * (largest if largest > 0 else 1.0))
            else:
                rates.append(learning_rate)
        elif optimizer == "sgd":
            lipschitz = float(np.linalg.eigvalsh(hessian)[-1]) if hessian is not None else 1.0
            rates.append(learning_rate / max(lipschitz, 1e-12))
        else:
            rates.append(learning_rate)
    return rates


def autograd_nmf(
    objective, W, Ht, *, update_W=True, update_H=True, optimizer, optimizer_kwargs,
    learning_rate, constraint, max_iter, tol, n_iter_no_change, decay, floor,
    row_tol=None, check_every=10, fixed=None, callback=None,
):
    """Minimize ``objective`` over the non-negative W and/or Ht with a torch optimizer.

    The learning rate decays: every ``check_every`` steps the objective is checked
    and, once it fell by less than ``tol`` times its initial value (as
    ``sqrt(2 * objective)``) over the last check, every lr is multiplied by
    ``decay``. The fit stops after ``n_iter_no_change`` such decays in a row
    without improvement, or at ``max_iter``.

    With ``row_tol`` (``transform``: W only, H fixed) the schedule is fixed instead
    (``decay`` every ``check_every`` steps) and each row of W stops by itself once
    a check finds it moved by less than ``row_tol`` relative to its norm, so the
    result for a row does not depend on the other rows.

    ``learning_rate`` is 'auto', a float, or a list with the lr of each updated
    factor (``transform`` reuses the lr of W found by ``fit``, so that it does not
    depend on the rows transformed).

    ``fixed`` (a boolean tensor over the components, or None) marks columns of Ht
    that keep their given values, bit for bit: the objective sees them in place of
    the parameter's columns, which then get no gradient.

    Returns
    -------
    W, Ht : tensors (detached)
    n_iter : int
    history : list of (int, float)
    converged : bool
    rates : list of float
        The initial lr of each updated factor (W first).
    """
    torch = _torch()
    P_W = to_free(W, constraint, floor).requires_grad_(update_W)
    P_Ht = to_free(Ht, constraint, floor).requires_grad_(update_H)
    params = [p for p, on in ((P_W, update_W), (P_Ht, update_H)) if on]
    hessians = []
    if update_W:
        hessians.append(_gram_np(Ht))
    if update_H:
        hessians.append(_gram_np(W))
    factors = [F for F, on in ((W, update_W), (Ht, update_H)) if on]
    name = optimizer if isinstance(optimizer, str) else None
    if isinstance(learning_rate, (list, tuple)):
        rates = [float(rate) for rate in learning_rate]
    elif learning_rate == "auto":
        base = AUTO_LEARNING_RATE.get(name, 1e-3)
        rates = default_learning_rates(name, factors, constraint, hessians, base)
    else:
        rates = [float(learning_rate)] * len(params)
    opt = make_optimizer(optimizer, params, rates, optimizer_kwargs)
    is_lbfgs = isinstance(opt, torch.optim.LBFGS)

    Ht_given = Ht.detach()

    def factor_H():
        Ht_free = from_free(P_Ht, constraint)
        return Ht_free if fixed is None else torch.where(fixed[None, :], Ht_given, Ht_free)

    def closure():
        opt.zero_grad(set_to_none=False)
        return objective.evaluate(from_free(P_W, constraint), factor_H())

    with torch.no_grad():
        current = objective.evaluate(from_free(P_W, constraint), factor_H(), backward=False)

    def step(n_iter, check):
        if is_lbfgs:
            value = float(opt.step(lambda: torch.as_tensor(closure())))
        else:
            value = closure()
            opt.step()
        if constraint == "project":
            with torch.no_grad():
                for p in params:
                    p.clamp_(min=0.0)
        if row_tol is not None:
            with torch.no_grad():
                P_W.copy_(torch.where(rows["active"], P_W, rows["snapshot"]))
        return value

    if row_tol is None:
        converged = _StallRule(current, tol, n_iter_no_change, lambda: _scale_lr(opt, decay))
    else:
        # each row stops by itself; the schedule is fixed (decay at every check)
        rows = {"active": torch.ones((W.shape[0], 1), dtype=torch.bool, device=W.device),
                "snapshot": P_W.detach().clone()}

        def converged(n_iter, value):
            with torch.no_grad():
                moved = torch.sum((P_W - rows["snapshot"]) ** 2, dim=1, keepdim=True)
                size = torch.sum(P_W * P_W, dim=1, keepdim=True)
                rows["active"] &= moved > (row_tol * row_tol) * size
                rows["snapshot"] = P_W.detach().clone()
                _scale_lr(opt, decay)
            return not bool(torch.any(rows["active"]))

    n_iter, history, is_converged = iterate(
        step, current, max_iter=max_iter, converged=converged, dtype=objective.B.numpy_dtype(W),
        check_every=check_every, callback=callback, lowering="learning_rate",
    )
    W_out = from_free(P_W, constraint).detach()
    Ht_out = factor_H().detach()
    return W_out, Ht_out, n_iter, history, is_converged, rates


class _StallRule:
    """The objective has stalled when ``sqrt(2 * objective)`` fell by less than
    ``tol`` times its initial value since the last check: the learning rates then
    decay (``on_stall``), and the fit stops after ``n_iter_no_change`` stalls in a
    row (or at once when the start is exact)."""

    def __init__(self, objective, tol, n_iter_no_change, on_stall):
        self.error_at_init = self.previous_error = math.sqrt(2.0 * max(objective, 0.0))
        self.tol, self.n_iter_no_change, self.on_stall = tol, n_iter_no_change, on_stall
        self.stalls = 0

    def __call__(self, n_iter, objective):
        error = math.sqrt(2.0 * max(objective, 0.0))
        if self.error_at_init == 0:
            return True
        if self.previous_error - error < self.tol * self.error_at_init:
            self.stalls += 1
            if self.stalls > self.n_iter_no_change:
                return True
            self.on_stall()
        else:
            self.stalls = 0
        self.previous_error = min(self.previous_error, error)
        return False


def _scale_lr(opt, factor):
    for group in opt.param_groups:
        group["lr"] = group["lr"] * factor


def _gram_np(F):
    F = F.detach()
    return (F.T @ F).cpu().double().numpy()
