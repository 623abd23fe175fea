"""Pure numerical kernels: functions of arrays and parameters, no estimator state.

Each module holds one piece of the numerics, written once:

- ``driver``: the iteration loop of every solver (checks, history, stopping);
- ``mu``: multiplicative updates (the fast MU step for the Frobenius loss, taken
  column by column at few components, the beta-divergence steps);
- ``hals``: HALS, the non-negative least-squares solver of rows (``transform``, the
  held-out score, the minibatch steps, MUNMF's column steps);
- ``compiled``: the numba kernels that fuse some of the above (the NumPy path
  stays where numba is absent);
- ``minibatch``: online minibatch NMF (SGDNMF);
- ``autograd``: NMF by PyTorch autograd and an optimizer (AutogradNMF);
- ``svd``: the randomized SVD and ARPACK;
- ``init``: the random and NNDSVD starts (NumPy);
- ``losses``: beta divergences, the Frobenius objective, penalties.

X reaches a kernel as a data matrix (``sklearn_nmfx._backend.DataMatrix``, or its
Dask peer ``sklearn_nmfx._dask.blocks.RowBlockMatrix``), the factors as arrays of
the backend; the kernels use the array-API namespace of those arrays and the
backend's few primitives, so NumPy and PyTorch share them (``init`` and
``svd.arpack_svd`` run on NumPy only, ``autograd`` on PyTorch only).
"""
