"""Allocates and frees at a steady rate: RATE malloc'd blocks (bytearray(1000): above pymalloc's
512-byte limit, so each is one malloc and one free) per second, for SECONDS, in batches every
10 ms. Prints the rate it achieved. For the live view's keep-up benchmark."""
import sys
import time

BATCH_INTERVAL = 0.01


def allocate(count):
    for _ in range(count):
        bytearray(1000)


def main(rate, seconds):
    per_batch = max(1, int(rate * BATCH_INTERVAL))
    start = time.perf_counter()
    done = 0
    batch = 0
    while time.perf_counter() - start < seconds:
        allocate(per_batch)
        done += per_batch
        batch += 1
        delay = start + batch * BATCH_INTERVAL - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    elapsed = time.perf_counter() - start
    print("rate %.0f allocations/s over %.2f s" % (done / elapsed, elapsed))


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1e6, float(sys.argv[2]) if len(sys.argv) > 2 else 10)
