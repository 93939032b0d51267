#!/usr/bin/env bash
# Install nerve with its test extras and run the whole suite (the README's second command).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check -e '.[test]'
# The playground's browser tests drive Debian's Chromium; without it (or root and apt) they skip.
if ! command -v chromedriver >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  { apt-get install -y -q chromium chromium-driver || { apt-get update -q && apt-get install -y -q chromium chromium-driver; }; } \
    >/dev/null 2>&1 || echo "note: could not install chromium; the browser tests will skip"
fi
# Real MNIST/Fashion-MNIST for the data tests, when the shared folder sits beside the repo.
if [ -z "${NERVE_DATA_DIR:-}" ] && [ -d ../shared/datasets ]; then
  export NERVE_DATA_DIR="$(cd ../shared/datasets && pwd)"
fi
export MPLBACKEND=Agg
# two workers on two cores: one BLAS/OpenMP thread each
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
python3 -m pytest -n 2 -q -p no:cacheprovider "$@"
