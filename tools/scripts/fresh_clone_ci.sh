#!/usr/bin/env bash
# Runs CI as CI runs it, N times in a row: each run in a fresh clone of this repository's HEAD
# (with ../shared beside it), `bash .ci/run` with CI=true and no standard input; with --hog, two
# busy processes hog the CPUs beside it. Prints one line per run: its result and how long it took.
# Logs stay in the work directory.
#   tools/scripts/fresh_clone_ci.sh [--hog] [RUNS] [WORKDIR]     (default: 1, /tmp/memray-fresh-ci)
set -uo pipefail
hog=0
if [ "${1:-}" = --hog ]; then hog=1; shift; fi
runs=${1:-1}
work=${2:-/tmp/memray-fresh-ci}
root="$(cd "$(dirname "$0")/../.." && pwd)"
commit=$(git -C "$root" rev-parse --short HEAD)
for run in $(seq 1 "$runs"); do
  dir="$work/run-$run"
  rm -rf "$dir" && mkdir -p "$dir"
  git clone -q "$root" "$dir/main" && cp -r "$root/../shared" "$dir/shared"
  hogs=()
  if [ $hog = 1 ]; then
    for _ in 1 2; do sh -c 'while :; do :; done' & hogs+=($!); done
  fi
  start=$(date +%s)
  (cd "$dir/main" && CI=true bash .ci/run < /dev/null > "$dir/ci.log" 2>&1)
  status=$?
  [ ${#hogs[@]} -gt 0 ] && kill "${hogs[@]}"
  summary=$(grep -E "tests passed|tests failed" "$dir/ci.log" | tail -1)
  echo "run $run of $commit$([ $hog = 1 ] && echo ' (CPU hog)'): exit $status after $(( $(date +%s) - start )) s; $summary; log $dir/ci.log"
done
