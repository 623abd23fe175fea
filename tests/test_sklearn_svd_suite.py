"""scikit-learn's own tests of TruncatedSVD (``sklearn/decomposition/tests/
test_truncated_svd.py`` of the installed scikit-learn), run against TruncatedSVDTopics."""

import pytest

from sklearn_nmfx import TruncatedSVDTopics

from ._sklearn_suite import load_suite


@pytest.fixture
def global_random_seed():
    """scikit-learn's fixture, at its default seed (42)."""
    return 42


EXCLUDED = {
    "test_singular_values_expected": (
        "needs fit_transform to return U * Sigma (orthogonal columns); ours returns "
        "transform(X) = X @ components_.T, so that fit_transform(X) is "
        "fit(X).transform(X) (docs/migrating.rst): the two agree for an exact SVD "
        "(arpack passes) but not for the randomized solver's approximate one"
    ),
}

globals().update(load_suite(
    "test_truncated_svd.py",
    "from sklearn.decomposition import PCA, TruncatedSVD",
    {"PCA": __import__("sklearn.decomposition", fromlist=["PCA"]).PCA,
     "TruncatedSVD": TruncatedSVDTopics},
    EXCLUDED,
))
