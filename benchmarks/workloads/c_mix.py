"""Allocations made by C code through several extension modules: zlib, json, pickle, re and
array growth, each making objects and buffers past the small-object allocator (so malloc is
called millions of times) under a shallow Python stack. The workload of the native-unwinding
rows: consecutive allocations come from different native call chains that share their outer
frames."""
import array
import json
import pickle
import re
import sys
import zlib

PAIR = re.compile(r"(\w+)=(\d+)")


def run(rounds):
    record = {"id": 7, "values": list(range(80)), "text": "key=12 " * 30}
    blob = json.dumps([record] * 3).encode()
    text = blob.decode()
    total = 0
    for _ in range(rounds):
        for i in range(200):
            encoded = json.dumps(record)
            total += len(json.loads(encoded)["values"])
            total += len(pickle.loads(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)))
            total += len(PAIR.findall(text, i % 64))
            total += len(PAIR.sub(r"\2=\1", text[: 600 + i]))
            numbers = array.array("d", range(120))
            for _ in range(3):
                numbers.extend(numbers)
            total += len(numbers)
            grown = bytearray()
            for start in range(0, 1600, 100):
                grown += blob[start : start + 100]
            total += len(bytes(grown))
            for start in range(0, 1200, 4):
                total += len(blob[start : start + 600])
            if i % 20 == 0:
                total += len(zlib.decompress(zlib.compress(blob[: 700 + i], 1)))
    return total


if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 110))
