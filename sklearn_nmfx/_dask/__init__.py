"""Dask arrays: X in row blocks, beyond one machine's memory.

Only block plumbing lives here. :class:`~sklearn_nmfx._dask.blocks.RowBlockMatrix`
is the Dask peer of the in-memory :class:`~sklearn_nmfx._backend.DataMatrix`: it
offers the kernels the same products (``X @ G``, ``X.T @ G``) and row-block maps,
computed block by block on the workers, so a fit of a dask array runs the very
kernels of the in-memory fit. dask is imported only once a dask array is passed:
:func:`is_dask_array` looks at the type's module.
"""

_DASK_EXTRA_HINT = "install it with: pip install 'sklearn-nmfx[dask]'"


def is_dask_array(X):
    """Whether X is a dask array (without importing dask)."""
    return type(X).__module__.startswith("dask.array") and hasattr(X, "chunks")


def import_dask():
    """(dask, dask.array), or an ImportError that names the ``[dask]`` extra."""
    try:
        import dask
        import dask.array as da
    except ImportError as exc:
        raise ImportError(
            "X is a dask array, and fitting it needs dask with dask.array, which "
            f"could not be imported; {_DASK_EXTRA_HINT}."
        ) from exc
    return dask, da
