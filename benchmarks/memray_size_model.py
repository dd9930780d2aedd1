"""What memray 1.19 would write for the same run: a model of its file format, for the capture
size comparison of the benchmark suite (memray itself cannot be installed here).

The model re-encodes the events of one of our captures (read through `memray parse`) the way
memray's documented ALL_ALLOCATIONS format does (shared/reference/memray-behaviour.md, 4.2-4.3),
then compresses the result with the LZ4 frame format as memray does when tracking ends. Where
the documentation leaves a detail open, the model takes the choice that makes memray's file
smaller, so "ours is no larger" is not an artefact of the model:

- allocation and deallocation records: one opcode byte holding the allocator (ids 1-7 inline,
  others in an extra byte) and an index into a 15-entry most-recently-used address cache; on a
  miss a zigzag varint of the address delta (shifted right by 3) against the previous address;
  then the size, except for simple frees.
- Python stacks as lazily emitted frame pushes and pops: before each allocation, pops down to
  the common prefix of the thread's last emitted stack and pushes of the new frames. A push is
  an opcode, the code object id and the instruction offset, counted as one byte (offsets under
  64) although larger functions need two.
- code objects: names and first line, without the line table that memray also stores.
- a context switch (opcode + 8-byte thread id) whenever the allocating thread changes, thread
  names, memory records and the trailer.
"""

import os
import subprocess
import sys

# memray's allocator ids (AllocatorType); 1-7 fit in the opcode byte.
MEMRAY_ALLOCATOR_IDS = {
    "malloc": 1, "free": 2, "calloc": 3, "realloc": 4, "posix_memalign": 5, "aligned_alloc": 6,
    "memalign": 7, "valloc": 8, "pvalloc": 9, "mmap": 10, "munmap": 11, "pymalloc_malloc": 12,
    "pymalloc_calloc": 13, "pymalloc_realloc": 14, "pymalloc_free": 15,
}
SIMPLE_DEALLOCATORS = {"free", "pymalloc_free"}
MRU_SIZE = 15


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def zigzag(value):
    return varint((value << 1) ^ (value >> 63) if value >= 0 else ((-value) << 1) - 1)


def fields(line):
    """The key=value fields of a `memray parse` line (values unquoted; quoted strings kept whole)."""
    result = {}
    for part in line.split(" ")[1:]:
        key, _, value = part.partition("=")
        result[key] = value
    return result


class MemrayEncoder:
    def __init__(self):
        self.out = bytearray()
        self.mru = []  # most recent first
        self.last_address = 0
        self.current_thread = None
        self.emitted_stack = {}  # thread -> list of frame ids, outermost first
        self.stack_parent = {0: None}
        self.stack_frame = {}
        self.frame_code = {}

    def address_record(self, allocator, address, size, tid):
        if tid != self.current_thread:
            self.out += b"\x0c" + tid.to_bytes(8, "little")
            self.current_thread = tid
        allocator_id = MEMRAY_ALLOCATOR_IDS[allocator]
        try:
            slot = self.mru.index(address)
            self.mru.pop(slot)
        except ValueError:
            slot = MRU_SIZE
        self.mru.insert(0, address)
        del self.mru[MRU_SIZE:]
        opcode = 0x80 | (slot << 3) | (allocator_id if allocator_id <= 7 else 0)
        self.out.append(opcode)
        if allocator_id > 7:
            self.out.append(allocator_id)
        if slot == MRU_SIZE:
            self.out += zigzag((address >> 3) - (self.last_address >> 3))
        self.last_address = address
        if allocator not in SIMPLE_DEALLOCATORS:
            self.out += varint(size)

    def frames_of(self, stack_id):
        frames = []
        while stack_id:
            frames.append(self.stack_frame[stack_id])
            stack_id = self.stack_parent[stack_id]
        frames.reverse()
        return frames

    def emit_stack(self, tid, stack_id):
        current = self.frames_of(stack_id)
        last = self.emitted_stack.get(tid, [])
        common = 0
        while common < min(len(last), len(current)) and last[common] == current[common]:
            common += 1
        pops = len(last) - common
        while pops > 0:
            n = min(pops, 16)
            self.out.append(0x10 | (n - 1))
            pops -= n
        for frame in current[common:]:
            self.out.append(0x40)
            self.out += varint(self.frame_code[frame]) + b"\x00"
        self.emitted_stack[tid] = current

    def feed(self, line):
        kind = line.split(" ", 1)[0]
        if kind == "ALLOCATION":
            f = fields(line)
            tid = int(f["tid"])
            if tid != self.current_thread:
                self.out += b"\x0c" + tid.to_bytes(8, "little")
                self.current_thread = tid
            self.emit_stack(tid, int(f["stack"]))
            self.address_record(f["allocator"], int(f["address"], 16), int(f["size"]), tid)
        elif kind == "DEALLOCATION":
            f = fields(line)
            self.address_record(f["deallocator"], int(f["address"], 16), int(f.get("size", "0")), int(f["tid"]))
        elif kind == "STACK":
            f = fields(line)
            self.stack_parent[int(f["id"])] = int(f["parent"])
            self.stack_frame[int(f["id"])] = int(f["frame"])
        elif kind == "FRAME":
            f = fields(line)
            self.frame_code[int(f["id"])] = int(f["code"])
        elif kind == "CODE":
            # opcode, id, name and file NUL-terminated, first line, line table length (0 here)
            name = line.split(' name="', 1)[1].split('"', 1)[0]
            filename = line.split(' file="', 1)[1].split('"', 1)[0]
            f = fields(line)
            self.out += b"\x0e" + varint(int(f["id"])) + name.encode() + b"\0" + filename.encode() + b"\0"
            self.out += zigzag(int(f["first_line"])) + varint(0)
        elif kind == "THREAD_NAME":
            name = line.split(' name="', 1)[1].rsplit('"', 1)[0]
            self.out += b"\x0a" + name.encode() + b"\0"
        elif kind == "MEMORY":
            f = fields(line)
            self.out += b"\x02" + varint(int(f["rss"])) + varint(int(f["time_ms"]))
        elif kind == "TRAILER":
            self.out += b"\x01"


def modelled_sizes(memray, capture, scratch_file):
    """(raw bytes, LZ4-frame-compressed bytes) memray 1.19 would write for this capture's run.

    Runs in a child process: the model holds the whole re-encoded stream in memory, and a
    process that forks the measured commands must stay small, or its peak RSS is inherited by
    their ru_maxrss (Linux carries the high-water mark across exec)."""
    output = subprocess.run([sys.executable, os.path.abspath(__file__), memray, capture, scratch_file],
                            capture_output=True, text=True, check=True).stdout.split()
    return int(output[0]), int(output[1])


def _modelled_sizes_here(memray, capture, scratch_file):
    encoder = MemrayEncoder()
    process = subprocess.Popen([memray, "parse", capture], stdout=subprocess.PIPE, text=True)
    for line in process.stdout:
        encoder.feed(line.rstrip("\n"))
    if process.wait() != 0:
        raise RuntimeError("memray parse failed on %s" % capture)
    with open(scratch_file, "wb") as out:
        out.write(encoder.out)
    compressed = subprocess.run(["lz4", "-1", "-c", scratch_file], capture_output=True, check=True).stdout
    return len(encoder.out), len(compressed)


if __name__ == "__main__":
    print("%d %d" % _modelled_sizes_here(*sys.argv[1:4]))
