"""W for a fixed H: the solve behind ``transform`` of MUNMF and SGDNMF, SGDNMF's fresh
restarts and the W of ``non_negative_factorization(update_H=False)``.

Row by row, so that the result for a row never depends on the other rows of X:

- Frobenius loss: projected least squares, then HALS sweeps (exact coordinate
  minimization of a convex problem; MU steps converge slowly on it when H is
  ill-conditioned), over the observed entries of each row when some are missing;
- other beta losses: MU steps from a constant start ``scale``, fixed at fit time,
  the floor of W H in logarithms and negative powers taken from the row's own
  largest entry (rounded down to a power of 2), not from the batch's.
"""

import copy
import math

import numpy as np
import scipy.sparse as sp

from .hals import solve_rows_hals
from .init import uniform_rows
from .mu import solve_rows


def scale_from_sum(total, n_observed, n_components):
    """The constant that every row of W starts from in a beta-loss solve:
    ``sqrt(mean / n_components)`` for the mean of X from its sum (1 if X is 0).

    Fixed at fit time, so that the rows of a later ``transform`` do not depend on
    each other.
    """
    mean = total / max(n_observed, 1)
    return math.sqrt(mean / n_components) if mean > 0 else 1.0


def solve_W(data, Ht, *, beta, l1, l2, max_iter, tol, scale):
    """W of shape (n_samples, n_components) for ``X ~ W @ Ht.T`` with Ht fixed."""
    if beta == 2:
        return solve_rows_hals(data, Ht, l1=l1, l2=l2, max_sweeps=max_iter, tol=tol)
    start = data.backend.from_numpy(uniform_rows(data.shape[0], Ht.shape[1], scale, data.dtype))
    return data.map_blocks(_solve_rows_by_floor, start, Ht=Ht, beta=beta, l1=l1, l2=l2,
                           max_iter=max_iter, tol=tol)


def _row_floor_levels(host):
    """The power of 2 at or below each row's largest entry (0 for a zero row): the
    scale of the floor of W H in that row's MU solve."""
    if sp.issparse(host):
        largest = host.max(axis=1)
        largest = np.asarray(largest.toarray() if sp.issparse(largest) else largest).ravel()
    else:
        largest = host.max(axis=1) if host.shape[1] else np.zeros(host.shape[0])
    largest = np.asarray(largest, dtype=np.float64)
    _, exponent = np.frexp(largest)
    return np.where(largest > 0, np.ldexp(0.5, exponent), 0.0)


def _solve_rows_by_floor(block, W, **shared):
    """``solve_rows`` with the floors of each row from the row itself: the rows are
    solved in groups of the same floor scale, so that a row's W never depends on the
    other rows of the batch (a large row raised the floor of the others)."""
    levels = _row_floor_levels(block.host)
    distinct = np.unique(levels)
    if distinct.size <= 1:
        view = copy.copy(block)
        view.max_value = float(distinct[0]) if distinct.size else 0.0
        return solve_rows(view, W, **shared)
    order = np.argsort(levels, kind="stable")
    backend, host, mask = block.backend, block.host, block.host_mask
    parts, start = [], 0
    for level in distinct:
        stop = start + int(np.count_nonzero(levels == level))
        rows = order[start:stop]
        group = backend.data_matrix(host[rows], None if mask is None else mask[rows])
        group.max_value = float(level)
        parts.append(solve_rows(group, W[rows], **shared))
        start = stop
    xp = backend.namespace()
    return xp.concat(parts, axis=0)[np.argsort(order, kind="stable")]
