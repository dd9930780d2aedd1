"""LZ4 block decoding in pure Python (the standard library has no LZ4).

The fuzzer needs a capture's decompressed record stream to mutate records behind the chunk
checksums, and needs to know whether a corrupted compressed block still decodes. Captures link
their blocks through a dictionary (the last 64 KiB of the stream so far), so `decode` takes it.
Blocks are re-written uncompressed (the format's "stored" chunks), so no encoder is needed.
"""


class Lz4Error(ValueError):
    pass


def _length(block, i, length, what):
    """A token's 4-bit length, extended by the bytes that follow when it is 15: (length, next i)."""
    if length == 15:
        while True:
            if i >= len(block):
                raise Lz4Error("%s length runs past the block" % what)
            extra = block[i]
            i += 1
            length += extra
            if extra != 255:
                break
    return length, i


def decode(block, raw_size, dictionary=b""):
    """The `raw_size` bytes that `block` decodes to after `dictionary`; Lz4Error if it does not
    decode to exactly that many (as LZ4_decompress_safe_usingDict would refuse)."""
    out = bytearray(dictionary)
    start = len(out)
    limit = start + raw_size
    i, n = 0, len(block)
    while True:
        if i >= n:
            raise Lz4Error("block ends before its last sequence")
        token = block[i]
        i += 1
        literals, i = _length(block, i, token >> 4, "literal")
        if i + literals > n or len(out) + literals > limit:
            raise Lz4Error("literals run past the block or the output")
        out += block[i:i + literals]
        i += literals
        if i == n:  # the last sequence has literals only
            break
        if i + 2 > n:
            raise Lz4Error("match offset runs past the block")
        offset = block[i] | block[i + 1] << 8
        i += 2
        if offset == 0 or offset > len(out):
            raise Lz4Error("match offset outside the output")
        length, i = _length(block, i, token & 15, "match")
        length += 4
        if len(out) + length > limit:
            raise Lz4Error("match runs past the output")
        source = len(out) - offset
        if offset >= length:
            out += out[source:source + length]
        else:  # overlapping copy: repeats the last `offset` bytes
            for k in range(length):
                out.append(out[source + k])
    if len(out) != limit:
        raise Lz4Error("block decodes to %d bytes, not %d" % (len(out) - start, raw_size))
    return bytes(out[start:])


def literal_positions(block):
    """Offsets in `block` of literal bytes: changing one changes the decoded bytes but not how
    the block decodes, so the chunk still decompresses (to different records)."""
    positions = []
    i, n = 0, len(block)
    while i < n:
        token = block[i]
        i += 1
        literals = token >> 4
        if literals == 15:
            while i < n:
                literals += block[i]
                i += 1
                if block[i - 1] != 255:
                    break
        positions.extend(range(i, min(n, i + literals)))
        i += literals
        if i >= n:
            break
        i += 2
        if token & 15 == 15:
            while i < n:
                i += 1
                if block[i - 1] != 255:
                    break
    return positions
