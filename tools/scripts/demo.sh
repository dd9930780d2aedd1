#!/usr/bin/env bash
# The main job on a built-in sample workload: track tools/sample/sample_service.py for a few
# seconds and report on the capture. Installs and builds first if needed.
#   tools/scripts/demo.sh [OUTPUT_DIR]        (default: demo-output/)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$(mkdir -p "${1:-$root/demo-output}" && cd "${1:-$root/demo-output}" && pwd)"
"$root/tools/scripts/setup.sh"
memray="$root/build/bin/memray"
python="$(command -v python3)"

capture="$out/sample-service.bin"
echo "== memray run: tracking the sample service for 3 seconds"
"$memray" run --python "$python" -f -o "$capture" "$root/tools/sample/sample_service.py" --seconds 3
echo
echo "== memray stats $capture"
"$memray" stats "$capture"
