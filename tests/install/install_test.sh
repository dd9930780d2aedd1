#!/usr/bin/env bash
# `cmake --install` puts memray on PATH with its payload beside it, and the installed CLI finds
# that payload by itself (no MEMRAY_* variables) and captures.
#   install_test.sh BUILD_DIR PYTHON
set -euo pipefail
build=$1
python=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
test -x "$prefix/bin/memray"
test -f "$prefix/lib/memray/libmemray_payload.so"
cd "$prefix"
env -u MEMRAY_PAYLOAD PATH="$prefix/bin:$PATH" memray run --python "$python" -q -o capture.bin \
    -c "keep = bytearray(1234567)"
PATH="$prefix/bin:$PATH" memray parse capture.bin | grep -q "size=1234568 allocator=malloc"
echo "installed memray captured from $prefix"
