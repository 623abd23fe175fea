"""A synthetic sparse matrix made block by block (for the out-of-core Dask test).

Its own module, importing only NumPy and SciPy: worker processes unpickle the block
function by importing this module, and the test modules import much more (PyTorch),
which would count against the workers' memory limit.
"""

import numpy as np
import scipy.sparse as sp

N_FEATURES = 20_000
ROWS_PER_BLOCK = 12_500
NNZ_PER_ROW = 80  # 1e6 entries, 12 MB of CSR per block
BLOCK_BYTES = ROWS_PER_BLOCK * NNZ_PER_ROW * 12 + 4 * (ROWS_PER_BLOCK + 1)


def synthetic_block(block_id=None):
    """A random CSR block, the same each time it is made (seeded by its index)."""
    rng = np.random.default_rng(block_id[0])
    nnz = ROWS_PER_BLOCK * NNZ_PER_ROW
    indptr = np.arange(0, nnz + 1, NNZ_PER_ROW, dtype=np.int32)
    indices = rng.integers(0, N_FEATURES, size=nnz, dtype=np.int32)
    return sp.csr_matrix((rng.random(nnz), indices, indptr), shape=(ROWS_PER_BLOCK, N_FEATURES))


def peak_rss():
    """Peak resident memory of this process in bytes: VmHWM of /proc/self/status
    (Linux; unlike getrusage's ru_maxrss it does not carry over the peak of the
    process that forked this one)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")
