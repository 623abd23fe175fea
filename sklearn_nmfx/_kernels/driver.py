"""The iteration driver shared by every solver: the loop, its checks and its history.

A solver supplies one ``step`` (an MU iteration, a minibatch epoch, an optimizer
step) and a ``converged`` rule; the driver runs the steps, evaluates the objective
every ``check_every`` steps, checks that it is finite, records it and reports it.
"""

import math

import numpy as np


def check_finite(value, n_iter, *, dtype, unit="iteration", lowering=None):
    """Raise a RuntimeError that says what to do when the objective is not finite.

    ``lowering`` names a step-size parameter of the solver that may be too large
    (then the first thing to lower); the advice to use float64 is given to float32
    data only.
    """
    if math.isfinite(value):
        return
    cause = "the data overflow the floating-point type"
    remedies = ["rescale X (for example divide it by its maximum)"]
    if lowering:
        cause = f"{lowering} is too large or {cause}"
        remedies.insert(0, f"lower {lowering}")
    if np.dtype(dtype) == np.float32:
        remedies.append("use float64")
    advice = remedies[0] if len(remedies) == 1 else (
        ", ".join(remedies[:-1]) + " or " + remedies[-1])
    raise RuntimeError(
        f"the objective became {value} at {unit} {n_iter}: {cause}. "
        f"{advice[0].upper()}{advice[1:]}."
    )


def iterate(step, objective, *, max_iter, converged, dtype, check_every=1, callback=None,
            unit="iteration", lowering=None, converge_every=None):
    """Run ``step`` up to ``max_iter`` times, checking every ``check_every`` steps.

    Parameters
    ----------
    step : callable
        ``step(n_iter, check) -> objective`` runs step ``n_iter`` (1-based) and
        returns the objective after it when ``check`` is true (None otherwise).
    objective : float
        The objective at the start.
    max_iter : int
    converged : callable
        ``converged(n_iter, objective) -> bool``, asked at each check: whether to
        stop (a rule may also change the solver's state, a learning rate say).
    dtype : dtype
        The data's dtype, for the advice of :func:`check_finite`.
    check_every : int, default=1
        Steps between checks; the last step is always checked.
    callback : callable, default=None
        ``callback(n_iter, objective)`` at the start (0) and at each check.
    unit, lowering : str
        The words of :func:`check_finite`'s message.
    converge_every : int, default=None
        Steps between the questions to ``converged`` (the objective is computed and
        checked for them too), where they are more frequent than the checks:
        ``check_every`` when None. The history and the callback keep to the checks,
        and to the step the loop stops at.

    Returns
    -------
    n_iter : int
        Steps run.
    history : list of (int, float)
        ``(n_iter, objective)`` at the start and at each check.
    converged : bool
    """
    check_finite(objective, 0, dtype=dtype, unit=unit, lowering=lowering)
    history = [(0, objective)]
    if callback is not None:
        callback(0, objective)
    converge_every = check_every if converge_every is None else converge_every
    for n_iter in range(1, max_iter + 1):
        check = n_iter % check_every == 0 or n_iter == max_iter
        ask = check or n_iter % converge_every == 0
        objective = step(n_iter, ask)
        if not ask:
            continue
        check_finite(objective, n_iter, dtype=dtype, unit=unit, lowering=lowering)
        done = converged(n_iter, objective)
        if check or done:
            history.append((n_iter, objective))
            if callback is not None:
                callback(n_iter, objective)
        if done:
            return n_iter, history, True
    return max_iter, history, False
