#include "synthetic_capture.h"

#include <algorithm>
#include <bit>
#include <string>
#include <vector>

namespace memray::synth {

namespace {

using format::Allocator;
using format::Deallocator;

constexpr uint64_t kPid = 4242;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kHeapBase = 0x555500000000;
constexpr uint64_t kMmapBase = 0x7f0000000000;
constexpr uint64_t kUnknownBase = 0x10000000;  // never allocated: frees here are "unknown"

// splitmix64: tiny, fast, and the same sequence on every platform (std distributions are not).
class Random
{
  public:
    explicit Random(uint64_t seed)
    : state_(seed)
    {
    }
    uint64_t next()
    {
        uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    uint64_t below(uint64_t n) { return n ? next() % n : 0; }
    double unit() { return static_cast<double>(next() >> 11) * 0x1p-53; }
    bool chance(double p) { return unit() < p; }

  private:
    uint64_t state_;
};

struct CodeModel
{
    std::string function;
    std::string file;
    uint64_t first_line;
    uint64_t id = 0;  // 0 until written
};

struct FrameModel
{
    size_t code;
    uint64_t line;
    uint64_t id = 0;
};

struct StackModel
{
    size_t parent;  // index + 1; 0 = outermost
    size_t frame;
    uint64_t id = 0;
};

struct Block
{
    uint64_t address;
    uint64_t size;
    bool pymalloc;
};

struct Mapping
{
    uint64_t start;
    uint64_t end;
};

const char* const kFiles[] = {
        "/home/user/project/app/main.py",
        "/home/user/project/app/models.py",
        "/home/user/project/app/loader/__init__.py",
        "/home/user/project/app/loader/csv_reader.py",
        "/usr/lib/python3.11/json/decoder.py",
        "/usr/lib/python3.11/collections/__init__.py",
        "/usr/lib/python3.11/re/_parser.py",
        "/usr/lib/python3.11/threading.py",
        "/usr/lib/python3.11/asyncio/events.py",
        "<frozen importlib._bootstrap>",
        "/opt/venv/lib/python3.11/site-packages/numpy/core/numeric.py",
        "/opt/venv/lib/python3.11/site-packages/numpy/lib/npyio.py",
        "/opt/venv/lib/python3.11/site-packages/pandas/core/frame.py",
        "/opt/venv/lib/python3.11/site-packages/requests/sessions.py",
        "/opt/venv/lib/python3.11/site-packages/six.py",
};

class Generator
{
  public:
    Generator(const SynthOptions& options, CaptureBuilder::Sink sink)
    : options_(options)
    , random_(options.seed)
    , builder_(metadata(options), std::move(sink), options.chunk_bytes)
    , free_lists_(64)
    , thread_stack_(options.threads + 1, 0)
    {
        buildModel();
    }

    SynthResult run()
    {
        const uint32_t threads = std::max<uint32_t>(1, options_.threads);
        for (uint32_t tid = 1; tid <= threads; ++tid) {
            builder_.threadStart(tid, tid == 1 ? kPid : kPid + tid);
            builder_.threadName(tid, tid == 1 ? "MainThread" : "worker-" + std::to_string(tid - 1));
        }
        if (options_.native_traces) {
            // The native stacks nativeId() picks from: a chain of 1000 frames in one fake image.
            builder_.imageMap(1);
            builder_.image("/usr/lib/libsynthetic.so", 0x7f0000000000ull, "");
            builder_.imageSegment(0, 0x100000);
            for (uint64_t id = 1; id <= 1000; ++id) {
                builder_.nativeFrame(id - 1, 0x7f0000001000ull + 16 * id);
            }
        }
        builder_.switchTo(1);

        uint64_t steps = 0;
        while (result_.allocation_records < options_.allocations) {
            if (++steps % 2048 == 0) {
                time_ms_ += 1 + random_.below(10);
                builder_.memory(time_ms_, current_ + (20 << 20) + random_.below(1 << 20));
            }
            if (threads > 1 && random_.chance(1.0 / 64)) {
                builder_.switchTo(1 + random_.below(threads));
            }
            if (threads > 1 && steps == 1000) {
                builder_.threadName(2, "renamed-worker");
            }
            const double r = random_.unit();
            if (!live_.empty() && (live_.size() >= options_.max_live || r < 0.44)) {
                freeRandomBlock();
            } else if (r < 0.445) {
                builder_.deallocate(Deallocator::Free, kUnknownBase + 16 * random_.below(1 << 20));
                ++result_.deallocation_records;
            } else if (r < 0.49 && !live_.empty()) {
                reallocRandomBlock();
            } else if (r < 0.494) {
                mapRegion();
            } else if (r < 0.498 && !mappings_.empty()) {
                unmapPart();
            } else {
                allocateBlock();
            }
        }

        for (uint32_t tid = 2; tid <= threads; ++tid) {
            builder_.threadExit(tid);
        }
        if (options_.trailer) {
            builder_.trailer(time_ms_ * 1000 + 500);
        }
        builder_.flush();
        result_.records = builder_.records();
        result_.chunks = builder_.chunks();
        result_.final_bytes = current_;
        return result_;
    }

  private:
    static format::Metadata metadata(const SynthOptions& options)
    {
        format::Metadata metadata;
        metadata.pid = kPid;
        metadata.python_version = "3.11.7";
        metadata.command_line = "synthetic.py --allocations " + std::to_string(options.allocations);
        metadata.start_time_us = 1700000000000000ull + options.seed;
        metadata.options = options.native_traces ? uint64_t{format::kOptionNativeTraces} : uint64_t{0};
        metadata.main_thread_id = 1;
        metadata.rss_interval_ms = 10;
        metadata.executable = "/usr/bin/python3.11";
        metadata.payload_version = "synthetic";
        metadata.python_allocator = "pymalloc";
        return metadata;
    }

    void buildModel()
    {
        const uint64_t stacks = std::max<uint64_t>(1, options_.stacks);
        const size_t code_count = static_cast<size_t>(std::clamp<uint64_t>(stacks / 4, 4, 1 << 20));
        const size_t frame_count = static_cast<size_t>(std::clamp<uint64_t>(stacks / 2, 8, 1 << 21));
        for (size_t i = 0; i < code_count; ++i) {
            const char* file = kFiles[random_.below(std::size(kFiles))];
            std::string function = i % 17 == 0 ? "<module>" : "func_" + std::to_string(i);
            codes_.push_back(CodeModel{std::move(function), file, 1 + random_.below(2000)});
        }
        for (size_t i = 0; i < frame_count; ++i) {
            const size_t code = static_cast<size_t>(random_.below(code_count));
            frames_.push_back(FrameModel{code, codes_[code].first_line + random_.below(60)});
        }
        for (uint64_t k = 0; k < stacks; ++k) {
            const size_t parent = k > 0 && random_.chance(0.85) ? 1 + static_cast<size_t>(random_.below(k)) : 0;
            stacks_.push_back(StackModel{parent, static_cast<size_t>(random_.below(frame_count))});
        }
    }

    // The capture's id for logical stack `index`, writing it (and any of its ancestors, frames
    // and code objects not written yet) first, as the payload does on first use.
    uint64_t stackId(size_t index)
    {
        std::vector<size_t> pending;
        for (size_t k = index + 1; k && !stacks_[k - 1].id; k = stacks_[k - 1].parent) {
            pending.push_back(k - 1);
        }
        for (auto it = pending.rbegin(); it != pending.rend(); ++it) {
            StackModel& model = stacks_[*it];
            FrameModel& frame = frames_[model.frame];
            CodeModel& code = codes_[frame.code];
            if (!code.id) {
                code.id = builder_.code(code.function, code.file, code.first_line);
            }
            if (!frame.id) {
                frame.id = builder_.frame(code.id, frame.line);
            }
            model.id = builder_.stack(model.parent ? stacks_[model.parent - 1].id : 0, frame.id);
            ++result_.stacks_defined;
        }
        return stacks_[index].id;
    }

    // Allocations cluster: a thread often allocates again from where it just did.
    uint64_t pickStack()
    {
        size_t& last = thread_stack_[std::min<size_t>(builder_.currentThread(), thread_stack_.size() - 1)];
        if (last == 0 || !random_.chance(0.6)) {
            const double u = random_.unit();
            last = 1 + std::min(stacks_.size() - 1, static_cast<size_t>(static_cast<double>(stacks_.size()) * u * u * u));
        }
        // A few allocations happen with no Python frame on the stack.
        return random_.chance(0.02) ? 0 : stackId(last - 1);
    }

    uint64_t pickSize(bool small)
    {
        const uint64_t bucket = random_.below(100);
        if (bucket == 0) {
            return 0;  // malloc(0) happens
        }
        if (small || bucket < 65) {
            return 1 + random_.below(512);
        }
        if (bucket < 92) {
            return 512 + random_.below(64 << 10);
        }
        if (bucket < 99) {
            return (64 << 10) + random_.below(1 << 20);
        }
        return (1 << 20) + random_.below(16 << 20);
    }

    uint64_t nativeId() { return options_.native_traces ? 1 + random_.below(1000) : 0; }

    // Size classes with free lists: freed addresses come back for blocks of the same class,
    // like a real heap, and live blocks never overlap.
    static unsigned sizeClass(uint64_t size)
    {
        return std::max(4u, static_cast<unsigned>(std::bit_width(size > 0 ? size - 1 : 0)));
    }

    uint64_t takeAddress(uint64_t size)
    {
        std::vector<uint64_t>& free_list = free_lists_[sizeClass(size)];
        if (!free_list.empty()) {
            const uint64_t address = free_list.back();
            free_list.pop_back();
            return address;
        }
        const uint64_t address = heap_top_;
        heap_top_ += uint64_t{1} << sizeClass(size);
        return address;
    }

    void countAllocation(uint64_t size)
    {
        ++result_.allocation_records;
        result_.total_bytes += size;
        current_ += size;
        result_.peak_bytes = std::max(result_.peak_bytes, current_);
    }

    void allocateBlock()
    {
        static constexpr std::pair<Allocator, unsigned> kWeights[] = {
                {Allocator::Malloc, 40},
                {Allocator::PymallocMalloc, 30},
                {Allocator::Calloc, 8},
                {Allocator::PymallocCalloc, 5},
                {Allocator::PosixMemalign, 5},
                {Allocator::AlignedAlloc, 3},
                {Allocator::Memalign, 3},
                {Allocator::Valloc, 3},
                {Allocator::Pvalloc, 3},
        };
        uint64_t pick = random_.below(100);
        Allocator allocator = Allocator::Malloc;
        for (const auto& [candidate, weight] : kWeights) {
            if (pick < weight) {
                allocator = candidate;
                break;
            }
            pick -= weight;
        }
        const bool pymalloc = format::isPymalloc(allocator);
        const uint64_t size = pickSize(pymalloc);
        const uint64_t stack = pickStack();
        const uint64_t address = takeAddress(size);
        builder_.allocate(allocator, address, size, stack, nativeId());
        live_.push_back(Block{address, size, pymalloc});
        countAllocation(size);
    }

    // Most objects die young: usually one of the most recently allocated live blocks, else
    // any live block.
    Block takeRandomBlock()
    {
        const size_t young = std::min<size_t>(live_.size(), 64);
        const size_t index = random_.chance(0.8) ? live_.size() - 1 - static_cast<size_t>(random_.below(young))
                                                 : static_cast<size_t>(random_.below(live_.size()));
        const Block block = live_[index];
        live_[index] = live_.back();
        live_.pop_back();
        return block;
    }

    void release(const Block& block)
    {
        builder_.deallocate(block.pymalloc ? Deallocator::PymallocFree : Deallocator::Free, block.address);
        ++result_.deallocation_records;
        free_lists_[sizeClass(block.size)].push_back(block.address);
        current_ -= block.size;
    }

    void freeRandomBlock() { release(takeRandomBlock()); }

    // realloc as the capture shows it: the old block's free, then the new block's allocation.
    void reallocRandomBlock()
    {
        const Block old = takeRandomBlock();
        release(old);
        const uint64_t size = old.pymalloc ? 1 + random_.below(512) : old.size / 2 + random_.below(old.size + 64);
        const uint64_t stack = pickStack();
        const uint64_t address = takeAddress(size);
        builder_.allocate(old.pymalloc ? Allocator::PymallocRealloc : Allocator::Realloc, address, size, stack, nativeId());
        live_.push_back(Block{address, size, old.pymalloc});
        countAllocation(size);
        ++result_.reallocs;
    }

    void mapRegion()
    {
        const uint64_t pages = 1 + random_.below(64);
        const uint64_t start = mmap_top_;
        mmap_top_ += (pages + 1) * kPage;  // leave an unmapped page between regions
        builder_.allocate(Allocator::Mmap, start, pages * kPage, pickStack(), nativeId());
        mappings_.push_back(Mapping{start, start + pages * kPage});
        countAllocation(pages * kPage);
        ++result_.mmaps;
    }

    // Unmaps all of a region, its head, its tail, or a hole in its middle (splitting it).
    // Whole unmaps sometimes run on into the unmapped gap page after the region, which a
    // reader must not count.
    void unmapPart()
    {
        const size_t index = static_cast<size_t>(random_.below(mappings_.size()));
        Mapping& mapping = mappings_[index];
        const uint64_t pages = (mapping.end - mapping.start) / kPage;
        uint64_t kind = random_.below(4);
        if (pages < 3) {
            kind = 0;
        }
        uint64_t unmap_start = mapping.start;
        uint64_t unmap_end = mapping.end;
        uint64_t unmapped = 0;
        if (kind == 0) {
            unmapped = mapping.end - mapping.start;
            if (random_.chance(0.3)) {
                unmap_end += kPage;
            }
            mappings_[index] = mappings_.back();
            mappings_.pop_back();
        } else if (kind == 1) {
            unmap_end = mapping.start + (1 + random_.below(pages - 1)) * kPage;
            unmapped = unmap_end - unmap_start;
            mapping.start = unmap_end;
        } else if (kind == 2) {
            unmap_start = mapping.end - (1 + random_.below(pages - 1)) * kPage;
            unmapped = unmap_end - unmap_start;
            mapping.end = unmap_start;
        } else {
            unmap_start = mapping.start + (1 + random_.below(pages - 2)) * kPage;
            unmap_end = unmap_start + (1 + random_.below((mapping.end - unmap_start) / kPage - 1)) * kPage;
            unmapped = unmap_end - unmap_start;
            const Mapping tail{unmap_end, mapping.end};
            mapping.end = unmap_start;
            mappings_.push_back(tail);
        }
        builder_.deallocate(Deallocator::Munmap, unmap_start, unmap_end - unmap_start);
        ++result_.deallocation_records;
        ++result_.munmaps;
        current_ -= unmapped;
    }

    const SynthOptions options_;
    Random random_;
    CaptureBuilder builder_;
    SynthResult result_;

    std::vector<CodeModel> codes_;
    std::vector<FrameModel> frames_;
    std::vector<StackModel> stacks_;
    std::vector<std::vector<uint64_t>> free_lists_;  // by size class
    std::vector<size_t> thread_stack_;               // by tid: last logical stack + 1
    std::vector<Block> live_;
    std::vector<Mapping> mappings_;
    uint64_t heap_top_ = kHeapBase;
    uint64_t mmap_top_ = kMmapBase;
    uint64_t current_ = 0;
    uint64_t time_ms_ = 0;
};

}  // namespace

SynthResult generateCapture(const SynthOptions& options, CaptureBuilder::Sink sink)
{
    Generator generator(options, std::move(sink));
    return generator.run();
}

}  // namespace memray::synth
