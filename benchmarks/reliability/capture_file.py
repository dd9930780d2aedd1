"""A capture file's container, read and written in Python (docs/capture-format.md).

Reading gives the header fields, the metadata fields and every chunk (its header, its stored
bytes, its decompressed records); writing puts a record stream back as chunks, uncompressed
("stored", kChunkStoredFlag) with correct checksums, so that the reader's decoder is what meets
whatever the stream holds.
"""

import struct
import zlib

import lz4_block

MAGIC = b"\x89MRYCAP\n"
FILE_HEADER = struct.Struct("<8sII")   # magic, format version, metadata size
CHUNK_HEADER = struct.Struct("<III")   # raw size (| stored flag), stored size, CRC-32
STORED_FLAG = 0x80000000
DICTIONARY_SIZE = 64 << 10
MAX_CHUNK_SIZE = 8 << 20

# MetadataKey values whose value is a varint (the others are strings).
PID, PYTHON_VERSION, COMMAND_LINE, START_TIME_US, OPTIONS, MAIN_THREAD_ID = 1, 2, 3, 4, 5, 6
RSS_INTERVAL_MS, EXECUTABLE, PAYLOAD_VERSION, PARENT_PID, PYTHON_ALLOCATOR = 7, 8, 9, 10, 11
NUMBER_KEYS = {PID, START_TIME_US, OPTIONS, MAIN_THREAD_ID, RSS_INTERVAL_MS, PARENT_PID}

# CaptureOption bits.
OPTION_NATIVE = 1 << 1
OPTION_AGGREGATED = 1 << 4
OPTION_AGGREGATE_WITH_RECORDS = 1 << 5


def write_varint(value):
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def read_varint(data, i):
    """(value, next offset); ValueError on a truncated or over-long varint."""
    result, shift = 0, 0
    while shift < 64:
        if i >= len(data):
            raise ValueError("truncated varint")
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & (2**64 - 1), i
        shift += 7
    raise ValueError("over-long varint")


class Chunk:
    def __init__(self, offset, header, stored, raw):
        self.offset = offset    # of its header, in the file
        self.header = header    # (raw size field, stored size, checksum)
        self.stored = stored    # bytes after the header
        self.raw = raw          # decompressed records


class Capture:
    """A parsed capture. `tail` is what follows the last whole chunk (a cut-off chunk)."""

    def __init__(self, data):
        magic, self.version, metadata_size = FILE_HEADER.unpack_from(data, 0)
        if magic != MAGIC:
            raise ValueError("not a capture")
        self.start_size = FILE_HEADER.size + metadata_size
        self.metadata = parse_metadata(data[FILE_HEADER.size:self.start_size])
        self.chunks = []
        offset = self.start_size
        dictionary = b""
        while offset + CHUNK_HEADER.size <= len(data):
            header = CHUNK_HEADER.unpack_from(data, offset)
            raw_field, stored_size, _ = header
            body = offset + CHUNK_HEADER.size
            if body + stored_size > len(data):
                break
            stored = data[body:body + stored_size]
            raw_size = raw_field & ~STORED_FLAG
            raw = stored if raw_field & STORED_FLAG else lz4_block.decode(stored, raw_size, dictionary)
            self.chunks.append(Chunk(offset, header, stored, raw))
            dictionary = (dictionary + raw)[-DICTIONARY_SIZE:]
            offset = body + stored_size
        self.tail = data[offset:]
        self.data = data

    def options(self):
        return dict(self.metadata).get(OPTIONS, 0)

    def stream(self):
        return b"".join(chunk.raw for chunk in self.chunks)

    def dictionary_before(self, index):
        """The LZ4 dictionary that chunk `index` decodes against."""
        return b"".join(chunk.raw for chunk in self.chunks[:index])[-DICTIONARY_SIZE:]


def parse_metadata(data):
    """[(key, value)], value an int for NUMBER_KEYS, else bytes."""
    fields, i = [], 0
    while i < len(data):
        key, i = read_varint(data, i)
        length, i = read_varint(data, i)
        value = data[i:i + length]
        i += length
        fields.append((key, read_varint(value, 0)[0] if key in NUMBER_KEYS else value))
    return fields


def encode_metadata(fields):
    out = bytearray()
    for key, value in fields:
        encoded = write_varint(value) if isinstance(value, int) else bytes(value)
        out += write_varint(key) + write_varint(len(encoded)) + encoded
    return bytes(out)


def file_start(fields, version=3):
    metadata = encode_metadata(fields)
    return FILE_HEADER.pack(MAGIC, version, len(metadata)) + metadata


def stored_chunk(raw):
    """One uncompressed chunk holding `raw` (at most MAX_CHUNK_SIZE bytes)."""
    return CHUNK_HEADER.pack(len(raw) | STORED_FLAG, len(raw), zlib.crc32(raw)) + raw


def write_chunks(pieces):
    """The chunks of a stream given as its chunk-sized pieces (each a whole number of records)."""
    return b"".join(stored_chunk(piece) for piece in pieces if piece)
