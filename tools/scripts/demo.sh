#!/usr/bin/env bash
# The main job on a built-in sample workload: start the sample service as an ordinary Python
# process, attach memray to it while it runs, capture for a few seconds, detach (the service
# keeps running), and write a flame graph of the capture. Installs and builds first if needed.
#   tools/scripts/demo.sh [OUTPUT_DIR]        (default: demo-output/)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$(mkdir -p "${1:-$root/demo-output}" && cd "${1:-$root/demo-output}" && pwd)"
"$root/tools/scripts/setup.sh"
memray="$root/build/bin/memray"
python="$(command -v python3)"
capture="$out/sample-service.bin"
flamegraph="$out/sample-service-flamegraph.html"

echo "== starting the sample service (plain python3, no memray)"
"$python" "$root/tools/sample/sample_service.py" --seconds 60 >"$out/sample-service.log" 2>&1 &
service=$!
trap 'kill "$service" 2>/dev/null || true' EXIT
sleep 1

echo "== memray attach $service"
"$memray" attach -f -o "$capture" "$service"
sleep 3
echo "== memray detach $service"
"$memray" detach "$service"
kill -0 "$service" && echo "(the service is still running, unharmed)"

echo "== memray flamegraph"
"$memray" flamegraph -f -o "$flamegraph" "$capture"
echo "== memray stats"
"$memray" stats "$capture"
echo
echo "Open $flamegraph in a browser."
