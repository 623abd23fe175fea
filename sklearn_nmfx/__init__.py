"""sklearn-nmfx: scikit-learn compatible NMF and truncated SVD for topic modeling,
on the CPU or any PyTorch device.

Importing the package never imports PyTorch.
"""

from ._mu import MUNMF

__all__ = ["MUNMF"]
__version__ = "0.1.0"
