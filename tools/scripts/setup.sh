#!/usr/bin/env bash
# Installs every Debian package the project needs (idempotent), then configures and builds.
#   tools/scripts/setup.sh            # packages + Debug-with-optimisation build in build/
#   MEMRAY_SKIP_BUILD=1 tools/scripts/setup.sh   # packages only
set -euo pipefail
cd "$(dirname "$0")/../.."

packages=(
  build-essential cmake pkg-config
  liblief-dev libunwind-dev libboost-program-options-dev liblz4-dev
  libspdlog-dev libfmt-dev googletest libgtest-dev zlib1g-dev
  nlohmann-json3-dev libdw-dev libelf-dev libncurses-dev
  tmux chromium heaptrack
  elfutils  # eu-stack: tests print every thread's stack when something hangs
  xz-utils  # the native tests make a MiniDebugInfo object (.gnu_debugdata is xz; libdw decompresses it)
  graphviz python3-jsonschema  # consumers of `memray transform`'s files in its tests (dot, speedscope's schema)
  # The pytest plugin's and the IPython magic's tests (tests/cmake/pytest_plugin.cmake), on
  # Debian's python3.11: pytest with pytester, pytest-xdist, IPython, anyio (async tests).
  python3-pytest python3-pytest-xdist python3-ipython python3-anyio
  python3-greenlet  # deep stacks switched by greenlets, on Debian's python3.11 (partial stack walks)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

[ "${MEMRAY_SKIP_BUILD:-0}" = 1 ] && exit 0
build_type=${MEMRAY_BUILD_TYPE:-RelWithDebInfo}
cmake -S . -B build -DCMAKE_BUILD_TYPE="$build_type" >/dev/null
cmake --build build -j2
