#!/usr/bin/env bash
# Builds everything and runs every test: the command CI runs (.ci/run) and the README's second one.
#   tools/scripts/test.sh [ctest arguments...]     e.g. -R capture -V
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/scripts/setup.sh
cd build
ctest -j2 --output-on-failure --timeout 600 "$@"
