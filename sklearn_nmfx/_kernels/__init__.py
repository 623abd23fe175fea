"""Pure numerical kernels: functions of arrays and parameters, no estimator state.

Each kernel is written once against the array-API namespace of its inputs and the
:class:`~sklearn_nmfx._backend.DataMatrix` interface, so it runs on NumPy/SciPy and
on PyTorch alike.
"""
