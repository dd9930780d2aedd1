"""Four threads allocating at once: contention on the tracker's shared state."""
import sys
import threading


def work(n, results, slot):
    total = 0
    for i in range(n):
        items = [str(i), (i, i + 1), {"k": i}]
        total += len(items[0]) + len(items[2])
    results[slot] = total


def run(n):
    results = [0] * 4
    threads = [threading.Thread(target=work, args=(n, results, slot), name="worker-%d" % slot) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(results)


if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 400_000))
