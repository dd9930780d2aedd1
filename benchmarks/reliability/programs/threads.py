# A small multi-threaded program for the reader fuzz corpus: named threads that allocate and
# exit while the main thread allocates too.
import threading


def work(n):
    data = []
    for i in range(n):
        data.append(bytes(64 + i % 512))
    return len(data)


threads = [threading.Thread(target=work, args=(300 + 100 * i,), name="worker-%d" % i) for i in range(4)]
for thread in threads:
    thread.start()
main_data = [bytearray(1000) for _ in range(100)]
for thread in threads:
    thread.join()
