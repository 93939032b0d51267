import os
import pathlib
import sys

# Two pytest workers share two cores: one BLAS thread each avoids oversubscription,
# which made small matmuls ~50x slower under load. (Benchmarks set their own threads.)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).parent))  # tests/optable.py and friends

SHARED = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
if "NERVE_DATA_DIR" not in os.environ and SHARED.is_dir():
    os.environ["NERVE_DATA_DIR"] = str(SHARED)


@pytest.fixture(autouse=True)
def _seed_and_dtype():
    """Every test starts from the same global seed and the float32 default."""
    import nerve as nv

    nv.manual_seed(0)
    nv.set_default_dtype(np.float32)
    yield
    nv.set_default_dtype(np.float32)
