// The capture file format: the one contract between the payload (writer) and the reader.
//
// Everything both sides must agree on lives here and only here; docs/capture-format.md
// explains the design. Layout of a capture file:
//
//   FileHeader        16 bytes, fixed, little-endian
//   metadata          FileHeader::metadata_size bytes of fields (MetadataKey), uncompressed
//   chunk*            ChunkHeader + LZ4 block, appended as the capture runs
//
// The decompressed chunks, concatenated, form one stream of records (RecordType). A record
// never spans two chunks. A file that ends mid-chunk (the tracked process was killed) is read
// up to its last complete chunk.
#pragma once

#include <cstdint>
#include <string_view>

namespace memray::format {

// "\x89MRYCAP\n": the high byte catches 7-bit transfers, the newline catches text-mode mangling.
inline constexpr char kMagic[8] = {'\x89', 'M', 'R', 'Y', 'C', 'A', 'P', '\n'};

// Bump on any incompatible change to anything in this file.
inline constexpr uint32_t kFormatVersion = 3;

#pragma pack(push, 1)
struct FileHeader
{
    char magic[8];
    uint32_t format_version;
    uint32_t metadata_size;  // bytes of metadata fields that follow the header
};

// Precedes each compressed block. `checksum` is the CRC-32 (zlib) of the stored bytes, so
// corruption is reported as such instead of being decoded into nonsense.
struct ChunkHeader
{
    uint32_t raw_size;     // decompressed size; kChunkStoredFlag set: bytes stored uncompressed
    uint32_t stored_size;  // bytes that follow this header
    uint32_t checksum;
};
#pragma pack(pop)

static_assert(sizeof(FileHeader) == 16);
static_assert(sizeof(ChunkHeader) == 12);

inline constexpr uint32_t kChunkStoredFlag = 0x80000000u;
// Upper bound on one chunk's decompressed size; the reader rejects larger claims as corruption.
inline constexpr uint32_t kMaxChunkSize = 8u << 20;
// Chunks are compressed as one LZ4 stream: each block may refer back this far into the
// previously decompressed bytes.
inline constexpr uint32_t kLz4DictionarySize = 64u << 10;

// Metadata is a sequence of fields: varint key, varint length, `length` bytes of value.
// Integer values are varints; strings are raw UTF-8. Unknown keys are skipped by readers,
// so new keys can be added without a version bump.
enum class MetadataKey : uint32_t {
    Pid = 1,                // varint
    PythonVersion = 2,      // string, e.g. "3.11.7"
    CommandLine = 3,        // string: sys.argv joined by spaces (as memray shows it)
    StartTimeUs = 4,        // varint: microseconds since the Unix epoch
    Options = 5,            // varint: CaptureOption bits
    MainThreadId = 6,       // varint: OS thread id (gettid) of the main thread; equals Pid
    RssIntervalMs = 7,      // varint
    Executable = 8,         // string: /proc/self/exe of the tracked process
    PayloadVersion = 9,     // string
    ParentPid = 10,         // varint: set in files written by --follow-fork children
    PythonAllocator = 11,   // string: "pymalloc", "malloc", "mimalloc", ... as configured
};

enum CaptureOption : uint64_t {
    kOptionTracePythonAllocators = 1u << 0,
    kOptionNativeTraces = 1u << 1,
    kOptionFollowFork = 1u << 2,
    kOptionAttached = 1u << 3,  // started by `memray attach`, not `memray run`
    // --aggregate: the payload folds heap events into per-location figures in the tracked
    // process and writes them as checkpoints (kRecordAggregate*) instead of allocation and
    // deallocation records; memory records carry the tracked heap. See docs/capture-format.md.
    kOptionAggregated = 1u << 4,
    // With kOptionAggregated: the allocation and deallocation records are written as well, so
    // that one run can be analysed both ways (a verification aid, MEMRAY_AGGREGATE_VERIFY=1).
    kOptionAggregateWithRecords = 1u << 5,
};

// The first byte of every record. Allocation and deallocation records carry their
// allocator in the low nibble so the common case is one opcode byte.
enum RecordType : uint8_t {
    // 0 is never valid: zero-filled garbage stops the decoder at once.
    kRecordThreadSwitch = 0x01,  // varint tid. Records that follow belong to that thread.
    kRecordThreadStart = 0x02,   // varint tid, varint os tid (gettid). Precedes its first switch.
    kRecordThreadName = 0x03,    // varint tid, varint length, bytes. Applies from here on.
    kRecordCode = 0x04,          // implicit id (1, 2, ...); string name, string file, varint firstlineno
    kRecordFrame = 0x05,         // implicit id (1, 2, ...); varint code id, varint line
    kRecordStack = 0x06,         // implicit id (1, 2, ...); varint parent stack id (0 = root), varint frame id;
                                 // with kOptionNativeTraces also varint flags (kStackFlag*)
    kRecordMemory = 0x07,        // varint ms since start, varint rss bytes; with kOptionAggregated also
                                 // varint tracked heap bytes at that moment
    kRecordTrailer = 0x08,       // varint us since start at the end; varint allocation records written. Clean end.
    kRecordThreadExit = 0x09,    // varint tid

    // Native mode (kOptionNativeTraces) only; see docs/capture-format.md "Native stacks".
    kRecordNativeFrame = 0x0a,   // implicit id (1, 2, ...); varint parent native id (0 = root), varint
                                 // return address. A trie like kRecordStack, outermost frame at the root.
    kRecordImageMap = 0x0b,      // starts a new generation of the loaded-object map (nothing before
                                 // it in the generation applies any more); varint image count that follows
    kRecordImage = 0x0c,         // string path, varint load bias, string build id (raw bytes, may be empty)
    kRecordImageSegment = 0x0d,  // varint vaddr, varint memsz: a PT_LOAD segment of the preceding image

    // Aggregated captures (kOptionAggregated) only; see docs/capture-format.md "Aggregated captures".
    // A checkpoint is Begin, any number of Location records, End. It takes effect only when its
    // End has been read: a capture cut short inside a checkpoint keeps the previous one.
    kRecordAggregateBegin = 0x0e,     // varint heap events so far, varint heap events when the peak was
                                      // reached, varint peak heap bytes, varint current heap bytes,
                                      // varint allocations so far, varint bytes allocated so far
    kRecordAggregateLocation = 0x0f,  // one location's state from this checkpoint on (it replaces what an
                                      // earlier checkpoint said about the same location): varint tid,
                                      // varint stack id, varint native stack id, varint allocator,
                                      // varint heap event of its last change, varint live bytes,
                                      // varint live count, varint bytes at peak, varint count at peak.
                                      // Its figures at the peak are the live ones when its last change
                                      // is at or before the peak event, else the "at peak" ones.
    kRecordAggregateEnd = 0x30,       // no body: the checkpoint is complete

    // 0x10 | Allocator: new address (below), varint size, varint zigzag stack id delta
    //                   (against the thread's previous allocation); with kOptionNativeTraces,
    //                   also varint zigzag native stack id delta.
    kRecordAllocationBase = 0x10,
    // 0x20 | Deallocator: new address (below); Munmap adds varint size.
    kRecordDeallocationBase = 0x20,
    // A new address is a delta from one of the stream's recent addresses (AddressHistory), the
    // one closest to it: varint v, where bits 1-4 are that address's slot and
    //   bit 0 clear: v >> 5 is the zigzag delta in units of 16 bytes;
    //   bit 0 set:   v >> 5 is 0 and a varint zigzag delta in bytes follows.
    // (Writers pick the nearest slot; readers only add the delta to whichever slot is named.)
    // The same two records when the address is one of the stream's recent addresses
    // (AddressHistory): its slot replaces the address delta, the rest of the body is unchanged.
    // 0x40 | slot << 2 | Deallocator, slot 0-15.
    kRecordRecentDeallocationBase = 0x40,
    // 0x80 | slot << 4 | Allocator, slot 0-7.
    kRecordRecentAllocationBase = 0x80,
};

// Flags of a Python stack node in native captures.
enum StackFlag : uint64_t {
    // The frame was entered from C: it is the first (outermost) Python frame that one call of
    // the interpreter's evaluation function runs. 3.8-3.10 evaluate every frame in its own call;
    // 3.11+ run Python-to-Python calls inside one. Hybrid stacks pair these with eval frames.
    kStackFlagEntry = 1u << 0,
};

// On-disk allocator ids (low nibble of an allocation record). Never renumber.
enum class Allocator : uint8_t {
    Malloc = 1,
    Calloc = 2,
    Realloc = 3,
    PosixMemalign = 4,
    AlignedAlloc = 5,
    Memalign = 6,
    Valloc = 7,
    Pvalloc = 8,
    Mmap = 9,
    PymallocMalloc = 10,
    PymallocCalloc = 11,
    PymallocRealloc = 12,
};
inline constexpr uint8_t kMaxAllocator = 12;

// On-disk deallocator ids (low nibble of a deallocation record). Never renumber.
enum class Deallocator : uint8_t {
    Free = 1,
    Munmap = 2,
    PymallocFree = 3,
};
inline constexpr uint8_t kMaxDeallocator = 3;

// How many recent addresses allocation and deallocation records can name by slot (all start
// as address 0).
inline constexpr unsigned kRecentAddresses = 16;
inline constexpr unsigned kRecentAllocationSlots = 8;
static_assert(kMaxAllocator < 16 && kMaxDeallocator < 4, "the recent-address opcodes hold them in 4 and 2 bits");

// The largest encoded size of any fixed-shape record (a new-address allocation with native
// id): opcode + five varints. Variable-length records (strings) are bounded by kMaxStringBytes.
inline constexpr size_t kMaxFixedRecordBytes = 1 + 5 * 10;
// Segments of one image beyond this are not recorded (ELF objects have a handful).
inline constexpr size_t kMaxImageSegments = 64;
// Strings longer than this are truncated by the writer (paths and names never need more).
inline constexpr size_t kMaxStringBytes = 4096;

constexpr std::string_view allocatorName(Allocator allocator)
{
    switch (allocator) {
        case Allocator::Malloc: return "malloc";
        case Allocator::Calloc: return "calloc";
        case Allocator::Realloc: return "realloc";
        case Allocator::PosixMemalign: return "posix_memalign";
        case Allocator::AlignedAlloc: return "aligned_alloc";
        case Allocator::Memalign: return "memalign";
        case Allocator::Valloc: return "valloc";
        case Allocator::Pvalloc: return "pvalloc";
        case Allocator::Mmap: return "mmap";
        case Allocator::PymallocMalloc: return "pymalloc_malloc";
        case Allocator::PymallocCalloc: return "pymalloc_calloc";
        case Allocator::PymallocRealloc: return "pymalloc_realloc";
    }
    return "unknown";
}

constexpr std::string_view deallocatorName(Deallocator deallocator)
{
    switch (deallocator) {
        case Deallocator::Free: return "free";
        case Deallocator::Munmap: return "munmap";
        case Deallocator::PymallocFree: return "pymalloc_free";
    }
    return "unknown";
}

constexpr bool isPymalloc(Allocator allocator)
{
    return allocator == Allocator::PymallocMalloc || allocator == Allocator::PymallocCalloc
           || allocator == Allocator::PymallocRealloc;
}

}  // namespace memray::format
