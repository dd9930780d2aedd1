"""A small stand-in for a live Python service, for demos and benchmarks of memray.

It handles fake "requests" forever (or for --seconds): each one parses a JSON payload,
builds some objects, caches a few results (the cache grows: a slow leak) and compresses a
response, in a pool of worker threads.
"""

import argparse
import json
import threading
import time
import zlib

CACHE = {}


def parse_request(number):
    body = json.dumps({"id": number, "items": [{"sku": i, "qty": i % 7} for i in range(200)]})
    return json.loads(body)


def price_items(request):
    return [{"sku": item["sku"], "total": item["qty"] * 3.5} for item in request["items"]]


def render_response(priced):
    text = json.dumps(priced).encode() * 4
    return zlib.compress(text)


def remember(number, response):
    if number % 10 == 0:
        CACHE[number] = bytes(response)  # never evicted: the leak to find


def handle(number):
    request = parse_request(number)
    priced = price_items(request)
    response = render_response(priced)
    remember(number, response)
    return len(response)


def worker(first, step, deadline):
    number = first
    while deadline is None or time.monotonic() < deadline:
        handle(number)
        number += step
        time.sleep(0.001)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=None, help="stop after this long")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    deadline = None if args.seconds is None else time.monotonic() + args.seconds
    threads = [threading.Thread(target=worker, args=(i, args.threads, deadline), name="worker-%d" % i)
               for i in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
