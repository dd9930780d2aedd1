"""A capture's record stream, split into records and put back together (capture_format.h).

`split` cuts a decompressed stream into records without judging them (a record is its opcode
and its fields, each an int written as a varint or a bytes string written with its length), so
that a mutation can change one field and `join` re-encodes the stream with everything else
untouched. `Writer` replays the decoder's delta state (recent addresses, each thread's previous
stack ids, the implicit id counters), so hostile records can be written with exact absolute
addresses and ids and still be structurally valid.
"""

from capture_file import read_varint as _varint, write_varint

ALLOCATION, DEALLOCATION = 0x10, 0x20
RECENT_DEALLOCATION, RECENT_ALLOCATION = 0x40, 0x80
THREAD_SWITCH, THREAD_START, THREAD_NAME, CODE, FRAME, STACK, MEMORY, TRAILER, THREAD_EXIT = range(1, 10)
NATIVE_FRAME, IMAGE_MAP, IMAGE, IMAGE_SEGMENT, AGGREGATE_BEGIN, AGGREGATE_LOCATION = range(10, 16)
AGGREGATE_END = 0x30
MMAP, MUNMAP = 9, 2
MASK64 = 2**64 - 1

# Field layouts of the other records: "v" a varint, "s" a string.
LAYOUTS = {
    THREAD_SWITCH: "v", THREAD_START: "vv", THREAD_NAME: "vs", THREAD_EXIT: "v", CODE: "ssv", FRAME: "vv",
    TRAILER: "vv", NATIVE_FRAME: "vv", IMAGE_MAP: "v", IMAGE: "svs", IMAGE_SEGMENT: "vv",
    AGGREGATE_BEGIN: "v" * 6, AGGREGATE_LOCATION: "v" * 9, AGGREGATE_END: "",
}


class Overlong(int):
    """A varint field written in `width` bytes (padding continuation bytes): same value, the
    longest encoding the decoder still has to accept or refuse."""

    def __new__(cls, value, width=10):
        self = super().__new__(cls, value)
        self.width = width
        return self


class Record:
    def __init__(self, opcode, fields):
        self.opcode = opcode
        self.fields = list(fields)

    def encode(self):
        out = bytearray([self.opcode])
        for field in self.fields:
            if isinstance(field, (bytes, bytearray)):
                out += write_varint(len(field)) + field
            else:
                out += encode_int(field)
        return bytes(out)


def encode_int(value):
    if isinstance(value, Overlong):
        body = bytearray(write_varint(value & MASK64))
        while len(body) < value.width:
            body[-1] |= 0x80
            body.append(0)
        return bytes(body)
    return write_varint(value & MASK64)


def zigzag(value):
    value &= MASK64
    signed = value - 2**64 if value >= 2**63 else value
    return ((signed << 1) ^ (signed >> 63)) & MASK64


def unzigzag(value):
    return (value >> 1) ^ -(value & 1)


def _layout(opcode, native, aggregated):
    """The fields of a record with this opcode; None for an opcode no decoder accepts."""
    if opcode >= RECENT_ALLOCATION:
        return "vv" + ("v" if native else "")
    if opcode >= RECENT_DEALLOCATION:
        return "v" if opcode & 3 == MUNMAP else ""
    if ALLOCATION <= opcode < ALLOCATION + 16:
        return "a" + "vv" + ("v" if native else "")
    if DEALLOCATION <= opcode < DEALLOCATION + 16:
        return "a" + ("v" if opcode & 15 == MUNMAP else "")
    if opcode == STACK:
        return "vv" + ("v" if native else "")
    if opcode == MEMORY:
        return "vv" + ("v" if aggregated else "")
    return LAYOUTS.get(opcode)


def split(stream, native, aggregated):
    """(records, rest): the records the stream starts with, and the bytes from the first one
    that does not parse (empty for a whole stream)."""
    records, i = [], 0
    while i < len(stream):
        start = i
        layout = _layout(stream[i], native, aggregated)
        if layout is None:
            return records, stream[start:]
        fields = []
        i += 1
        try:
            for kind in layout:
                if kind == "s":
                    length, i = _varint(stream, i)
                    if i + length > len(stream):
                        raise ValueError("truncated string")
                    fields.append(bytes(stream[i:i + length]))
                    i += length
                elif kind == "a":  # a new address: slot varint, then a byte delta if bit 0 is set
                    value, i = _varint(stream, i)
                    fields.append(value)
                    if value & 1:
                        value, i = _varint(stream, i)
                        fields.append(value)
                else:
                    value, i = _varint(stream, i)
                    fields.append(value)
        except ValueError:
            return records, stream[start:]
        records.append(Record(stream[start], fields))
    return records, b""


def join(records):
    return b"".join(record.encode() for record in records)


class Writer:
    """Writes records as the payload would, replaying the decoder's state so that absolute
    addresses and ids come out right. Feed it the existing records first (`replay`)."""

    def __init__(self, native, aggregated):
        self.native = native
        self.aggregated = aggregated
        self.history = [0] * 16
        self.tid = None
        self.last = {}  # tid -> [last stack id, last native id]
        self.next_code = self.next_frame = self.next_stack = self.next_native = 1
        self.records = []

    def _use(self, address, slot):
        if slot < 16:
            del self.history[slot]
        else:
            self.history.pop()
        self.history.insert(0, address & MASK64)

    def _new_address(self, fields, i):
        value = fields[i]
        base = self.history[(value >> 1) & 15]
        if not value & 1:
            return (base + (unzigzag(value >> 5) << 4)) & MASK64, i + 1
        return (base + unzigzag(fields[i + 1])) & MASK64, i + 2

    def replay(self, records):
        """Applies existing records to the state (they must be the stream's, in order)."""
        for record in records:
            self._apply(record)
            self.records.append(record)

    def _apply(self, record):
        op, fields = record.opcode, record.fields
        if op >= RECENT_ALLOCATION or ALLOCATION <= op < ALLOCATION + 16:
            if op >= RECENT_ALLOCATION:
                slot = (op >> 4) & 7
                address, i = self.history[slot], 0
            else:
                slot = 16
                address, i = self._new_address(fields, 0)
            last = self.last.setdefault(self.tid, [0, 0])
            last[0] = (last[0] + unzigzag(fields[i + 1])) & MASK64
            if self.native:
                last[1] = (last[1] + unzigzag(fields[i + 2])) & MASK64
            self._use(address, slot)
        elif op >= RECENT_DEALLOCATION or DEALLOCATION <= op < DEALLOCATION + 16:
            if op >= RECENT_DEALLOCATION:
                slot = (op >> 2) & 15
                address = self.history[slot]
            else:
                slot = 16
                address, _ = self._new_address(fields, 0)
            self._use(address, slot)
        elif op == THREAD_SWITCH:
            self.tid = fields[0]
            self.last.setdefault(self.tid, [0, 0])
        elif op == CODE:
            self.next_code += 1
        elif op == FRAME:
            self.next_frame += 1
        elif op == STACK:
            self.next_stack += 1
        elif op == NATIVE_FRAME:
            self.next_native += 1

    def save(self):
        """What `restore` puts back: the current thread and each thread's previous stack ids."""
        return self.tid, {tid: list(last) for tid, last in self.last.items()}

    def restore(self, saved, address):
        """Makes the records that follow decode as before the inserted ones: each thread whose
        previous stack ids changed gets a 0-byte allocation at `address` from exactly those ids
        (freed at once), and the thread that was current becomes current again. (The recent
        addresses are not restored: later new addresses decode elsewhere, still validly.)"""
        tid, lasts = saved
        for thread, (stack, native) in lasts.items():
            if self.last.get(thread) != [stack, native]:
                self.thread_switch(thread)
                self.allocation(1, address, 0, stack, native)
                self.deallocation(1, address)
        if tid is not None and self.tid != tid:
            self.thread_switch(tid)

    def add(self, record):
        self._apply(record)
        self.records.append(record)
        return record

    # ---- records by meaning ----
    def thread_switch(self, tid):
        return self.add(Record(THREAD_SWITCH, [tid]))

    def thread_start(self, tid, os_tid):
        return self.add(Record(THREAD_START, [tid, os_tid]))

    def thread_name(self, tid, name):
        return self.add(Record(THREAD_NAME, [tid, name]))

    def code(self, name, filename, line):
        self.add(Record(CODE, [name, filename, line]))
        return self.next_code - 1

    def frame(self, code_id, line):
        self.add(Record(FRAME, [code_id, line]))
        return self.next_frame - 1

    def stack(self, parent, frame_id, flags=0):
        self.add(Record(STACK, [parent, frame_id] + ([flags] if self.native else [])))
        return self.next_stack - 1

    def native_frame(self, parent, address):
        self.add(Record(NATIVE_FRAME, [parent, address]))
        return self.next_native - 1

    def allocation(self, allocator, address, size, stack_id, native_id=0):
        """An allocation at an absolute address, written as a byte delta from slot 0."""
        last = self.last.setdefault(self.tid, [0, 0])
        fields = [1, zigzag(address - self.history[0]), size, zigzag(stack_id - last[0])]
        if self.native:
            fields.append(zigzag(native_id - last[1]))
        return self.add(Record(ALLOCATION | allocator, fields))

    def deallocation(self, deallocator, address, size=0):
        fields = [1, zigzag(address - self.history[0])] + ([size] if deallocator == MUNMAP else [])
        return self.add(Record(DEALLOCATION | deallocator, fields))

    def memory(self, ms, rss, heap=0):
        return self.add(Record(MEMORY, [ms, rss] + ([heap] if self.aggregated else [])))
