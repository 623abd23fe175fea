"""scikit-learn's own tests of NMF, MiniBatchNMF and non_negative_factorization
(``sklearn/decomposition/tests/test_nmf.py`` of the installed scikit-learn), run
against MUNMF, SGDNMF and sklearn_nmfx.non_negative_factorization.

scikit-learn's tests run both of NMF's solvers; MUNMF has the multiplicative one
only, so ``NMF(solver='cd')`` runs MUNMF with ``solver='mu'`` here (MUNMF itself
refuses 'cd' with advice, tests/test_mu.py).
"""

import re

import pytest

from sklearn_nmfx import MUNMF, SGDNMF, non_negative_factorization

from ._sklearn_suite import load_suite


def NMF(*args, solver="mu", **kwargs):  # noqa: N802 (scikit-learn's name)
    return MUNMF(*args, solver="mu", **kwargs)


def nnf(*args, solver="mu", **kwargs):
    return non_negative_factorization(*args, solver="mu", **kwargs)


PRIVATE = "tests scikit-learn's private functions (sklearn.decomposition._nmf)"

EXCLUDED = {
    "test_initialize_nn_output": PRIVATE,
    "test_initialize_close": PRIVATE,
    "test_initialize_variants": PRIVATE,
    "test_beta_divergence": PRIVATE,
    "test_special_sparse_dot": PRIVATE,
    "test_nmf_multiplicative_update_sparse": PRIVATE,
    "test_parameter_checking": (
        "pins the refusal of beta_loss=1 by solver='cd', a solver MUNMF does not "
        "have (it refuses solver='cd' itself, tests/test_mu.py); its other checks "
        "(negative X, init='nndsvd*' with too many components) are in "
        "tests/test_reliability.py and tests/test_mu.py"
    ),
    "test_feature_names_out": (
        "pins the prefix 'nmf' of get_feature_names_out: ours is the class's name "
        "('munmf0', ...), as scikit-learn's ClassNamePrefixFeaturesOutMixin makes it "
        "for every estimator (docs/migrating.rst)"
    ),
    "test_minibatch_nmf_partial_fit": (
        "passes in scikit-learn only because fit and partial_fit write into the "
        "caller's H (init='custom') and both estimators end up sharing it as "
        "components_; sklearn-nmfx never modifies the caller's arrays. The steps it "
        "means to count are checked in tests/test_sgd.py."
    ),
}

# wording relaxed, behaviour kept: the same exception, our message for the same fault
# (ours names the estimator that saw it, MUNMF, where scikit-learn's says NMF)
WORDING = {
    re.escape(f"Negative values in data passed to NMF (input {name})"):
        re.escape(f"Negative values in data passed to MUNMF (input {name})")
    for name in "WH"
}
WORDING[re.escape("Array passed to NMF (input H) is full of zeros")] = re.escape(
    "Array passed to MUNMF (input H) is full of zeros")


class _RelaxedPytest:
    """pytest, whose ``raises`` takes our wording for the messages in WORDING."""

    def __getattr__(self, name):
        return getattr(pytest, name)

    @staticmethod
    def raises(expected, *args, match=None, **kwargs):
        return pytest.raises(expected, *args, match=WORDING.get(match, match), **kwargs)


globals().update(load_suite(
    "test_nmf.py",
    "from sklearn.decomposition import NMF, MiniBatchNMF, non_negative_factorization",
    {"NMF": NMF, "MiniBatchNMF": SGDNMF, "non_negative_factorization": nnf},
    EXCLUDED,
    {"pytest": _RelaxedPytest()},
))
