#include "native_unwinder.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <link.h>
#include <mutex>
#include <string>
#include <string_view>

namespace memray::payload::native_unwinder {

namespace {

// Deeper stacks lose their outermost frames. Deep enough for a Python recursion at the
// default limit with every frame entered from C (a handful of native frames each); the bound
// keeps a runaway recursion from making each thread's cache of frames unbounded.
constexpr size_t kMaxNativeFrames = 32768;

// libunwind is loaded by the first native capture, not with the payload: it and the liblzma
// it needs cost every capture about a millisecond of loading (and an attach, that long a hold
// of the target thread that runs the dlopen), and only native captures use them.
constexpr const char* kLibunwind = "libunwind.so.8";  // Debian's libunwind8

// libunwind's names are macros over per-architecture symbols (unw_flush_cache is
// _Ux86_64_flush_cache): the header's own expansion gives the names to look up.
#define MEMRAY_SYMBOL_TEXT(name) #name
#define MEMRAY_UNWIND_SYMBOL(name) MEMRAY_SYMBOL_TEXT(name)

struct Libunwind
{
    decltype(&unw_backtrace) backtrace = nullptr;
    decltype(&unw_set_caching_policy) set_caching_policy = nullptr;
    decltype(&unw_set_cache_size) set_cache_size = nullptr;
    decltype(&unw_flush_cache) flush_cache = nullptr;
    unw_addr_space_t* local_addr_space = nullptr;
};

// Written once by prepare() before any native capture records; read without a lock after.
Libunwind g_unwind;
std::atomic<bool> g_loaded{false};

template<typename Symbol>
bool lookUp(void* library, const char* name, Symbol* out, std::string* error)
{
    *out = reinterpret_cast<Symbol>(dlsym(library, name));
    if (*out == nullptr) {
        *error = std::string(kLibunwind) + " has no " + name;
        return false;
    }
    return true;
}

bool load(std::string* error)
{
    void* library = dlopen(kLibunwind, RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
        const char* reason = dlerror();
        *error = std::string("native mode needs ") + kLibunwind + ": " + (reason ? reason : "cannot load it");
        return false;
    }
    Libunwind api;
    if (!lookUp(library, MEMRAY_UNWIND_SYMBOL(unw_backtrace), &api.backtrace, error)
        || !lookUp(library, MEMRAY_UNWIND_SYMBOL(unw_set_caching_policy), &api.set_caching_policy, error)
        || !lookUp(library, MEMRAY_UNWIND_SYMBOL(unw_set_cache_size), &api.set_cache_size, error)
        || !lookUp(library, MEMRAY_UNWIND_SYMBOL(unw_flush_cache), &api.flush_cache, error)
        || !lookUp(library, MEMRAY_UNWIND_SYMBOL(unw_local_addr_space), &api.local_addr_space, error)) {
        dlclose(library);
        return false;
    }
    g_unwind = api;  // the library stays loaded for the life of the process
    return true;
}

// MEMRAY_NATIVE_UNWIND_WHOLE=1: every stack unwound whole by libunwind (the benchmark's "before").
std::atomic<bool> g_whole{false};

// The payload's own code: [begin, end).
uintptr_t g_payload_begin = 0;
uintptr_t g_payload_end = 0;

int findPayloadRange(dl_phdr_info* info, size_t, void*)
{
    const auto self = reinterpret_cast<uintptr_t>(&findPayloadRange);
    uintptr_t begin = UINTPTR_MAX, end = 0;
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& segment = info->dlpi_phdr[i];
        if (segment.p_type != PT_LOAD) {
            continue;
        }
        const uintptr_t start = info->dlpi_addr + segment.p_vaddr;
        begin = start < begin ? start : begin;
        end = start + segment.p_memsz > end ? start + segment.p_memsz : end;
    }
    if (self >= begin && self < end) {
        g_payload_begin = begin;
        g_payload_end = end;
        return 1;
    }
    return 0;
}

bool inPayload(void* address)
{
    const auto value = reinterpret_cast<uintptr_t>(address);
    return value >= g_payload_begin && value < g_payload_end;
}

// The evaluation loop's code, _PyEval_EvalFrameDefault: [g_eval_begin, g_eval_begin +
// g_eval_size). Empty if the process has no such symbol (then nothing is ever proven). A split
// off ".cold" part is not included: missing an evaluation frame only makes a proof trust less.
uintptr_t g_eval_begin = 0;
uintptr_t g_eval_size = 0;

void findEvalRange()
{
    void* symbol = dlsym(RTLD_DEFAULT, "_PyEval_EvalFrameDefault");
    Dl_info info;
    void* found = nullptr;
    if (symbol == nullptr || dladdr1(symbol, &info, &found, RTLD_DL_SYMENT) == 0 || found == nullptr) {
        return;
    }
    const auto* entry = static_cast<const ElfW(Sym)*>(found);
    g_eval_begin = reinterpret_cast<uintptr_t>(symbol);
    g_eval_size = entry->st_size;
}

// Whether a frame stopped at return address `ip` is a call of the evaluation loop.
bool isEvalFrame(uintptr_t ip)
{
    return ip - 1 - g_eval_begin < g_eval_size;  // wraps around below the range
}

}  // namespace

bool prepare(std::string* error)
{
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    if (g_loaded.load(std::memory_order_acquire)) {
        return true;
    }
    if (!load(error)) {
        return false;
    }
    g_unwind.set_caching_policy(*g_unwind.local_addr_space, UNW_CACHE_PER_THREAD);
    g_unwind.set_cache_size(*g_unwind.local_addr_space, 1024, 0);
    dl_iterate_phdr(&findPayloadRange, nullptr);
    findEvalRange();
    const char* whole = std::getenv("MEMRAY_NATIVE_UNWIND_WHOLE");
    g_whole.store(whole != nullptr && std::string_view(whole) == "1", std::memory_order_relaxed);
    g_loaded.store(true, std::memory_order_release);
    return true;
}

namespace {

// Bumped by flushCaches(): every thread forgets its rules and frames at its next unwind.
std::atomic<uint64_t> g_rules_generation{1};

std::atomic<bool> g_verify{false};
std::atomic<uint64_t> g_checked{0};
std::atomic<uint64_t> g_mismatches{0};
std::atomic<uint64_t> g_fallbacks{0};
std::atomic<uint64_t> g_frames_walked{0};
std::atomic<uint64_t> g_frames_reused{0};
std::atomic<uint64_t> g_proven_reuses{0};
// Mismatches printed in full, per process.
constexpr uint64_t kMismatchesShown = 5;

// libunwind's whole unwind, innermost first, without the payload's frames.
size_t unwindWithLibunwind(std::vector<void*>& scratch)
{
    if (scratch.empty()) {
        scratch.resize(128);
    }
    int count;
    for (;;) {
        count = g_unwind.backtrace(scratch.data(), static_cast<int>(scratch.size()));
        if (count < static_cast<int>(scratch.size()) || scratch.size() >= kMaxNativeFrames) {
            break;
        }
        scratch.resize(scratch.size() * 2);
    }
    if (count <= 0) {
        return 0;
    }
    size_t skip = 0;
    while (skip < static_cast<size_t>(count) && inPayload(scratch[skip])) {
        ++skip;
    }
    if (skip > 0) {
        std::copy(scratch.begin() + static_cast<std::ptrdiff_t>(skip), scratch.begin() + count, scratch.begin());
    }
    return static_cast<size_t>(count) - skip;
}

uintptr_t readWord(uintptr_t address)
{
    return *reinterpret_cast<const uintptr_t*>(address);
}

void printStack(const char* title, void* const* addresses, size_t count, bool outermost_first)
{
    std::fprintf(stderr, "[memray]   %s (%zu frames, innermost first):", title, count);
    for (size_t i = 0; i < count; ++i) {
        std::fprintf(stderr, " %p", addresses[outermost_first ? count - 1 - i : i]);
    }
    std::fprintf(stderr, "\n");
}

void verify(NativeStack stack, std::vector<void*>& scratch)
{
    const size_t count = unwindWithLibunwind(scratch);
    bool same = count == stack.count;
    for (size_t i = 0; same && i < count; ++i) {
        same = scratch[i] == stack.outermost_first[count - 1 - i];
    }
    g_checked.fetch_add(1, std::memory_order_relaxed);
    if (!same && g_mismatches.fetch_add(1, std::memory_order_relaxed) < kMismatchesShown) {
        std::fprintf(stderr, "[memray] native unwind mismatch\n");
        printStack("incremental", stack.outermost_first, stack.count, true);
        printStack("libunwind", scratch.data(), count, false);
    }
}

}  // namespace

ThreadUnwindState::ThreadUnwindState() = default;
ThreadUnwindState::~ThreadUnwindState() = default;

namespace {

FrameRule ruleFor(ThreadUnwindState::RuleSlot* rules, uintptr_t pc)
{
    const uint64_t hash = (static_cast<uint64_t>(pc) * 0x9e3779b97f4a7c15ull) >> 53;  // 11 bits
    static_assert(ThreadUnwindState::kRuleSlots == 2048);
    ThreadUnwindState::RuleSlot& slot = rules[hash];
    if (slot.pc != pc) {
        slot.pc = pc;
        slot.rule = frameRuleAt(pc);
    }
    return slot.rule;
}

// Doubles both arrays' room (keeping the first `keep` entries) until it holds `needed`.
template<typename T>
void grow(std::unique_ptr<T[]>& array, size_t keep, size_t capacity)
{
    std::unique_ptr<T[]> bigger(new T[capacity]);
    std::copy(array.get(), array.get() + keep, bigger.get());
    array = std::move(bigger);
}

// What a frame's second check reads when there is nothing to check.
const uintptr_t kUnchangingWord = 0;

// libunwind's unwind of the whole stack; the thread keeps no frames from it.
NativeStack wholeUnwind(ThreadUnwindState& state)
{
    state.count_ = 0;
    const size_t count = unwindWithLibunwind(state.scratch_);
    state.fallback_.assign(state.scratch_.rend() - static_cast<std::ptrdiff_t>(count), state.scratch_.rend());
    NativeStack stack{state.fallback_.data(), count, ++state.sequence_, 0};
    state.shown_ = count;
    if (g_verify.load(std::memory_order_relaxed)) {
        verify(stack, state.scratch_);
    }
    return stack;
}

// The previous walk's frames whose words must be read again when the walk meets its frame
// `index` in exactly its old state, `fresh_evals` evaluation frames having been met above it:
// frames [0, outer) and [inner, index]. Those between (the calls `proof` vouches for and the
// frames between them) need not be. Frames [0, index] are the evaluation frames numbered (from
// the top) fresh_evals + 1 to fresh_evals + frames[index].evals_outside, provided the words of
// [inner, index] still hold what they held: the check itself makes that so.
struct WordsToCheck
{
    size_t outer;
    size_t inner;
};

WordsToCheck wordsToCheck(const ThreadUnwindState::Frame* frames, size_t index, PythonProof proof,
                          uint32_t fresh_evals)
{
    const WordsToCheck all{index + 1, index + 1};
    const uint32_t evals = frames[index].evals_outside;
    if (proof.outer <= fresh_evals || proof.outer - fresh_evals > evals) {
        return all;  // the outermost call vouched for is not there
    }
    // The frame of the call numbered `number`: the first whose count from it outwards is that
    // call's.
    auto frameOfCall = [&](uint32_t number) {
        const uint32_t evals_outside = evals - (number - fresh_evals) + 1;
        const ThreadUnwindState::Frame* found = std::partition_point(
                frames, frames + index + 1,
                [evals_outside](const ThreadUnwindState::Frame& frame) { return frame.evals_outside < evals_outside; });
        return static_cast<size_t>(found - frames);
    };
    // Whether `address` (if known) lies in the frame frames[at]: at or above its stack pointer,
    // below its caller's.
    auto holds = [&](size_t at, const void* address) {
        const auto value = reinterpret_cast<uintptr_t>(address);
        return address == nullptr || (frames[at].sp <= value && (at == 0 || value < frames[at - 1].sp));
    };
    const size_t outer = frameOfCall(proof.outer);
    if (!holds(outer, proof.outer_address)) {
        return all;
    }
    // At or outside the innermost call vouched for (checked when the walk passed it), this frame
    // has nothing inside it to read; else the frames inside that call are read.
    if (proof.inner <= fresh_evals) {
        return WordsToCheck{outer, index + 1};
    }
    const size_t inner = frameOfCall(proof.inner);
    if (!holds(inner, proof.inner_address)) {
        return all;
    }
    return WordsToCheck{outer, inner + 1};
}

// A stack the fast walk cannot unwind (a frame of a shape it does not know).
NativeStack fallBack(ThreadUnwindState& state)
{
    g_fallbacks.fetch_add(1, std::memory_order_relaxed);
    return wholeUnwind(state);
}

// The walk from the registers of unwind()'s own frame, with a proof (kWithProof) or without:
// inlined into unwind() twice, so that stacks without a proof pay nothing for the proof's
// bookkeeping.
template<bool kWithProof>
[[gnu::always_inline]] inline NativeStack walk(ThreadUnwindState& state, const PythonProof* proof, uintptr_t bp,
                                               uintptr_t sp, uintptr_t ip)
{
    using Frame = ThreadUnwindState::Frame;
    using Check = ThreadUnwindState::Check;
    const Frame* frames = state.frames_.get();
    void* const* addresses = state.addresses_.get();
    const Check* checks = state.checks_.get();
    const size_t count = state.count_;
    // The previous walk's frames at indices below `reachable` have a stack pointer at or above
    // this walk's: the only ones it may still meet, as it climbs.
    size_t reachable = count;
    // If `broken`: frames [0, intact) of the previous walk read words that still hold what
    // they read, and frames[intact] does not, or is not known to (no frame inside it is kept).
    size_t intact = 0;
    bool broken = false;
    size_t kept = 0;
    size_t fresh_count = 0;
    // Evaluation frames met so far, the current one included: from the proof's `inner`-th on,
    // the walk is at or outside an evaluation call that has not returned since the last walk.
    uint32_t evals_met = 0;
    bool proven = false;
    // Set while the walk steps out of the innermost proven call's frame, if it is a new one.
    uintptr_t inner_sp = 0;
    const uintptr_t* end_word = &kUnchangingWord;
    for (;;) {
        bool eval = false;
        if (kWithProof && proof != nullptr) {
            if (inner_sp != 0) {
                // The walk just left the innermost proven call's frame: its address must lie there.
                const auto address = reinterpret_cast<uintptr_t>(proof->inner_address);
                if (address < inner_sp || address >= sp) {
                    proof = nullptr;
                }
                inner_sp = 0;
            }
            eval = isEvalFrame(ip);
            evals_met += eval ? 1 : 0;
        }
        while (reachable > 0 && frames[reachable - 1].sp < sp) {
            --reachable;
        }
        if (reachable > 0) {
            const size_t index = reachable - 1;
            const Frame& old = frames[index];
            if (old.sp == sp && addresses[index] == reinterpret_cast<void*>(ip) && (!old.needs_bp || old.bp == bp)) {
                if (broken) {
                    if (index < intact) {
                        kept = index + 1;
                        break;
                    }
                } else {
                    // Every word read by the walk from here outwards, in branch-free passes,
                    // but those of the frames of the calls the Python stack vouches for and
                    // of the frames between them: none of those has returned since the last
                    // walk, so every word their steps read (a return address pushed by a call,
                    // an rbp saved by a prologue) still holds what was read.
                    const WordsToCheck range = kWithProof && proof != nullptr
                                                       ? wordsToCheck(frames, index, *proof, evals_met - (eval ? 1 : 0))
                                                       : WordsToCheck{index + 1, index + 1};
                    const size_t outer_words = 2 * range.outer;
                    const size_t inner_words = 2 * range.inner;
                    const size_t words = 2 * (index + 1);
                    uintptr_t difference = 0;
                    for (size_t i = 0; i < outer_words; ++i) {
                        difference |= *checks[i].address ^ checks[i].value;
                    }
                    for (size_t i = inner_words; i < words; ++i) {
                        difference |= *checks[i].address ^ checks[i].value;
                    }
                    if (difference == 0) {
                        kept = index + 1;
                        proven = range.outer < range.inner;
                        break;
                    }
                    // The first word that changed. If it is one of the frames inside the
                    // proven calls, the frames outside those calls are all that is known
                    // intact: which frames the proven ones are was counted through the words
                    // that changed.
                    size_t first = 0;
                    while (first < outer_words && *checks[first].address == checks[first].value) {
                        ++first;
                    }
                    broken = true;
                    intact = first / 2;
                }
            }
        }
        if (fresh_count == kMaxNativeFrames) {
            return fallBack(state);
        }
        const FrameRule rule = ruleFor(state.rules_.get(), ip - 1);
        if (rule.kind == FrameRule::kUnsupported) {
            return fallBack(state);
        }
        if (fresh_count == state.fresh_capacity_) {
            state.fresh_capacity_ = std::max<size_t>(64, 2 * state.fresh_capacity_);
            grow(state.fresh_, fresh_count, state.fresh_capacity_);
            grow(state.fresh_addresses_, fresh_count, state.fresh_capacity_);
        }
        Frame& frame = state.fresh_[fresh_count];
        state.fresh_addresses_[fresh_count] = reinterpret_cast<void*>(ip);
        ++fresh_count;
        frame.sp = sp;
        frame.bp = bp;
        frame.rbp_offset = 0;
        if (kWithProof && eval && evals_met == proof->inner && proof->inner_address != nullptr) {
            inner_sp = sp;
        }
        // For now: whether this frame's own CFA needs rbp (the walk outside it is added below).
        frame.needs_bp = rule.kind == FrameRule::kRbpBased;
        if (rule.kind == FrameRule::kOutermost) {
            frame.needs_bp = false;
            break;
        }
        const uintptr_t cfa = (rule.kind == FrameRule::kRspBased ? sp : bp) + static_cast<intptr_t>(rule.cfa_offset);
        ip = readWord(cfa - 8);
        if (rule.rbp_offset != 0) {
            frame.rbp_offset = rule.rbp_offset;
            bp = readWord(cfa + rule.rbp_offset);
        }
        sp = cfa;
        if (ip == 0) {
            end_word = reinterpret_cast<const uintptr_t*>(cfa - 8);  // no caller
            break;
        }
    }

    // Keep frames [0, kept) and write the new frames after them, outermost first, each knowing
    // whether the walk outside it depends on its rbp, with the words its step read.
    const size_t total = kept + fresh_count;
    if (total > state.capacity_) {
        if (total > kMaxNativeFrames) {
            return fallBack(state);  // (the room never grows past the limit)
        }
        state.capacity_ = std::min(std::max<size_t>(total, 2 * state.capacity_), kMaxNativeFrames);
        grow(state.frames_, kept, state.capacity_);
        grow(state.addresses_, kept, state.capacity_);
        grow(state.checks_, 2 * kept, 2 * state.capacity_);
    }
    Frame* out = state.frames_.get();
    void** out_addresses = state.addresses_.get();
    Check* out_checks = state.checks_.get();
    for (size_t i = 0; i < fresh_count; ++i) {
        const size_t at = kept + i;
        Frame frame = state.fresh_[fresh_count - 1 - i];
        Check* frame_checks = out_checks + 2 * at;
        frame.evals_outside = (at > 0 ? out[at - 1].evals_outside : 0)
                              + (isEvalFrame(reinterpret_cast<uintptr_t>(state.fresh_addresses_[fresh_count - 1 - i])) ? 1 : 0);
        if (at == 0) {
            frame_checks[0] = Check{end_word, 0};
            frame_checks[1] = Check{&kUnchangingWord, 0};
        } else {
            const Frame& outer = out[at - 1];
            frame.needs_bp = frame.needs_bp || (frame.rbp_offset == 0 && outer.needs_bp);
            frame_checks[0] = Check{reinterpret_cast<const uintptr_t*>(outer.sp - 8),
                                    reinterpret_cast<uintptr_t>(out_addresses[at - 1])};
            // If the walk outside does not depend on the caller's rbp, the register was free
            // for other use there, and its changes have no effect.
            frame_checks[1] = frame.rbp_offset != 0 && outer.needs_bp
                                      ? Check{reinterpret_cast<const uintptr_t*>(outer.sp + frame.rbp_offset), outer.bp}
                                      : Check{&kUnchangingWord, 0};
        }
        out[at] = frame;
        out_addresses[at] = state.fresh_addresses_[fresh_count - 1 - i];
    }
    state.count_ = total;
    size_t shown = total;
    while (shown > 0 && inPayload(out_addresses[shown - 1])) {
        --shown;
    }
    NativeStack stack{out_addresses, shown, ++state.sequence_, std::min({kept, shown, state.shown_})};
    state.shown_ = shown;
    if (g_verify.load(std::memory_order_relaxed)) {
        g_frames_walked.fetch_add(fresh_count, std::memory_order_relaxed);
        g_frames_reused.fetch_add(kept, std::memory_order_relaxed);
        g_proven_reuses.fetch_add(proven ? 1 : 0, std::memory_order_relaxed);
        verify(stack, state.scratch_);
    }
    return stack;
}

}  // namespace

// Never inlined: its own frame is where the walk starts, described (like every payload frame)
// by the payload's unwind tables.
__attribute__((noinline)) NativeStack unwind(ThreadUnwindState& state, const PythonProof& python_proof)
{
    uintptr_t bp, sp, ip;
    // rbp first: an output may be given rbp's register where this function does not keep the
    // caller's rbp there. ip is the address after the lea, in the same unwind row as the rest.
    asm volatile("movq %%rbp, %0\n\tmovq %%rsp, %1\n\tleaq 0(%%rip), %2" : "=&r"(bp), "=&r"(sp), "=&r"(ip));

    const uint64_t generation = g_rules_generation.load(std::memory_order_relaxed);
    if (g_whole.load(std::memory_order_relaxed)) {
        return wholeUnwind(state);
    }
    if (!state.rules_ || state.rules_generation_ != generation) {
        if (!state.rules_) {
            state.rules_.reset(new ThreadUnwindState::RuleSlot[ThreadUnwindState::kRuleSlots]);
        } else {
            std::fill_n(state.rules_.get(), ThreadUnwindState::kRuleSlots, ThreadUnwindState::RuleSlot{});
        }
        state.rules_generation_ = generation;
        state.count_ = 0;
    }
    // The proof, if it applies to this walk's predecessor.
    if (python_proof.inner != 0 && python_proof.since == state.sequence_ && state.count_ != 0) {
        return walk<true>(state, &python_proof, bp, sp, ip);
    }
    return walk<false>(state, nullptr, bp, sp, ip);
}

void flushCaches()
{
    g_rules_generation.fetch_add(1, std::memory_order_relaxed);
    if (g_loaded.load(std::memory_order_acquire)) {
        g_unwind.flush_cache(*g_unwind.local_addr_space, 0, 0);
    }
}

void setVerify(bool on)
{
    g_verify.store(on, std::memory_order_relaxed);
}

VerifyCounts takeVerifyCounts()
{
    VerifyCounts counts;
    counts.checked = g_checked.exchange(0, std::memory_order_relaxed);
    counts.mismatches = g_mismatches.exchange(0, std::memory_order_relaxed);
    counts.fallbacks = g_fallbacks.exchange(0, std::memory_order_relaxed);
    counts.frames_walked = g_frames_walked.exchange(0, std::memory_order_relaxed);
    counts.frames_reused = g_frames_reused.exchange(0, std::memory_order_relaxed);
    counts.proven_reuses = g_proven_reuses.exchange(0, std::memory_order_relaxed);
    return counts;
}

}  // namespace memray::payload::native_unwinder
