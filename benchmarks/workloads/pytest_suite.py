"""A test suite as a service's would be, for the benchmarks' pytest section: records made,
serialised, parsed, sorted, grouped, searched and compressed, each test a few tens of
milliseconds. Its size comes from the environment: MEMRAY_BENCH_SEEDS tests of each kind
(default 20, so 120 tests).

Run as ``pytest [--memray] benchmarks/workloads/pytest_suite.py``."""

import collections
import dataclasses
import json
import os
import random
import re
import zlib

import pytest

SEEDS = range(int(os.environ.get("MEMRAY_BENCH_SEEDS", "20")))
ROWS = int(os.environ.get("MEMRAY_BENCH_ROWS", "3000"))
WORDS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa")


@dataclasses.dataclass
class Row:
    id: int
    name: str
    tags: list
    score: float
    city: str


def make_rows(seed):
    rng = random.Random(seed)
    return [Row(i, "row-%d-%s" % (i, rng.choice(WORDS)), rng.sample(WORDS, 3), rng.random(), rng.choice(WORDS))
            for i in range(ROWS)]


@pytest.fixture(params=SEEDS)
def rows(request):
    return make_rows(request.param)


def test_json_round_trip(rows):
    text = json.dumps([dataclasses.asdict(row) for row in rows])
    back = json.loads(text)
    assert [item["id"] for item in back] == [row.id for row in rows]


def test_sort_and_group(rows):
    by_city = collections.defaultdict(list)
    for row in sorted(rows, key=lambda row: (row.city, -row.score)):
        by_city[row.city].append(row)
    best = {city: group[0].score for city, group in by_city.items()}
    assert all(score >= 0 for score in best.values())


def test_text_search(rows):
    text = "\n".join("%s %s %.3f" % (row.name, " ".join(row.tags), row.score) for row in rows)
    counts = collections.Counter(re.findall(r"[a-z]+", text))
    assert counts["row"] == len(rows)


def test_compression(rows):
    data = "".join(repr(row) for row in rows).encode()
    packed = zlib.compress(data, 6)
    assert zlib.decompress(packed) == data


def test_matrix(rows):
    size = 40
    matrix = [[row.score for row in rows[i * size:(i + 1) * size]] for i in range(size)]
    product = [[sum(a * b for a, b in zip(line, column)) for column in zip(*matrix)] for line in matrix]
    assert len(product) == size


def test_index_and_lookup(rows):
    index = {row.name: row for row in rows}
    tags = collections.defaultdict(set)
    for row in rows:
        for tag in row.tags:
            tags[tag].add(row.id)
    assert all(index[row.name] is row for row in rows[::7])
    assert sum(len(ids) for ids in tags.values()) == 3 * len(rows)
