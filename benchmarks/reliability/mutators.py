"""The ways the reader fuzz damages a capture. Each strategy takes a seeded random.Random, the
parsed seed capture (capture_file.Capture) and the run's context, and returns the mutant's
bytes. Three layers:

- bytes of the file as it is (flips, overwrites, truncations, duplicated and removed ranges,
  whole chunks dropped, repeated or swapped): mostly caught by the chunk checksums;
- compressed blocks changed and their checksums fixed, so the LZ4 decoder (and, when the block
  still decodes, the record decoder) sees them;
- the decompressed records, re-written as stored chunks with valid checksums: random bytes,
  fields set to interesting values, records duplicated, dropped or moved, and the structurally
  valid hostile records of hostile.py.
"""

import struct
import zlib

import capture_file
import hostile
import lz4_block
import records
from capture_file import CHUNK_HEADER, FILE_HEADER, STORED_FLAG

INTERESTING_BYTES = [0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE]
INTERESTING_U32 = [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 8 << 20, (8 << 20) + 1, 0x80000000 | (8 << 20)]


def _position(rng, capture):
    """A byte to damage: a third in the header and metadata, the rest anywhere."""
    if rng.random() < 0.33:
        return rng.randrange(capture.start_size)
    return rng.randrange(len(capture.data))


def bit_flips(rng, capture, ctx):
    data = bytearray(capture.data)
    for _ in range(rng.randint(1, 8)):
        data[_position(rng, capture)] ^= 1 << rng.randrange(8)
    return bytes(data)


def byte_overwrites(rng, capture, ctx):
    data = bytearray(capture.data)
    for _ in range(rng.randint(1, 4)):
        at = _position(rng, capture)
        if rng.random() < 0.5 or at + 4 > len(data):
            data[at] = rng.choice(INTERESTING_BYTES)
        else:
            struct.pack_into("<I", data, at, rng.choice(INTERESTING_U32 + [len(data)]))
    return bytes(data)


def _boundaries(capture):
    return [0, FILE_HEADER.size, capture.start_size] + [chunk.offset for chunk in capture.chunks] + [len(capture.data)]


def truncate_at_boundary(rng, capture, ctx):
    boundary = rng.choice(_boundaries(capture))
    cut = max(0, min(len(capture.data), boundary + rng.choice([0, 0, 0, -1, 1, -4, 4, 11, 12, 13, -12])))
    return capture.data[:cut]


def truncate_anywhere(rng, capture, ctx):
    return capture.data[:rng.randrange(len(capture.data) + 1)]


def duplicate_range(rng, capture, ctx):
    data = capture.data
    start = rng.randrange(len(data))
    end = min(len(data), start + rng.choice([1, 4, 12, 100, 4096, len(data)]))
    at = rng.choice([start, end, rng.randrange(len(data) + 1)])
    return data[:at] + data[start:end] + data[at:]


def remove_range(rng, capture, ctx):
    data = capture.data
    start = rng.randrange(len(data))
    end = min(len(data), start + rng.choice([1, 4, 12, 100, 4096, len(data)]))
    return data[:start] + data[end:]


def _chunk_bytes(capture, chunk):
    return capture.data[chunk.offset:chunk.offset + CHUNK_HEADER.size + len(chunk.stored)]


def shuffle_chunks(rng, capture, ctx):
    """Whole chunks dropped, repeated or swapped: each checksum is right, the LZ4 dictionary
    and the record stream are not."""
    chunks = [_chunk_bytes(capture, chunk) for chunk in capture.chunks]
    if not chunks:
        return capture.data + capture.data[capture.start_size:]
    i, j = rng.randrange(len(chunks)), rng.randrange(len(chunks))
    action = rng.randrange(4)
    if action == 0:
        del chunks[i]
    elif action == 1:
        chunks.insert(j, chunks[i])
    elif action == 2:
        chunks[i], chunks[j] = chunks[j], chunks[i]
    else:
        chunks.append(chunks[-1])
    return capture.data[:capture.start_size] + b"".join(chunks) + capture.tail


def chunk_header_fields(rng, capture, ctx):
    if not capture.chunks:
        return byte_overwrites(rng, capture, ctx)
    data = bytearray(capture.data)
    chunk = rng.choice(capture.chunks)
    field = rng.randrange(3)
    value = rng.choice(INTERESTING_U32 + [len(chunk.stored) + 1, len(chunk.stored) - 1, len(chunk.raw) | STORED_FLAG])
    struct.pack_into("<I", data, chunk.offset + 4 * field, value & 0xFFFFFFFF)
    return bytes(data)


def _rewrite_chunk(capture, index, stored):
    """The capture with chunk `index`'s stored bytes replaced (same raw size field), its
    checksum fixed."""
    chunk = capture.chunks[index]
    header = CHUNK_HEADER.pack(chunk.header[0], len(stored), zlib.crc32(stored))
    end = chunk.offset + CHUNK_HEADER.size + len(chunk.stored)
    return capture.data[:chunk.offset] + header + stored + capture.data[end:]


def _compressed_chunks(capture):
    return [i for i, chunk in enumerate(capture.chunks) if not chunk.header[0] & STORED_FLAG]


def lz4_literals(rng, capture, ctx):
    """Literal bytes of a compressed block changed, checksum fixed: the block still decodes,
    to records that are wrong (and so is every later block that copies from them)."""
    compressed = _compressed_chunks(capture)
    if not compressed:
        return stream_bytes(rng, capture, ctx)
    index = rng.choice(compressed)
    stored = bytearray(capture.chunks[index].stored)
    positions = lz4_block.literal_positions(stored)
    for _ in range(rng.randint(1, 6)):
        if positions:
            at = rng.choice(positions)
            stored[at] = rng.choice(INTERESTING_BYTES + [rng.randrange(256)])
    return _rewrite_chunk(capture, index, bytes(stored))


def lz4_any(rng, capture, ctx):
    """Any bytes of a compressed block changed, checksum fixed: the LZ4 decoder must refuse the
    block or decode it to exactly its size, without reading or writing out of bounds."""
    compressed = _compressed_chunks(capture)
    if not compressed:
        return stream_bytes(rng, capture, ctx)
    index = rng.choice(compressed)
    stored = bytearray(capture.chunks[index].stored)
    for _ in range(rng.randint(1, 4)):
        stored[rng.randrange(len(stored))] = rng.randrange(256)
    return _rewrite_chunk(capture, index, bytes(stored))


def _metadata_value(rng, key, value, ctx):
    if isinstance(value, int):
        return hostile.interesting(rng, value) & hostile.MASK64
    return rng.choice(hostile.hostile_strings(ctx.scratch) + [b"3.99.0", b"2.7.18", b"3", b"garbage"])


def metadata(rng, capture, ctx):
    """Metadata fields set to hostile values (options bits included, which change how the
    records decode), duplicated, dropped, or of the wrong type."""
    fields = list(capture.metadata)
    for _ in range(rng.randint(1, 3)):
        action = rng.randrange(6)
        i = rng.randrange(len(fields)) if fields else 0
        if action <= 1 and fields:
            key, value = fields[i]
            fields[i] = (key, _metadata_value(rng, key, value, ctx))
        elif action == 2:
            bit = rng.choice([capture_file.OPTION_NATIVE, capture_file.OPTION_AGGREGATED,
                              capture_file.OPTION_AGGREGATE_WITH_RECORDS, 1, 4, 8, 1 << 40])
            fields = [(k, v ^ bit if k == capture_file.OPTIONS else v) for k, v in fields]
        elif action == 3 and fields:
            del fields[i]
        elif action == 4:
            fields.append((rng.choice([capture_file.PID, capture_file.START_TIME_US, 99, 2**32, 2**63]),
                           rng.choice([b"\xff" * 11, b"", b"text", b"x" * 100000]) if rng.random() < 0.5
                           else hostile.interesting(rng) & hostile.MASK64))
        else:
            fields.append(rng.choice(fields) if fields else (capture_file.PID, 1))
    start = capture_file.file_start(fields, capture.version)
    return start + capture.data[capture.start_size:]


# ---- the record stream, behind the checksums ----

def _pieces(rng, stream_records, tail=b""):
    """The records cut into chunk-sized pieces at record boundaries (each at most 4 MiB)."""
    pieces, current, size = [], [], 0
    target = rng.choice([512, 4096, 65536, 1 << 20])
    for record in stream_records:
        encoded = record.encode()
        if current and size + len(encoded) > target:
            pieces.append(b"".join(current))
            current, size = [], 0
        current.append(encoded)
        size += len(encoded)
    current.append(tail)
    pieces.append(b"".join(current))
    out = []
    for piece in pieces:
        out.extend(piece[i:i + (4 << 20)] for i in range(0, len(piece), 4 << 20))
    return out


def _with_stream(capture, pieces):
    return capture.data[:capture.start_size] + capture_file.write_chunks(pieces)


def _split(capture):
    options = capture.options()
    return records.split(capture.stream(), bool(options & capture_file.OPTION_NATIVE),
                         bool(options & capture_file.OPTION_AGGREGATED))


def stream_bytes(rng, capture, ctx):
    """Random bytes of the decompressed records changed (long varints among them), each chunk
    kept at its size and stored with a valid checksum."""
    raws = [bytearray(chunk.raw) for chunk in capture.chunks]
    if not raws:
        return bit_flips(rng, capture, ctx)
    for _ in range(rng.randint(1, 6)):
        raw = rng.choice(raws)
        at = rng.randrange(len(raw))
        choice = rng.randrange(3)
        raw[at] = raw[at] ^ (1 << rng.randrange(8)) if choice == 0 else \
            rng.randrange(256) if choice == 1 else 0x80 | rng.randrange(128)
    return _with_stream(capture, [bytes(raw) for raw in raws])


def record_fields(rng, capture, ctx):
    """Varint fields of random records set to interesting values (0, 2^k, 2^64-1, off by one,
    overlong encodings), strings to hostile ones."""
    stream_records, tail = _split(capture)
    candidates = [r for r in stream_records if r.fields]
    strings = hostile.hostile_strings(ctx.scratch)
    for _ in range(rng.randint(1, 5)):
        if not candidates:
            break
        record = rng.choice(candidates)
        i = rng.randrange(len(record.fields))
        if isinstance(record.fields[i], bytes):
            record.fields[i] = rng.choice(strings)
        else:
            record.fields[i] = hostile.interesting(rng, record.fields[i])
    return _with_stream(capture, _pieces(rng, stream_records, tail))


def record_order(rng, capture, ctx):
    """Records duplicated, dropped, swapped or moved, and opcodes changed within their family
    (another allocator or deallocator, another recent slot)."""
    stream_records, tail = _split(capture)
    if not stream_records:
        return stream_bytes(rng, capture, ctx)
    for _ in range(rng.randint(1, 4)):
        n = len(stream_records)
        i, j = rng.randrange(n), rng.randrange(n)
        action = rng.randrange(5)
        if action == 0:
            stream_records.insert(j, stream_records[i])
        elif action == 1 and n > 1:
            del stream_records[i]
        elif action == 2:
            stream_records[i], stream_records[j] = stream_records[j], stream_records[i]
        elif action == 3:
            stream_records.insert(j, stream_records.pop(i))
        else:
            record = stream_records[i]
            if record.opcode >= records.RECENT_ALLOCATION:
                record.opcode = 0x80 | rng.randrange(8) << 4 | rng.randint(1, 12)
            elif record.opcode >= records.RECENT_DEALLOCATION:
                record.opcode = 0x40 | rng.randrange(16) << 2 | rng.randint(1, 3)
            elif 0x10 <= record.opcode < 0x30:
                record.opcode = (record.opcode & 0xF0) | rng.randint(1, 12 if record.opcode < 0x20 else 3)
    return _with_stream(capture, _pieces(rng, stream_records, tail))


def overlong_varints(rng, capture, ctx):
    """Every field of many records written as a 10-byte varint: the same values, each in the
    longest encoding the decoder must still accept."""
    stream_records, tail = _split(capture)
    for record in stream_records:
        if rng.random() < 0.3:
            record.fields = [records.Overlong(f) if isinstance(f, int) else f for f in record.fields]
    return _with_stream(capture, _pieces(rng, stream_records, tail))


def hostile_records(rng, capture, ctx):
    """Structurally valid hostile records (hostile.py) inserted at a record boundary, usually
    before the trailer so the capture still ends cleanly."""
    stream_records, tail = _split(capture)
    options = capture.options()
    writer = records.Writer(bool(options & capture_file.OPTION_NATIVE), bool(options & capture_file.OPTION_AGGREGATED))
    trailer_at = next((i for i, r in enumerate(stream_records) if r.opcode == records.TRAILER), len(stream_records))
    at = trailer_at if rng.random() < 0.7 else rng.randrange(len(stream_records) + 1)
    writer.replay(stream_records[:at])
    names = [name for name, _, weight in hostile.SCENARIOS for _ in range(weight)]
    chosen = [rng.choice(names) for _ in range(rng.choice([1, 1, 2]))]
    functions = {name: function for name, function, _ in hostile.SCENARIOS}
    saved = writer.save()
    for name in chosen:
        functions[name](writer, rng, ctx)
    writer.restore(saved, 0x7FFF00000000)
    ctx.note = "+".join(chosen)
    return _with_stream(capture, _pieces(rng, writer.records + stream_records[at:], tail))


# (name, function, weight): how often each is drawn.
STRATEGIES = [
    ("bit_flips", bit_flips, 2),
    ("byte_overwrites", byte_overwrites, 2),
    ("truncate_at_boundary", truncate_at_boundary, 2),
    ("truncate_anywhere", truncate_anywhere, 1),
    ("duplicate_range", duplicate_range, 1),
    ("remove_range", remove_range, 1),
    ("shuffle_chunks", shuffle_chunks, 1),
    ("chunk_header_fields", chunk_header_fields, 1),
    ("lz4_literals", lz4_literals, 2),
    ("lz4_any", lz4_any, 1),
    ("metadata", metadata, 2),
    ("stream_bytes", stream_bytes, 2),
    ("record_fields", record_fields, 3),
    ("record_order", record_order, 2),
    ("overlong_varints", overlong_varints, 1),
    ("hostile_records", hostile_records, 6),
]
