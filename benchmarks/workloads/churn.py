"""Pure-Python object churn: dicts, lists, strings and tuples made and dropped in a loop,
with a small share kept alive for a while, as a request-handling service does."""
import sys


def make_record(i):
    tags = [str(j * i % 97) for j in range(6)]
    record = {"id": i, "name": "item-%d" % i, "tags": tags, "pair": (i, -i)}
    record["label"] = "/".join(tags) + record["name"]
    return record


def churn(n):
    kept = []
    total = 0
    for i in range(n):
        record = make_record(i)
        row = (record["id"], record["label"], tuple(record["tags"]))
        total += len(row[1]) + len(row[2])
        if i % 50 == 0:
            kept.append(record)
        if len(kept) > 2000:
            del kept[:1000]
    return total


if __name__ == "__main__":
    print(churn(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
