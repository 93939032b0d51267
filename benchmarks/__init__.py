"""A shim: the benchmark suite is ``nerve.bench``. Run ``python -m benchmarks`` or ``nerve bench``."""
