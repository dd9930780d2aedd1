# A small program for the reader fuzz corpus: allocations from a few functions and modules,
# some freed, some kept, a realloc-heavy bytearray and an mmap.
import json
import mmap


def build(n):
    return [str(i) * 3 for i in range(n)]


def nested(depth):
    if depth == 0:
        return bytearray(4096)
    return nested(depth - 1)


kept = [build(200) for _ in range(5)]
blob = json.dumps({"k%d" % i: list(range(i % 7)) for i in range(300)})
grow = bytearray()
for i in range(200):
    grow += b"x" * 64
buffers = [nested(20) for _ in range(10)]
region = mmap.mmap(-1, 1 << 20)
region.close()
del kept[2:]
