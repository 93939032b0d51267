#!/usr/bin/env bash
# Install nerve with its test extras and run the whole suite (the README's second command).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check -e '.[test]'
# Real MNIST/Fashion-MNIST for the data tests, when the shared folder sits beside the repo.
if [ -z "${NERVE_DATA_DIR:-}" ] && [ -d ../shared/datasets ]; then
  export NERVE_DATA_DIR="$(cd ../shared/datasets && pwd)"
fi
export MPLBACKEND=Agg
# two workers on two cores: one BLAS/OpenMP thread each
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
python3 -m pytest -n 2 -q -p no:cacheprovider "$@"
