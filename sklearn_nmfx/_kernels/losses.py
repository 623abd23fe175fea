"""Beta divergences and the regularized NMF objective, computed without forming W @ H
where the loss allows it (Frobenius and Kullback-Leibler on sparse data)."""

import math

BETA_LOSS_NAMES = {"frobenius": 2.0, "kullback-leibler": 1.0, "itakura-saito": 0.0}


def beta_from_loss(beta_loss):
    """The beta value of a ``beta_loss`` parameter (a name or a float)."""
    if isinstance(beta_loss, str):
        return BETA_LOSS_NAMES[beta_loss]
    return float(beta_loss)


def regularization(alpha_W, alpha_H, l1_ratio, n_samples, n_features):
    """L1 and L2 weights on W and H, scaled as in scikit-learn's NMF.

    The objective is ``d_beta(X, WH) + l1_W ||W||_1 + l2_W / 2 ||W||_F^2 + l1_H ||H||_1
    + l2_H / 2 ||H||_F^2`` with ``l1_W = n_features * alpha_W * l1_ratio``,
    ``l2_W = n_features * alpha_W * (1 - l1_ratio)`` and the same for H with
    ``n_samples``. ``alpha_H='same'`` takes ``alpha_W``.
    """
    if isinstance(alpha_H, str) and alpha_H == "same":
        alpha_H = alpha_W
    return (
        n_features * alpha_W * l1_ratio,
        n_features * alpha_W * (1.0 - l1_ratio),
        n_samples * alpha_H * l1_ratio,
        n_samples * alpha_H * (1.0 - l1_ratio),
    )


def frobenius_objective(squared_norm_X, cross, gram):
    """``0.5 ||X - W H||^2`` without forming W H, from its three terms:
    ``0.5 (||X||^2 - 2 <W, X H^T> + <W^T W, H H^T>)``.

    ``cross`` is ``<W, X H^T>`` (or ``<B, H>`` with ``B = W^T X``, the statistics of
    a minibatch solver) and ``gram`` is ``<W^T W, H H^T>``, from products the solver
    already has; they nearly cancel, so callers sum them in float64.
    """
    return 0.5 * (squared_norm_X - 2.0 * cross + gram)


def dense_terms(X, WH, mask, beta, B, eps):
    """Sum of the beta divergence over a dense block (missing entries masked out)."""
    xp = B.namespace()
    if beta == 2:
        R = X - WH
        if mask is not None:
            R = R * mask
        return 0.5 * xp.sum(R * R)
    WH = B.clamp_min(WH, eps)
    if beta == 1:
        X_pos = B.clamp_min(X, eps)
        terms = X * xp.log(X_pos / WH) - X + WH
    elif beta == 0:
        ratio = X / WH
        terms = ratio - xp.log(B.clamp_min(ratio, eps)) - 1.0
    else:
        if beta < 0 and mask is not None:
            # missing entries hold 0, whose negative power is infinite (and inf * 0
            # is NaN, in the value and in its gradient): 1 there, masked out below
            X = xp.where(mask != 0, X, xp.ones_like(X))
        terms = (X**beta + (beta - 1) * WH**beta - beta * X * WH ** (beta - 1)) / (
            beta * (beta - 1)
        )
    if mask is not None:
        terms = terms * mask
    return xp.sum(terms)


def beta_divergence(data, W, Ht, *, beta, eps):
    """d_beta(X, W @ Ht.T) summed over the observed entries of X (0.5 ||.||^2 for beta=2).

    A sum over the rows of X: for X in row blocks, ``data.sum_blocks(beta_divergence,
    W, Ht=Ht, beta=beta, eps=eps)``.

    Parameters
    ----------
    data : DataMatrix
    W : array of shape (n_samples, n_components)
    Ht : array of shape (n_features, n_components)
    beta : float
    eps : float
        Floor for W @ H inside logarithms and negative powers.

    Returns
    -------
    value : 0-d array of the backend
    """
    B = data.backend
    xp = B.namespace()
    if data.is_sparse and beta == 2:
        XHt = data.matmul(Ht)
        return frobenius_objective(data.squared_norm, B.inner(W, XHt),
                                   B.inner(B.gram(W), B.gram(Ht)))
    if data.is_sparse and beta == 1:
        vals = data.values
        WH_nz = B.clamp_min(data.product_at_nonzeros(W, Ht), eps)
        total_WH = xp.sum(xp.sum(W, axis=0) * xp.sum(Ht, axis=0))
        return xp.sum(vals * xp.log(vals / WH_nz)) - data.total + total_WH
    if data.is_sparse and data.mask is None:
        return _sparse_beta_divergence(data, W, Ht, beta, eps)
    total = 0.0
    for start, stop in data.dense_row_blocks():
        X_blk = B.densify(data.row_block(start, stop))
        WH = W[start:stop] @ Ht.T
        mask = None if data.mask is None else data.mask[start:stop]
        total = total + dense_terms(X_blk, WH, mask, beta, B, eps)
    return total


def _sparse_beta_divergence(data, W, Ht, beta, eps):
    """d_beta for sparse X without densifying it: the terms with X at its non-zeros,
    and ``sum (W H)^beta / beta`` (the terms of the zeros of X, for beta > 0) over
    row blocks of W H. beta = 0 needs X > 0 everywhere (checked by the estimators):
    its terms are those of the stored entries."""
    B = data.backend
    xp = B.namespace()
    vals = data.values
    WH_nz = B.clamp_min(data.product_at_nonzeros(W, Ht), eps)
    if beta == 0:
        ratio = vals / WH_nz
        return xp.sum(ratio - xp.log(B.clamp_min(ratio, eps)) - 1.0)
    total = xp.sum(vals**beta - beta * vals * WH_nz ** (beta - 1)) / (beta * (beta - 1))
    for start, stop in data.dense_row_blocks():
        WH = B.clamp_min(W[start:stop] @ Ht.T, eps)
        total = total + xp.sum(WH**beta) / beta
    return total


def penalty(W, Ht, l1_W, l2_W, l1_H, l2_H, xp):
    """The regularization part of the objective."""
    value = 0.0
    if l1_W:
        value = value + l1_W * xp.sum(W)
    if l2_W:
        value = value + 0.5 * l2_W * xp.sum(W * W)
    if l1_H:
        value = value + l1_H * xp.sum(Ht)
    if l2_H:
        value = value + 0.5 * l2_H * xp.sum(Ht * Ht)
    return value


def error_from_divergence(divergence):
    """scikit-learn's ``reconstruction_err_``: sqrt(2 * d_beta), ``||X - WH||_F`` for beta=2."""
    return math.sqrt(2.0 * max(float(divergence), 0.0))
