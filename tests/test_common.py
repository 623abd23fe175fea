"""scikit-learn's estimator checks for every estimator the package exports,
each as constructed with its defaults."""

import inspect

from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

import sklearn_nmfx


def all_estimators():
    """Every estimator class exported by sklearn_nmfx (new ones are checked at once)."""
    return [
        obj for name in sklearn_nmfx.__all__
        if inspect.isclass(obj := getattr(sklearn_nmfx, name)) and issubclass(obj, BaseEstimator)
    ]


def test_estimators_are_discovered():
    assert sklearn_nmfx.MUNMF in all_estimators()


@parametrize_with_checks([cls() for cls in all_estimators()])
def test_sklearn_compatible(estimator, check):
    check(estimator)
