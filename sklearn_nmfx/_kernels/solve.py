"""W for a fixed H: the solve behind ``transform`` of MUNMF and SGDNMF, SGDNMF's fresh
restarts and the W of ``non_negative_factorization(update_H=False)``.

Row by row, so that the result for a row never depends on the other rows of X:

- Frobenius loss: projected least squares, then HALS sweeps (exact coordinate
  minimization of a convex problem; MU steps converge slowly on it when H is
  ill-conditioned), over the observed entries of each row when some are missing;
- other beta losses: MU steps from a constant start ``scale``, fixed at fit time.
"""

import math

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
    return data.map_blocks(solve_rows, start, Ht=Ht, beta=beta, l1=l1, l2=l2,
                           max_iter=max_iter, tol=tol)
