"""sklearn-nmfx: scikit-learn compatible NMF and truncated SVD for topic modeling,
on the CPU or any PyTorch device.

Importing the package never imports PyTorch.
"""

from ._autograd import AutogradNMF
from ._functions import non_negative_factorization
from ._mu import MUNMF
from ._sgd import SGDNMF
from ._svd import TruncatedSVDTopics

__all__ = ["AutogradNMF", "MUNMF", "SGDNMF", "TruncatedSVDTopics",
           "non_negative_factorization"]
__version__ = "0.1.0"
