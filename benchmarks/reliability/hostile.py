"""Structurally valid, semantically hostile records: everything here passes the record
decoder's checks (ids defined, parents before children, strings within bounds), so it reaches
the tables, the analyses and the reporters, which must cope with what a damaged or malicious
capture can say: absurd sizes, ids, thread ids, times and strings, and stacks far deeper or
wider than any test capture.

Each scenario takes a Writer whose state is that of the stream up to the insertion point and
appends its records there; `SCENARIOS` lists them with the capture kinds they apply to.
"""

import os

from records import (AGGREGATE_BEGIN, AGGREGATE_END, AGGREGATE_LOCATION, IMAGE, IMAGE_MAP, IMAGE_SEGMENT, MMAP,
                     MUNMAP, THREAD_EXIT, TRAILER, Overlong, Record)

MASK64 = 2**64 - 1
INTERESTING = [0, 1, 2, 7, 0x7F, 0x80, 0xFF, 0xFFFF, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**53, 2**56,
               2**63 - 1, 2**63, 2**64 - 2, 2**64 - 1]
MALLOC, CALLOC, REALLOC, PYMALLOC_MALLOC = 1, 2, 3, 10
FREE, PYMALLOC_FREE = 1, 3


def hostile_strings(scratch):
    """Names and paths a capture could hold: not UTF-8, markup, control characters, maximal
    length, and paths to files a reporter must not open (devices, FIFOs, directories)."""
    return [
        b"", b"\xff\xfe\x80", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf0\x9f\x92\xa5",
        b"a" * 4096, b"\xe2\x82" + b"\xac" * 4094,
        b"</script><script>alert(1)</script>", b"<!--", b"line one\nline two\r\n", b"nul\x00byte",
        b"\x1b[2J\x1b[31mred\x07", b"%s%n%x%p", b"\xe2\x80\xaereversed", b"\\u0000\"'&<>",
        b"../../../../etc/passwd", b"/dev/zero", b"/dev/urandom", b"/dev/stdin", b"/proc/self/mem",
        b"/proc/kcore", b"/proc/self/fd/0", os.path.join(scratch, "fifo").encode(), scratch.encode(),
        b"/", b"<frozen importlib._bootstrap>", b"<string>", b"/root/.pyenv/versions/3.12.1/bin/python3.12",
    ]


def interesting(rng, original=None):
    values = list(INTERESTING)
    if original is not None:
        values += [(original + 1) & MASK64, (original - 1) & MASK64, (original * 2) & MASK64, original ^ (1 << 63)]
    if rng.random() < 0.15:
        return rng.getrandbits(64)
    value = rng.choice(values)
    return Overlong(value) if rng.random() < 0.1 else value


def _a_frame(writer, rng, scratch, name=b"hostile", filename=b"hostile.py", line=1):
    code = writer.code(name, filename, line)
    return writer.frame(code, line)


def _enter(writer, tid):
    """Switches to `tid`, returning the thread to switch back to afterwards (or None)."""
    previous = writer.tid
    writer.thread_switch(tid)
    return previous


def _leave(writer, previous):
    if previous is not None:
        writer.thread_switch(previous)


def deep_stack(writer, rng, ctx):
    depth = rng.choice([2000, 20000, 150000])
    frames = [_a_frame(writer, rng, ctx.scratch, b"f%d" % i, b"deep.py", i + 1) for i in range(rng.choice([1, 3]))]
    previous = _enter(writer, rng.choice([1, 2, 99]))
    stack = 0
    for i in range(depth):
        stack = writer.stack(stack, frames[i % len(frames)], flags=rng.choice([0, 1]))
    for _ in range(3):
        writer.allocation(MALLOC, 0x7F0000000000 + rng.getrandbits(20) * 16, 1 << 20, stack)
    _leave(writer, previous)


def wide_stacks(writer, rng, ctx):
    frame = _a_frame(writer, rng, ctx.scratch)
    previous = _enter(writer, 1)
    base = 0x7E0000000000
    for i in range(rng.choice([20000, 60000])):
        stack = writer.stack(rng.choice([0, 0, writer.next_stack - 1]) if i else 0, frame)
        writer.allocation(MALLOC, base + 16 * i, 32 + i % 100, stack)
    _leave(writer, previous)


def huge_sizes(writer, rng, ctx):
    frame = _a_frame(writer, rng, ctx.scratch)
    previous = _enter(writer, 1)
    stack = writer.stack(0, frame)
    top = 2**64 - 4096
    for _ in range(rng.randint(3, 12)):
        kind = rng.randrange(6)
        address = rng.choice([0, 16, top, 2**63, 0x7F0000000000, rng.getrandbits(64) & ~15])
        size = rng.choice([0, 2**63, 2**64 - 1, 2**64 - 16, 2**62, 2**32, rng.getrandbits(64)])
        if kind == 0:
            writer.allocation(rng.choice([MALLOC, CALLOC, REALLOC, PYMALLOC_MALLOC]), address, size, stack)
        elif kind == 1:
            writer.allocation(MMAP, address, size, stack)
        elif kind == 2:
            writer.deallocation(MUNMAP, address, size)
        elif kind == 3:
            writer.deallocation(rng.choice([FREE, PYMALLOC_FREE]), address)
        elif kind == 4:  # the same block allocated twice (a missed free), then freed twice
            writer.allocation(MALLOC, address, size, stack)
            writer.allocation(MALLOC, address, size, stack)
            writer.deallocation(FREE, address)
            writer.deallocation(FREE, address)
        else:  # a mapping, then a hole in its middle, then an unmap of everything
            writer.allocation(MMAP, 0x10000, 2**64 - 0x20000, stack)
            writer.deallocation(MUNMAP, 2**40, 4096)
            writer.deallocation(MUNMAP, 0, 2**64 - 1)
    _leave(writer, previous)


def absurd_threads(writer, rng, ctx):
    strings = hostile_strings(ctx.scratch)
    frame = _a_frame(writer, rng, ctx.scratch)
    stack = writer.stack(0, frame)
    for _ in range(rng.randint(2, 8)):
        tid = interesting(rng)
        if rng.random() < 0.5:
            writer.thread_start(tid, rng.choice([interesting(rng), ctx.pid]))
        if rng.random() < 0.7:
            writer.thread_name(tid, rng.choice(strings))
        previous = _enter(writer, tid)
        writer.allocation(MALLOC, 0x7D0000000000 + rng.getrandbits(16) * 16, rng.randint(1, 1 << 20), stack)
        if rng.random() < 0.3:
            writer.add(Record(THREAD_EXIT, [tid]))
            writer.allocation(MALLOC, 0x7D1000000000 + rng.getrandbits(16) * 16, 64, stack)
        _leave(writer, previous)


def many_threads(writer, rng, ctx):
    frame = _a_frame(writer, rng, ctx.scratch)
    stack = writer.stack(0, frame)
    previous = writer.tid
    for tid in range(1000, 1000 + rng.choice([2000, 10000])):
        writer.thread_start(tid, tid + 50000)
        writer.thread_name(tid, b"t%d" % tid)
        writer.thread_switch(tid)
        writer.allocation(MALLOC, 0x7C0000000000 + tid * 16, 100, stack)
    _leave(writer, previous)


def hostile_code(writer, rng, ctx):
    strings = hostile_strings(ctx.scratch)
    previous = _enter(writer, 1)
    stack = 0
    for _ in range(rng.randint(2, 10)):
        code = writer.code(rng.choice(strings), rng.choice(strings), interesting(rng))
        frame = writer.frame(code, interesting(rng))
        stack = writer.stack(rng.choice([0, stack]), frame, flags=interesting(rng))
        writer.allocation(MALLOC, 0x7B0000000000 + rng.getrandbits(20) * 16, rng.randint(1, 1 << 24), stack)
    _leave(writer, previous)


def memory_records(writer, rng, ctx):
    count = rng.choice([5, 50000])
    time = rng.choice([0, 2**63, 2**64 - 1])
    for i in range(count):
        if rng.random() < 0.3:
            time = interesting(rng)
        else:
            time = (time + rng.choice([1, 10, -5])) & MASK64
        writer.memory(time, interesting(rng), interesting(rng))


def trailers(writer, rng, ctx):
    for _ in range(rng.randint(1, 3)):
        writer.add(Record(TRAILER, [interesting(rng), interesting(rng)]))


def images(writer, rng, ctx):
    if not writer.native:
        return deep_stack(writer, rng, ctx)
    strings = hostile_strings(ctx.scratch) + [ctx.libpython.encode()] * 4
    count = rng.randint(1, 5)
    writer.add(Record(IMAGE_MAP, [rng.choice([count, interesting(rng)])]))
    for _ in range(count):
        writer.add(Record(IMAGE, [rng.choice(strings), interesting(rng), rng.choice([b"", b"\x01" * 20, b"x" * 4096])]))
        for _ in range(rng.choice([0, 1, 3, 70])):
            writer.add(Record(IMAGE_SEGMENT, [interesting(rng), interesting(rng)]))
    native = 0
    for _ in range(rng.choice([5, 3000, 100000])):
        native = writer.native_frame(native if rng.random() < 0.9 else 0, interesting(rng))
    frame = _a_frame(writer, rng, ctx.scratch)
    previous = _enter(writer, 1)
    stack = writer.stack(0, frame, flags=1)
    writer.allocation(MALLOC, 0x7A0000000000, 1000, stack, native)
    writer.allocation(MALLOC, 0x7A0000000010, 1000, 0, native // 2)
    _leave(writer, previous)


def checkpoints(writer, rng, ctx):
    if not writer.aggregated:
        return huge_sizes(writer, rng, ctx)
    for _ in range(rng.randint(1, 3)):
        events = interesting(rng)
        writer.add(Record(AGGREGATE_BEGIN, [events, rng.randint(0, 10) if events else 0] +
                          [interesting(rng) for _ in range(4)]))
        for _ in range(rng.choice([1, 10, 20000])):
            writer.add(Record(AGGREGATE_LOCATION, [
                interesting(rng), rng.randrange(writer.next_stack), rng.randrange(writer.next_native),
                rng.randint(1, 12)] + [interesting(rng) for _ in range(5)]))
        if rng.random() < 0.8:
            writer.add(Record(AGGREGATE_END, []))


def mixed_stacks(writer, rng, ctx):
    """Allocations pairing any defined Python stack with any defined native stack (and new
    Python stacks with any entry flags): in native captures the hybrid stacks then interleave
    evaluation frames and entry frames in every wrong proportion."""
    previous = _enter(writer, rng.choice([1, 2, 3]))
    for i in range(rng.choice([10, 200, 3000])):
        if writer.next_frame > 1 and rng.random() < 0.3:
            writer.stack(rng.randrange(writer.next_stack), rng.randrange(1, writer.next_frame),
                         flags=rng.choice([0, 1, 2, 3, 2**64 - 1]))
        native = rng.randrange(writer.next_native) if writer.native else 0
        writer.allocation(rng.randint(1, 12), 0x790000000000 + 16 * i, rng.randint(1, 1 << 16),
                          rng.randrange(writer.next_stack), native)
    _leave(writer, previous)


# (name, function, weight)
SCENARIOS = [
    ("deep_stack", deep_stack, 2),
    ("wide_stacks", wide_stacks, 1),
    ("huge_sizes", huge_sizes, 3),
    ("absurd_threads", absurd_threads, 3),
    ("many_threads", many_threads, 1),
    ("hostile_code", hostile_code, 3),
    ("memory_records", memory_records, 2),
    ("trailers", trailers, 1),
    ("images", images, 2),
    ("checkpoints", checkpoints, 2),
    ("mixed_stacks", mixed_stacks, 3),
]
