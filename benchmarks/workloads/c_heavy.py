"""Bytes allocated by C code: zlib, json, pickle and bytearray growth. Few Python frames per
allocated byte, large and varied malloc sizes."""
import json
import pickle
import sys
import zlib


def run(rounds):
    payload = [{"id": i, "values": list(range(i % 50)), "text": "x" * (i % 200)} for i in range(2_000)]
    total = 0
    for r in range(rounds):
        encoded = json.dumps(payload).encode()
        total += len(zlib.compress(encoded, 6))
        total += len(json.loads(encoded))
        pickled = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        total += len(pickle.loads(pickled))
        grown = bytearray()
        for i in range(2_000):
            grown += encoded[i : i + 300]
        total += len(zlib.decompress(zlib.compress(bytes(grown), 1)))
    return total


if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 10))
