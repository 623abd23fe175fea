"""``non_negative_factorization``: scikit-learn's function, on MUNMF."""

import warnings

import numpy as np

from ._mu import MUNMF


def non_negative_factorization(
    X, W=None, H=None, n_components="auto", *, init=None, update_H=True, solver="mu",
    beta_loss="frobenius", tol=1e-4, max_iter=200, alpha_W=0.0, alpha_H="same",
    l1_ratio=0.0, random_state=None, verbose=0, shuffle=False, device=None,
):
    """Compute Non-negative Matrix Factorization (NMF) with multiplicative updates.

    The function of :func:`sklearn.decomposition.non_negative_factorization`, with
    its parameters and results, run by :class:`MUNMF` (whose parameters have the
    same meanings). With ``update_H=False``, H is kept as given and only W is
    solved for, as in a ``transform``.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Constant matrix.
    W : array-like of shape (n_samples, n_components), default=None
        With ``init='custom'``, the initial W. Not used when ``update_H=False``.
    H : array-like of shape (n_components, n_features), default=None
        With ``init='custom'``, the initial H; with ``update_H=False``, the fixed H.
    n_components : int, 'auto' or None, default='auto'
        Number of components; 'auto' (or None) takes it from ``W`` or ``H`` when
        given, else ``n_features``.
    init : {'random', 'nndsvd', 'nndsvda', 'nndsvdar', 'custom'}, default=None
        As in :class:`MUNMF`.
    update_H : bool, default=True
        Whether H is learned too (True) or kept fixed (False).
    solver : {'mu'}, default='mu'
        'mu', multiplicative updates; 'cd' raises a ``ValueError`` that says what to
        use instead.
    beta_loss, tol, max_iter, alpha_W, alpha_H, l1_ratio, random_state, verbose, \
shuffle, device
        As in :class:`MUNMF`.

    Returns
    -------
    W : ndarray of shape (n_samples, n_components)
        Solution to the non-negative least squares problem.
    H : ndarray of shape (n_components, n_features)
        Solution to the non-negative least squares problem.
    n_iter : int
        The number of iterations run.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_nmfx import non_negative_factorization
    >>> X = np.array([[1, 1], [2, 1], [3, 1.2], [4, 1], [5, 0.8], [6, 1]])
    >>> W, H, n_iter = non_negative_factorization(X, n_components=2, random_state=0)
    >>> W.shape, H.shape
    ((6, 2), (2, 2))
    >>> W_new, H_same, _ = non_negative_factorization(X[:2], H=H, update_H=False)
    >>> bool(np.array_equal(H_same, H))
    True
    """
    model = MUNMF(
        n_components=n_components, init=init, solver=solver, beta_loss=beta_loss, tol=tol,
        max_iter=max_iter, random_state=random_state, alpha_W=alpha_W, alpha_H=alpha_H,
        l1_ratio=l1_ratio, verbose=verbose, shuffle=shuffle, device=device,
    )
    if update_H:
        W = model.fit_transform(X, W=W, H=H)
        return W, model.components_, model.n_iter_
    if H is None:
        raise ValueError("update_H=False needs the fixed H: pass H=.")
    if W is not None:
        warnings.warn("When update_H=False, the provided initial W is not used.",
                      RuntimeWarning, stacklevel=2)
    H = np.asarray(H)
    if H.ndim != 2:
        raise ValueError(f"H must be a 2-d array of shape (n_components, n_features); got "
                         f"shape {H.shape}.")
    if n_components not in ("auto", None) and n_components != H.shape[0]:
        raise ValueError(f"H has {H.shape[0]} rows, but n_components={n_components}.")
    model.set_params(n_components=H.shape[0])
    # every component fixed: the iterations solve for W alone, H is kept bit for bit
    W = model.fit_transform(X, H=H, fixed_components=np.arange(H.shape[0]))
    return W, model.components_, model.n_iter_
