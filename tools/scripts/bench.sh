#!/usr/bin/env bash
# Runs the benchmark suite on a Release build and rewrites benchmarks/results/RESULTS.md.
#   tools/scripts/bench.sh [run_benchmarks.py options...]   e.g. --rounds 7 --sections overhead
# Measure on a quiet machine: the figures are ratios within a round, but heavy load still
# widens their spread.
set -euo pipefail
cd "$(dirname "$0")/../.."
MEMRAY_SKIP_BUILD=1 tools/scripts/setup.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-release -j2 --target memray memray_payload memray-synth
python=${MEMRAY_BENCH_PYTHON:-$(ls /root/.pyenv/versions/3.12.*/bin/python3 | head -1)}
exec python3 benchmarks/run_benchmarks.py --memray build-release/bin/memray \
  --synth build-release/bin/memray-synth --python "$python" "$@"
