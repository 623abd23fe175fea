"""Choosing the number of topics from a cross-validation.

:func:`smallest_k_within_one_se` reads the ``cv_results_`` of a
:class:`~sklearn.model_selection.GridSearchCV` over ``n_components`` (or the
same keys built by hand) and applies the one-standard-error rule (Breiman et al.
1984; Hastie, Tibshirani & Friedman, *The Elements of Statistical Learning*,
7.10): the smallest ``k`` whose mean test score is within one standard error of
the best mean. Held-out scores usually rise quickly and then level off, and the
best mean on a plateau is decided by noise; the rule prefers the simplest model
that the noise cannot tell from the best.
"""

import numbers

import numpy as np

__all__ = ["smallest_k_within_one_se"]


def _param_key(cv_results, param):
    """The key of ``cv_results`` holding the values of ``param``."""
    exact = f"param_{param}"
    if exact in cv_results:
        return exact
    nested = [key for key in cv_results
              if key.startswith("param_") and key.endswith(f"__{param}")]
    if len(nested) == 1:
        return nested[0]
    known = sorted(key.removeprefix("param_") for key in cv_results if key.startswith("param_"))
    if nested:
        names = ", ".join(key.removeprefix("param_") for key in nested)
        raise ValueError(f"several parameters end in {param!r}: {names}; pass the full "
                         "name as param.")
    raise ValueError(
        f"cv_results has no parameter {param!r} (parameters: {', '.join(known) or 'none'}); "
        "pass param= the searched parameter, for example 'nmf__n_components'.")


def smallest_k_within_one_se(cv_results, param="n_components", *, paired=False):
    """The smallest ``k`` whose mean test score is within one standard error of the best.

    The standard error is that of the best mean: its standard deviation over the
    splits (``std_test_score``) divided by the square root of the number of
    splits (see ``paired`` for the paired variant). Scores are "higher is
    better", as scikit-learn's scorers and the estimators' ``score`` are.

    Parameters
    ----------
    cv_results : dict
        ``GridSearchCV(...).cv_results_``, or a dict with the same keys:
        ``param_<param>`` (the values of k), ``mean_test_score``,
        ``std_test_score``, and ``split0_test_score``, ``split1_test_score``, ...
        (which give the number of splits). A search over other parameters too
        is read at each candidate's k; k must be a positive integer.
    param : str, default="n_components"
        The searched parameter: its full name (``"nmf__n_components"`` for a
        Pipeline step ``nmf``), or the part after the last ``__`` when only
        one parameter ends in it.
    paired : bool, default=False
        Compare each candidate with the best split by split: a k qualifies
        when its mean is within one standard error of the best mean, the
        standard error being that of its difference from the best (the
        standard deviation over the splits of ``score_k - score_best``,
        divided by the square root of the number of splits), instead of the
        best's ``std_test_score``. When a split's score depends mostly on which
        samples it holds, the same for every k (as a held-out reconstruction
        error does), the raw spread is that offset between the splits, not
        the noise of comparing two k on the same split; the paired
        differences cancel it.

    Returns
    -------
    k : int
        The smallest value of ``param`` whose mean test score is at least the
        best mean minus one standard error.

    Raises
    ------
    ValueError
        When the parameter is missing or not a positive integer, a score is NaN
        (a fit that failed), or the keys above are missing.

    Examples
    --------
    >>> from sklearn_nmfx.model_selection import smallest_k_within_one_se
    >>> cv_results = {"param_n_components": [2, 3, 4, 5],
    ...               "mean_test_score": [0.50, 0.70, 0.72, 0.71],
    ...               "std_test_score": [0.05, 0.05, 0.06, 0.05],
    ...               "split0_test_score": [0] * 4, "split1_test_score": [0] * 4,
    ...               "split2_test_score": [0] * 4, "split3_test_score": [0] * 4}
    >>> smallest_k_within_one_se(cv_results)  # 0.72 - 0.06 / 2 = 0.69 <= 0.70
    3

    A split whose scores are all higher than another's (the same offset for
    every k) widens the raw spread, not the paired one:

    >>> offsets = {"param_n_components": [2, 3, 4], "mean_test_score": [0.5, 0.6, 0.62],
    ...            "std_test_score": [0.2, 0.2, 0.2], "split0_test_score": [0.3, 0.4, 0.42],
    ...            "split1_test_score": [0.7, 0.8, 0.82]}
    >>> smallest_k_within_one_se(offsets), smallest_k_within_one_se(offsets, paired=True)
    (2, 4)

    With a grid search (a Pipeline's step named ``nmf``):

    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn_nmfx import MUNMF
    >>> import numpy as np
    >>> X = np.random.RandomState(0).rand(30, 12) @ np.eye(12)
    >>> search = GridSearchCV(MUNMF(random_state=0, max_iter=50),
    ...                       {"n_components": [1, 2, 3]}, cv=3).fit(X)
    >>> smallest_k_within_one_se(search.cv_results_) in (1, 2, 3)
    True
    """
    if not hasattr(cv_results, "keys"):
        raise ValueError(
            f"cv_results must be a dict such as GridSearchCV's cv_results_, got "
            f"{type(cv_results).__name__}.")
    key = _param_key(cv_results, param)
    for needed in ("mean_test_score", "std_test_score"):
        if needed not in cv_results:
            raise ValueError(f"cv_results has no {needed!r} (a GridSearchCV's cv_results_ "
                             "has it).")
    n_splits = sum(1 for name in cv_results
                   if name.startswith("split") and name.endswith("_test_score"))
    if n_splits < 1:
        raise ValueError("cv_results has no split<i>_test_score keys: the number of splits "
                         "(for the standard error) is unknown.")
    values = list(np.ma.getdata(np.asarray(cv_results[key], dtype=object)))
    for value in values:
        if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral)
                or value < 1):
            raise ValueError(f"{key.removeprefix('param_')} must hold positive integers, "
                             f"got {value!r}.")
    ks = np.array([int(value) for value in values])
    mean = np.asarray(cv_results["mean_test_score"], dtype=np.float64)
    std = np.asarray(cv_results["std_test_score"], dtype=np.float64)
    if not (len(ks) == len(mean) == len(std)) or len(ks) == 0:
        raise ValueError(
            f"cv_results holds {len(ks)} values of {param!r}, {len(mean)} mean scores and "
            f"{len(std)} standard deviations: they must be equal in number, and not 0.")
    if paired:
        splits = np.column_stack([np.asarray(cv_results[f"split{i}_test_score"], dtype=float)
                                  for i in range(n_splits)])
        if not np.all(np.isfinite(splits)):
            std = np.full(len(ks), np.nan)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std))):
        bad = sorted({int(k) for k, m, s in zip(ks, mean, std)
                      if not (np.isfinite(m) and np.isfinite(s))})
        raise ValueError(f"the scores of k={bad} are not finite (a fit failed?): the rule "
                         "needs every candidate's score.")
    best = int(np.argmax(mean))
    if paired:  # each candidate against the best, split by split
        std = (splits - splits[best]).std(axis=1)
        return int(ks[mean >= mean[best] - std / np.sqrt(n_splits)].min())
    threshold = mean[best] - std[best] / np.sqrt(n_splits)
    return int(ks[mean >= threshold].min())
