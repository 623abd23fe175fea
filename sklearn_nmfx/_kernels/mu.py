"""Multiplicative updates for NMF with any beta divergence.

Lee & Seung (2001) for the Frobenius loss and Fevotte & Idier (2011) for beta
divergences: majorization-minimization steps whose diagonal majorant makes the
update a multiplication, so factors stay non-negative and the objective never
increases.

For the Frobenius loss the step is the fast multiplicative update of Pham, Cohen &
Chonavel (2023, "fastMU"): the same majorization-minimization, with the tighter
majorant ``diag(G^T G 1)`` in place of Lee & Seung's ``diag((F G^T G) / F)``. Entries
can reach exactly zero in one step (and leave it again), where Lee & Seung's rule
only lets them decay geometrically, which leaves it stuck on plateaus. It is
combined with the acceleration of
Gillis & Glineur (2012): the expensive products ``X @ H.T`` and ``H @ H.T`` are
computed once per outer iteration and the cheap update of W is repeated on them
while it still moves (the same for H). Up to ``COLUMN_RULE_MAX_COMPONENTS``
components each repeat takes the step one column at a time (``column_update``),
where the diagonal majorant is exact: the HALS step, Gillis & Glineur's
accelerated HALS.

The W and H updates are one function: H is kept transposed (``Ht``, shape
``(n_features, n_components)``), and the update of ``Ht`` is the update of ``W``
applied to ``X.T``. Missing entries (a mask of observed entries) are supported by
the general path.

The data matrix X may be in memory or in row blocks (Dask): the factors are in
memory, X is reached through its products and, for the row-local work of the beta
steps and the divergence, through ``data.map_blocks`` and ``data.sum_blocks``.
"""

import math

import array_api_compat
import numpy as np

from . import compiled
from .driver import iterate
from .hals import column_step_sizes, hals_sweeps
from .losses import beta_divergence, error_from_divergence, frobenius_objective, penalty


def update_exponent(beta):
    """Exponent of the MU ratio that makes the update monotone (Fevotte & Idier 2011)."""
    if beta < 1:
        return 1.0 / (2.0 - beta)
    if beta > 2:
        return 1.0 / (beta - 1.0)
    return 1.0


# MUNMF's Frobenius fit takes the column rule of ``frobenius_update`` (HALS) up to
# this many components, the fast MU rule above (see ``multiplicative_update``).
COLUMN_RULE_MAX_COMPONENTS = 10


def inner_rule(n_components):
    """``(columns, alpha)``: the rule of ``frobenius_update``'s repeats for a fit of
    ``n_components`` and Gillis & Glineur's alpha (repeats per product) for it.

    The column rule (HALS) at few components, where its steps converge in far fewer
    iterations; the joint fast MU step above, where its one matrix product per
    repeat is cheaper than k column steps (benchmarks/README.md). Alpha 2 for the
    joint step; 1 for the column steps, which move further each (Gillis & Glineur
    advise 0.5). MUNMF and SGDNMF's 'mu' steps share it, so that one batch without
    memory is an iteration of MUNMF.
    """
    columns = n_components <= COLUMN_RULE_MAX_COMPONENTS
    return columns, 1.0 if columns else 2.0


def inner_repeats(nnz, n_rows, n_other, n_components, alpha=2.0, max_repeats=50):
    """How often to repeat the cheap update per expensive product (Gillis & Glineur).

    ``rho`` is the cost of the products shared by the repeats (``X @ G`` and
    ``G.T @ G``) relative to one repeat (``F @ GtG``, ``n_rows * n_components**2``).
    """
    rho = 1.0 + (nnz + n_other * n_components) / (n_rows * (n_components + 1.0))
    return int(min(max_repeats, max(1, math.floor(1.0 + alpha * rho))))


def floors(dtype, max_value):
    """(denominator floor, floor of W @ H inside logs and negative powers), for X of
    the NumPy ``dtype`` whose largest entry is ``max_value``."""
    finfo = np.finfo(dtype)
    tiny = float(finfo.tiny)
    # X = 0 has no scale: a floor at tiny would overflow (W H)^(beta - 2) for beta < 1
    scale = float(max_value) if float(max_value) > 0 else 1.0
    eps = float(np.finfo(np.float32).eps) * scale
    return tiny, max(eps, tiny)


def frobenius_operator(XG, GtG, l1, l2, floor, B, relax=1.99, fixed=None, overwrite_XG=False):
    """``(M, C)`` such that the fast MU step of the rows F is ``max(F @ M + C, 0)``.

    The step is the projected gradient step ``F - s * (F (G^T G + l2 I) - X G + l1)``
    scaled by ``s = relax / (G^T G 1 + l2)``, the inverse of a diagonal majorant of
    the Hessian (``G^T G`` is non-negative, so its row sums bound it from above), so
    it never increases the objective for any ``relax`` in (0, 2). Rewritten as
    ``F @ M + C`` with ``M = I - (G^T G + l2 I) diag(s)`` and ``C = (X G - l1) diag(s)``,
    a repeat costs one small matrix product and two passes over F. With ``fixed`` (a
    boolean vector over the columns of F), the columns of ``M`` and ``C`` of the fixed
    columns are those of the identity and zero: the step leaves them as they are,
    and the free columns see them in their gradient. With ``overwrite_XG``, C is
    computed in the memory of XG.
    """
    xp = B.namespace()
    k = GtG.shape[0]
    identity = xp.eye(k, dtype=GtG.dtype, device=array_api_compat.device(GtG))
    hessian = GtG + l2 * identity if l2 else GtG
    scale = relax / B.clamp_min(xp.sum(hessian, axis=0), floor)
    M = identity - hessian * scale[None, :]
    if overwrite_XG:
        C = XG
        if l1:
            C -= l1
        C *= scale[None, :]
    else:
        C = (XG - l1) * scale[None, :] if l1 else XG * scale[None, :]
    if fixed is not None:
        M = xp.where(fixed[None, :], identity, M)
        C = xp.where(fixed[None, :], xp.zeros_like(C), C)
    return M, C


def frobenius_step(F, M, C, B):
    """One fast MU step of the rows F (Frobenius loss): ``max(F @ M + C, 0)``."""
    F_new = F @ M
    F_new += C
    return B.clamp_min_(F_new, 0.0)


def frobenius_step_in_place(F, M, C, B):
    """One fast MU step of the rows F, written over F; returns how far it moved
    them, ``||F_new - F||^2`` (0-d). F serves as the scratch of the difference."""
    F_new = frobenius_step(F, M, C, B)
    F -= F_new
    moved = B.sum_of_squares(F)
    F[...] = F_new
    return moved


def _compiled_arrays(B, *arrays):
    """Whether the backend has compiled kernels and these are NumPy arrays that they
    take (the same float dtype, C-contiguous)."""
    if not getattr(B, "compiled", False):
        return False
    dtype = arrays[0].dtype
    return dtype in (np.float32, np.float64) and all(
        isinstance(a, np.ndarray) and a.dtype == dtype and a.flags.c_contiguous
        for a in arrays)


def _fused(B, *arrays):
    """Whether the fused compiled repeats of the joint step take these arrays
    (:func:`_compiled_arrays`, and at most ``compiled.FROBENIUS_MAX_COMPONENTS``
    columns: above, the product ``F @ M`` dominates, and ``B.map_rows`` runs it on
    the cores where the fit keeps BLAS on one thread)."""
    return (arrays[0].shape[1] <= compiled.FROBENIUS_MAX_COMPONENTS
            and _compiled_arrays(B, *arrays))


def frobenius_update(F, XG, GtG, l1, l2, n_repeats, floor, B, delta=0.05, fixed=None,
                     overwrite_F=False, overwrite_XG=False, columns=False, measure=False):
    """Repeated fast MU steps on fixed products, stopped once a step moves less than
    ``delta`` times the first one (Gillis & Glineur 2012); the columns ``fixed``
    (boolean vector, or None) are not updated.

    With ``columns``, each repeat takes the steps one column of F at a time, the
    later columns seeing the new earlier ones (:func:`column_update`, which has its
    own kernels and reads neither ``floor`` nor ``overwrite_XG``): the same
    majorization-minimization, whose diagonal majorant is exact for one column;
    with ``measure`` too, it returns ``(F, change)`` (see :func:`column_update`).

    Otherwise (the joint step), where the backend has compiled kernels (numba),
    the repeats run in one fused
    kernel (``compiled.frobenius_repeats``: a pass over F and C per repeat, threads
    only for large F). Otherwise each step runs through ``B.map_rows``: on the CPU,
    row blocks that stay in the cache, on the cores, each written over its rows; on
    PyTorch, the whole matrix at once. Returns the updated F: F itself with
    ``overwrite_F``, else a copy (F is left as it is). With ``overwrite_XG``, XG is
    used as scratch memory.
    """
    if columns:
        return column_update(F, XG, GtG, l1, l2, n_repeats, B, delta=delta, fixed=fixed,
                             overwrite_F=overwrite_F, measure=measure)
    if measure:
        raise ValueError("measure needs columns=True")
    M, C = frobenius_operator(XG, GtG, l1, l2, floor, B, fixed=fixed,
                              overwrite_XG=overwrite_XG)
    if not overwrite_F:
        F = B.namespace().asarray(F, copy=True)
    if _fused(B, F, M, C):
        compiled.frobenius_repeats(F, M, C, n_repeats, delta)
        return F

    def step(F_rows, C_rows):
        return frobenius_step_in_place(F_rows, M, C_rows, B)

    first = None
    for _ in range(n_repeats):
        moved = B.scalar(B.map_rows(step, F, C))
        if first is None:
            first = moved
        elif moved <= delta * delta * first:
            break
    return F


def column_update(F, XG, GtG, l1, l2, n_repeats, B, delta=0.05, fixed=None,
                  overwrite_F=False, measure=False):
    """``frobenius_update``'s repeats one column of F at a time (Gauss-Seidel).

    For one column ``c`` of F, the others fixed, the Hessian of the objective is
    ``(G^T G)[c, c] + l2`` times the identity: the fast MU step's diagonal majorant
    (row sums of the Hessian) is then the objective itself, and its step, with the
    relaxation 1, is the exact minimizer over that column,
    ``max(F[:, c] + (X G - l1 - F (G^T G + l2 I))[:, c] / ((G^T G)[c, c] + l2), 0)``:
    the HALS step of Cichocki & Phan (2009), Gillis & Glineur's (2012) accelerated
    HALS when repeated on the same products. Each column step never increases the
    objective; taking them in turn lets each see the others' new values, which at a
    few components converges in far fewer iterations than the joint step
    (benchmarks/README.md). Columns whose diagonal is zero or below the rounding of
    the largest (a dead or switched-off component,
    ``hals.column_step_sizes(..., relative=True)``) and the ``fixed`` ones are left
    as they are.

    Where the backend has compiled kernels (numba), the sweeps run in
    ``compiled.column_sweeps``; otherwise in :func:`hals.hals_sweeps` (one step
    per column on the whole matrix, any backend), with the same step sizes. XG is
    only read. The stopping rule, the return and ``overwrite_F`` are those of
    :func:`frobenius_update`; with ``measure``, it returns ``(F, change)``, with the
    L1 change ``sum(|F_new - F|)`` (a float) that the compiled path sums while it
    writes F back.
    """
    step_sizes = column_step_sizes(B.to_numpy(GtG), l2, B.numpy_dtype(F), relative=True)
    if fixed is not None:
        step_sizes[B.to_numpy(fixed)] = 0.0  # a step of 0 leaves the column as it is
    if _compiled_arrays(B, F, XG):
        k = GtG.shape[0]
        hessian = GtG + l2 * np.eye(k, dtype=GtG.dtype) if l2 else GtG
        if not overwrite_F:
            F = F.copy()
        _, change = compiled.column_sweeps(F, XG, l1, hessian, step_sizes, n_repeats, delta)
        return (F, change) if measure else F
    F_new, _ = hals_sweeps(F, XG, GtG, l1=l1, l2=l2, max_sweeps=n_repeats, tol=delta, B=B,
                           step_sizes=step_sizes)
    change = B.scalar(_l1_change(F_new, F, B)) if measure else None
    if overwrite_F:
        F[...] = F_new
        F_new = F
    return (F_new, change) if measure else F_new


def beta_numerator_denominator(data, F, G, *, beta, eps):
    """Numerator and denominator of the MU ratio of the rows F for a beta divergence.

    For the rows of ``X ~ F @ G.T``: numerator ``(M * X * (F G^T)^(beta-2)) @ G`` and
    denominator ``(M * (F G^T)^(beta-1)) @ G``, with M the mask of observed entries
    (missing entries of X are zero, so the numerator needs no mask).
    """
    B = data.backend
    xp = B.namespace()
    if data.is_sparse:
        num = data.beta_numerator(F, G, beta=beta, eps=eps)
        if beta == 1:
            return num, xp.sum(G, axis=0)[None, :]
        den = xp.zeros_like(F)
        for start, stop in data.dense_row_blocks():
            WH = F[start:stop] @ G.T
            if beta < 1:
                WH = B.clamp_min_(WH, eps)  # WH is this function's own
            den[start:stop] = WH ** (beta - 1) @ G
        return num, den
    X, mask = data.X, data.mask
    WH = F @ G.T
    if beta == 2:
        num = X @ G
        den = (WH * mask) @ G if mask is not None else WH @ G
        return num, den
    WH = B.clamp_min_(WH, eps)  # WH is this function's own
    if beta == 1:
        num = (X / WH) @ G
        den = mask @ G if mask is not None else xp.sum(G, axis=0)[None, :]
        return num, den
    if beta == 0:
        # Itakura-Saito: (WH)^-2 and (WH)^-1 by a reciprocal and a product, not by
        # power (several times slower)
        P = 1.0 / WH
        num = (X * P * P) @ G
    else:
        num = (X * WH ** (beta - 2)) @ G
        P = WH ** (beta - 1)
    if mask is not None:
        P = P * mask
    return num, P @ G


def beta_step(data, F, G, *, beta, l1, l2, floor, eps):
    """One MU step of the rows F (a row block of W, against X's rows) for any beta
    divergence."""
    num, den = beta_numerator_denominator(data, F, G, beta=beta, eps=eps)
    return beta_ratio_step(F, num, den, beta, l1, l2, floor, data.backend)


def beta_H_terms(data, W, *, Ht, beta, eps):
    """The numerator and denominator of the MU ratio of H: sums over the rows of X,
    so ``data.sum_blocks`` adds them over row blocks."""
    return beta_numerator_denominator(data.T, Ht, W, beta=beta, eps=eps)


def beta_ratio_step(F, num, den, beta, l1, l2, floor, B):
    """The MU step of the rows F from the numerator and denominator of its ratio."""
    if l2:
        den = den + l2 * F
    if l1:
        den = den + l1
    ratio = num / B.clamp_min(den, floor)
    gamma = update_exponent(beta)
    if gamma != 1.0:
        ratio = ratio**gamma
    return F * ratio


def _l1_change(new, old, B):
    """``sum(|new - old|)`` over row blocks (``B.map_rows``: temporaries of a block's
    size, on the cores); 0-d or a float."""
    xp = B.namespace()
    return B.map_rows(lambda new_rows, old_rows: xp.sum(xp.abs(new_rows - old_rows)),
                      new, old)


def multiplicative_update(
    data, W, Ht, *, beta, l1_W, l2_W, l1_H, l2_H, max_iter, tol,
    check_every=10, fixed_columns=None, callback=None, copy=True,
):
    """Fit W and H by multiplicative updates.

    Parameters
    ----------
    data : DataMatrix or the Dask peer of one
        X, of shape (n_samples, n_features).
    W : array of shape (n_samples, n_components)
    Ht : array of shape (n_features, n_components)
        The transpose of H.
    beta : float
        0 Itakura-Saito, 1 Kullback-Leibler, 2 Frobenius, or any other beta.
    l1_W, l2_W, l1_H, l2_H : float
        Regularization weights (see ``losses.regularization``).
    max_iter : int
    tol : float
        Stop when an iteration changes the factors by less than ``tol`` times the
        change of the first iteration (L1 norm of the change of W and H, as
        scikit-learn's coordinate descent measures it): asked at every iteration
        for the Frobenius loss without a mask, as there, every ``check_every``
        iterations otherwise (with scikit-learn's mu rule for the other losses).
    check_every : int, default=10
        How often the objective and the stopping rule are evaluated (a host sync
        on accelerators).
    fixed_columns : array of bool of shape (n_components,), default=None
        Components whose column of ``Ht`` is kept as given, bit for bit (the other
        columns are updated with them in their gradient).
    callback : callable, default=None
        Called as ``callback(n_iter, objective)`` at each evaluation.
    copy : bool, default=True
        Whether the fast path (Frobenius loss, no mask) copies ``W`` and ``Ht`` before
        it starts. With False it works in their memory: they are overwritten by the
        iterations, which saves a copy of each factor where the caller has no further
        use for them.

    Returns
    -------
    W, Ht : arrays
    n_iter : int
    history : list of (int, float)
        ``(n_iter, objective)`` at each evaluation, the first at iteration 0.
    converged : bool
    """
    B = data.backend
    xp = B.namespace()
    n_samples, n_features = data.shape
    n_components = W.shape[1]
    floor, eps = floors(data.dtype, data.max_value)
    fast = beta == 2 and data.mask is None
    factors = {"W": W, "Ht": Ht}
    fixed = None
    if fixed_columns is not None:
        fixed = B.bool_array(fixed_columns)
    if fast:
        # the non-zeros, not the stored entries: the model must not depend on
        # whether X is stored densely or sparsely
        nnz = data.n_nonzero
        columns, alpha = inner_rule(n_components)
        repeats_W = inner_repeats(nnz, n_samples, n_features, n_components, alpha=alpha)
        repeats_H = inner_repeats(nnz, n_features, n_samples, n_components, alpha=alpha)
        # the steps overwrite W and Ht (copies first, unless the caller hands its
        # arrays over); the values of the fixed columns are kept apart
        if copy:
            factors = {name: xp.asarray(F, copy=True) for name, F in factors.items()}
        if fixed is not None:
            fixed_index = xp.asarray(np.flatnonzero(np.asarray(fixed_columns)),
                                     device=array_api_compat.device(Ht))
            fixed_values = xp.asarray(factors["Ht"][:, fixed_index], copy=True)

    def objective_of(divergence, W, Ht):
        return B.scalar(divergence + penalty(W, Ht, l1_W, l2_W, l1_H, l2_H, xp))

    def divergence(W, Ht):
        return data.sum_blocks(beta_divergence, W, Ht=Ht, beta=beta, eps=eps)

    changes = []

    def change_since(old):
        """The L1 change of W and H since ``old = (W, Ht)``."""
        return (B.scalar(_l1_change(factors["W"], old[0], B))
                + B.scalar(_l1_change(factors["Ht"], old[1], B)))

    def fast_iteration(measure, check):
        """W's repeated steps on ``X @ H.T``, then H's on ``X.T @ W``, in place;
        returns the L1 change of W and H where ``measure`` asks for it (the column
        rule sums it as it writes the factors back; otherwise from copies of the
        factors before the iteration) and the objective where ``check`` does."""
        W, Ht = factors["W"], factors["Ht"]
        fused_change = measure and columns
        old = None
        if measure and not columns:
            old = (xp.asarray(W, copy=True), xp.asarray(Ht, copy=True))
        XHt = data.matmul(Ht)
        HtHt = B.gram(Ht)
        updated = frobenius_update(W, XHt, HtHt, l1_W, l2_W, repeats_W, floor, B,
                                   overwrite_F=True, columns=columns, measure=fused_change)
        change = updated[1] if fused_change else None
        WtW = B.gram(W)
        objective = None
        if check:
            objective = objective_of(frobenius_objective(
                data.squared_norm, B.inner(W, XHt), B.inner(WtW, HtHt)), W, Ht)
        del XHt  # not needed by the H update
        updated = frobenius_update(Ht, data.rmatmul(W), WtW, l1_H, l2_H, repeats_H, floor,
                                   B, fixed=fixed, overwrite_F=True, overwrite_XG=True,
                                   columns=columns, measure=fused_change)
        if fixed is not None:
            # the step leaves them as they are (identity columns of its operator);
            # kept bit for bit whatever the matrix product's rounding
            Ht[:, fixed_index] = fixed_values
        if fused_change:
            change += updated[1]
        elif measure:
            change = change_since(old)
        return change, objective

    def beta_iteration(check):
        W_old, Ht_old = factors["W"], factors["Ht"]
        W = data.map_blocks(beta_step, W_old, G=Ht_old, beta=beta, l1=l1_W, l2=l2_W,
                            floor=floor, eps=eps)
        num, den = data.sum_blocks(beta_H_terms, W, Ht=Ht_old, beta=beta, eps=eps)
        Ht = beta_ratio_step(Ht_old, num, den, beta, l1_H, l2_H, floor, B)
        if fixed is not None:
            # the MU step of an entry depends on the others only through W H:
            # keeping the fixed columns is a step on the free ones (never an increase)
            Ht = xp.where(fixed[None, :], Ht_old, Ht)
        factors["W"], factors["Ht"] = W, Ht
        return (W_old, Ht_old), objective_of(divergence(W, Ht), W, Ht) if check else None

    def step(n_iter, check):
        measure = n_iter == 1 or check
        if fast:
            change, objective = fast_iteration(measure, check)
        else:
            old, objective = beta_iteration(check)
            if measure:
                change = change_since(old)
        if measure:
            changes.append(change)
        return objective

    start = objective_of(divergence(W, Ht), W, Ht)
    errors = [error_from_divergence(start)]
    # scikit-learn's mu rule for the losses whose reference is its mu solver; the
    # Frobenius fit is measured against its coordinate descent, whose rule is the
    # change rule alone (the mu rule stopped it short of that error)
    mu_rule = tol > 0 and beta != 2

    def converged(n_iter, objective):
        # scikit-learn's mu rule (beta != 2, tol > 0, as there): the error
        # (sqrt(2 * objective)) fell by less than tol times the error at the start
        # since the last check; or its cd rule: the iteration moved the factors by
        # less than tol times the first iteration did
        errors.append(error_from_divergence(objective))
        return ((mu_rule and errors[-2] - errors[-1] < tol * errors[0])
                or changes[-1] <= tol * changes[0])

    n_iter, history, is_converged = iterate(
        step, start, max_iter=max_iter, converged=converged,
        dtype=data.dtype, check_every=check_every, callback=callback,
        # the Frobenius fit's change rule is scikit-learn's cd rule, asked at every
        # iteration as there (the change and the objective cost little beside the
        # products); the mu rule compares errors check_every iterations apart
        converge_every=1 if fast else None,
    )
    return factors["W"], factors["Ht"], n_iter, history, is_converged


def solve_rows(data, W, *, Ht, beta, l1, l2, max_iter, tol, check_every=10):
    """Fit W for fixed H (``transform`` for the beta losses but Frobenius, whose W
    the HALS solver gives): MU steps on W alone, from the start W.

    Each row stops by itself once a step changes it by less than ``tol`` relative to
    its norm; a stopped row is never touched again, so the rows are solved
    independently of each other (the result for a row does not depend on which
    other rows are in X, and ``data.map_blocks`` solves X's row blocks apart).

    Returns
    -------
    W : array of shape (n_samples, n_components)
    """
    B = data.backend
    xp = B.namespace()
    floor, eps = floors(data.dtype, data.max_value)
    active = xp.ones((W.shape[0], 1), dtype=xp.bool)
    for n_iter in range(1, max_iter + 1):
        W_new = beta_step(data, W, Ht, beta=beta, l1=l1, l2=l2, floor=floor, eps=eps)
        diff = W_new - W
        moved = xp.sum(diff * diff, axis=1, keepdims=True)
        size = xp.sum(W_new * W_new, axis=1, keepdims=True)
        W = xp.where(active, W_new, W)
        active = active & (moved > (tol * tol) * size)
        if n_iter % check_every == 0 and not bool(xp.any(active)):
            break
    return W
