// Walking CPython's frame chain from inside an allocator hook.
//
// Everything here runs on the allocating thread, possibly without the GIL, possibly in the
// middle of the interpreter's own bookkeeping. So: plain loads through the per-version offsets
// of python_layouts.h, no calls into Python other than the thread-state lookups (a
// thread-local or TSS read) and PyCode_Addr2Line (a read of the code object's immutable line table), and no heap
// allocation other than into the std::string the caller hands to readCode().
//
// Reading our own thread's frames without the GIL is safe because only the owning thread
// pushes and pops them; while we run inside its malloc, the chain is exactly as it was at the
// call site. Code and str objects the frames reference are kept alive by those frames.
#include "python_frames.h"

#include "python_c_abi.h"
#include "python_layouts.h"

#include <cstring>
#include <utility>

namespace memray::payload {

namespace {

// Longest str we are willing to decode. Names and filenames are far shorter; this only keeps a
// damaged object from turning into a huge allocation.
constexpr int64_t kMaxStrLength = int64_t{1} << 20;

constexpr const char* kUnknown = "???";

// Loads a T stored `offset` bytes into `base`. memcpy keeps the compiler from assuming
// anything about the alignment or the type of what lives there.
template<typename T>
T load(const void* base, int16_t offset)
{
    T value;
    std::memcpy(&value, static_cast<const char*>(base) + offset, sizeof(value));
    return value;
}

const void* loadPointer(const void* base, int16_t offset)
{
    return load<const void*>(base, offset);
}

template<typename Fn>
bool resolveSymbol(const char* name, Fn* out, std::string* error)
{
    if (!python_abi::lookUp(name, out)) {
        if (error != nullptr) {
            *error = std::string("not a Python process: symbol ") + name + " not found";
        }
        return false;
    }
    return true;
}

// Parses "3.11.7 (main, ...)" into 3 and 11.
bool parseVersion(const char* text, int* major, int* minor)
{
    auto number = [&text](int* value) {
        if (*text < '0' || *text > '9') {
            return false;
        }
        *value = 0;
        while (*text >= '0' && *text <= '9' && *value < 1000) {
            *value = *value * 10 + (*text++ - '0');
        }
        return true;
    };
    return text != nullptr && number(major) && *text++ == '.' && number(minor);
}

// Appends code point `cp` as UTF-8 at `p`, returning the new end. Lone surrogates, which a str
// may legally hold, become U+FFFD so the result is always valid UTF-8.
char* putUtf8(char* p, uint32_t cp)
{
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
        cp = 0xFFFD;
    }
    if (cp < 0x80) {
        *p++ = static_cast<char>(cp);
    } else if (cp < 0x800) {
        *p++ = static_cast<char>(0xC0 | (cp >> 6));
        *p++ = static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *p++ = static_cast<char>(0xE0 | (cp >> 12));
        *p++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        *p++ = static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        *p++ = static_cast<char>(0xF0 | (cp >> 18));
        *p++ = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        *p++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        *p++ = static_cast<char>(0x80 | (cp & 0x3F));
    }
    return p;
}

// Transcodes `length` characters of `width` bytes each (PEP 393 kind 1, 2 or 4) to UTF-8.
void transcode(const char* data, int64_t length, int width, std::string* out)
{
    // A Latin-1 character needs at most 2 UTF-8 bytes, UCS-2 at most 3, UCS-4 at most 4.
    out->resize(static_cast<size_t>(length) * static_cast<size_t>(width == 1 ? 2 : width == 2 ? 3 : 4));
    char* begin = out->data();
    char* p = begin;
    for (int64_t i = 0; i < length; ++i) {
        uint32_t cp;
        if (width == 1) {
            cp = static_cast<unsigned char>(data[i]);
        } else if (width == 2) {
            uint16_t unit;
            std::memcpy(&unit, data + i * 2, sizeof(unit));
            cp = unit;
        } else {
            std::memcpy(&cp, data + i * 4, sizeof(cp));
        }
        p = putUtf8(p, cp);
    }
    out->resize(static_cast<size_t>(p - begin));
}

// Decodes a str object without calling into Python. Only compact strings (the only kind the
// compiler and the interning machinery produce for code objects) are understood; legacy
// strings, str subclasses among them, read as "???".
void decodeStr(const PythonLayout& layout, const void* str, std::string* out)
{
    if (str == nullptr) {
        *out = kUnknown;
        return;
    }
    const uint32_t state = load<uint32_t>(str, layout.str_state);
    const int64_t length = load<StrLength>(str, layout.str_length);
    const uint32_t flag_mask = (1u << kStrFlagBits) - 1;
    const bool compact = ((state >> layout.str_compact_shift) & flag_mask) != 0;
    const bool ascii = ((state >> layout.str_ascii_shift) & flag_mask) != 0;
    const uint32_t kind = (state >> layout.str_kind_shift) & ((1u << kStrKindBits) - 1);
    if (!compact || length < 0 || length > kMaxStrLength) {
        *out = kUnknown;
        return;
    }
    const char* base = static_cast<const char*>(str);
    if (ascii) {
        out->assign(base + layout.str_ascii_size, static_cast<size_t>(length));
        return;
    }
    if (kind != 1 && kind != 2 && kind != 4) {
        *out = kUnknown;
        return;
    }
    transcode(base + layout.str_compact_size, length, static_cast<int>(kind), out);
}

// 3.7-3.10: every frame in the f_back chain is a running (or just entered) Python frame.
[[gnu::always_inline]] inline size_t walkFrameObjects(const PythonLayout& l, const void* tstate, RawFrame* out,
                                                      size_t capacity, const void* stop_code, const void* stop_frame,
                                                      bool* reached_stop_frame)
{
    size_t count = 0;
    for (const void* frame = loadPointer(tstate, l.tstate_frame); frame != nullptr && count < capacity;
         frame = loadPointer(frame, l.frame_back))
    {
        const void* code = loadPointer(frame, l.frame_code);
        if (code == stop_code) {
            break;
        }
        // f_lasti is -1 until the first instruction runs (the frame is inside the "call" trace
        // event, say). Scaling that would give a bogus offset; any negative offset makes
        // PyCode_Addr2Line answer co_firstlineno, which is what a traceback shows too.
        const LastiInt lasti = load<LastiInt>(frame, l.frame_lasti);
        out[count++] = RawFrame{code, lasti < 0 ? -1 : lasti * l.position_scale, frame, true};
        if (frame == stop_frame) {
            *reached_stop_frame = true;
            break;
        }
    }
    return count;
}

// Before 3.12: whether `tstate`'s frames report their exits to `hook` (profile_exit_hook.h):
// it is the thread's profile function, and the evaluation loop's flag for calling it is on.
// 3.11 calls the profile function at an exit only if the trace function, called first, did not
// fail: with a trace function set, an exit may go unreported, so the thread counts as not.
bool profileHookArmed(const PythonLayout& l, const void* tstate, const void* hook)
{
    if (hook == nullptr || loadPointer(tstate, l.tstate_profilefunc) != hook || !useTracingOn(l, tstate)) {
        return false;
    }
    return l.minor != 11 || loadPointer(tstate, l.tstate_tracefunc) == nullptr;
}

// 3.11+: the code and byte offset of an interpreter frame, or false for a frame CPython itself
// would not show (see _PyFrame_IsIncomplete in each version's internal/pycore_frame.h).
[[gnu::always_inline]] inline bool completeFrame(const PythonLayout& l, const void* code_type, const void* frame, const void** code_out,
                   int32_t* offset_out)
{
    const OwnerByte owner = load<OwnerByte>(frame, l.frame_owner);
    // 3.12+: the entry frame each _PyEval_EvalFrameDefault call pushes on the C stack. Its
    // code is the interpreter trampoline (3.12) or None (3.13), never user code.
    if (l.owned_by_cstack != kAbsent && owner == l.owned_by_cstack) {
        return false;
    }
    const void* code = loadPointer(frame, l.frame_code);
    if (code == nullptr) {
        return false;
    }
    // 3.13: f_executable is "code object or None"; only code objects have a line table.
    if (l.model == FrameModel::ThreadFrame && loadPointer(code, l.object_type) != code_type) {
        return false;
    }
    // Compare addresses as integers: instr may point before the bytecode (3.11/3.12 start a
    // fresh frame at _PyCode_CODE(code) - 1), and that is not a pointer C++ lets us form.
    const auto first = reinterpret_cast<uintptr_t>(code) + static_cast<uintptr_t>(l.code_code);
    const auto instr = reinterpret_cast<uintptr_t>(loadPointer(frame, l.frame_instr));
    // A frame that has been pushed but not yet reached its first traceable instruction (it is
    // still copying free variables or making cells) is not running yet: its caller is.
    // Generator frames are exempt, exactly as in CPython: their prologue ran when the
    // generator was created, and a resumed one may briefly sit before RESUME while running.
    if (owner != l.owned_by_generator) {
        const auto first_traceable = static_cast<uintptr_t>(load<CodeInt>(code, l.code_firsttraceable));
        if (instr < first + first_traceable * static_cast<uintptr_t>(l.position_scale)) {
            return false;
        }
    }
    // _PyInterpreterFrame_LASTI counts code units from _PyCode_CODE(code); PyCode_Addr2Line
    // wants bytes, which is simply the distance between the two pointers. (3.11/3.12's
    // prev_instr and 3.13's instr_ptr both point at the instruction being executed, or at one
    // of its inline cache entries, which share its line.)
    *code_out = code;
    *offset_out = instr < first ? -1 : static_cast<int32_t>(instr - first);
    return true;
}

// The innermost linked frame of `tstate` (3.11+), complete or not.
[[gnu::always_inline]] inline const void* innermostInterpreterFrame(const PythonLayout& l, const void* tstate)
{
    if (l.model == FrameModel::CFrame) {
        // tstate->cframe always points at a live _PyCFrame (root_cframe at the bottom).
        const void* cframe = loadPointer(tstate, l.tstate_cframe);
        return cframe != nullptr ? loadPointer(cframe, l.cframe_current_frame) : nullptr;
    }
    return loadPointer(tstate, l.tstate_current_frame);
}

[[gnu::always_inline]] inline size_t walkInterpreterFrames(const PythonLayout& l, const void* code_type,
                                                           const void* tstate, RawFrame* out, size_t capacity,
                                                           const void* stop_code, const void* stop_frame,
                                                           bool* reached_stop_frame)
{
    const void* frame = innermostInterpreterFrame(l, tstate);
    size_t count = 0;
    for (; frame != nullptr && count < capacity; frame = loadPointer(frame, l.frame_back)) {
        // 3.12+: the C-stack shim an evaluation call pushes sits just outside the first frame
        // that call runs, which makes that frame an entry frame.
        if (l.owned_by_cstack != kAbsent && count > 0 && load<OwnerByte>(frame, l.frame_owner) == l.owned_by_cstack) {
            out[count - 1].entry = true;
            continue;
        }
        const void* code = nullptr;
        int32_t offset = 0;
        if (!completeFrame(l, code_type, frame, &code, &offset)) {
            continue;
        }
        if (code == stop_code) {
            break;
        }
        const bool entry = l.frame_is_entry != kAbsent && load<EntryBool>(frame, l.frame_is_entry) != 0;
        out[count++] = RawFrame{code, offset, frame, entry};
        if (frame == stop_frame) {
            *reached_stop_frame = true;
            break;
        }
    }
    return count;
}

// The walk with version `I`'s offsets as compile-time constants: the table's fields become
// immediates and the branches on absent fields disappear. Per frame, the walk is a chain of
// dependent loads plus a few dozen instructions; on deep stacks those instructions, not the
// loads, were most of its time.
template<size_t I>
size_t walkWithLayout(const void* code_type, const void* tstate, RawFrame* out, size_t capacity, const void* stop_code,
                      const void* stop_frame, bool* reached_stop_frame)
{
    constexpr const PythonLayout& l = kPythonLayouts[I];
    if constexpr (l.model == FrameModel::FrameObject) {
        return walkFrameObjects(l, tstate, out, capacity, stop_code, stop_frame, reached_stop_frame);
    } else {
        return walkInterpreterFrames(l, code_type, tstate, out, capacity, stop_code, stop_frame, reached_stop_frame);
    }
}

using WalkFunction = size_t (*)(const void*, const void*, RawFrame*, size_t, const void*, const void*, bool*);

template<size_t... I>
constexpr WalkFunction walkFunctionFor(size_t index, std::index_sequence<I...>)
{
    WalkFunction functions[] = {&walkWithLayout<I>...};
    return functions[index];
}

}  // namespace

bool resolvePythonApi(PythonApi* api, std::string* error)
{
    PythonApi resolved;
    if (!resolveSymbol("Py_GetVersion", &resolved.Py_GetVersion, error)
        || !resolveSymbol("Py_IsInitialized", &resolved.Py_IsInitialized, error)
        || !resolveSymbol("PyGILState_GetThisThreadState", &resolved.PyGILState_GetThisThreadState, error)
        || !resolveSymbol("PyGILState_Ensure", &resolved.PyGILState_Ensure, error)
        || !resolveSymbol("PyGILState_Release", &resolved.PyGILState_Release, error)
        || !resolveSymbol("PyCode_Addr2Line", &resolved.PyCode_Addr2Line, error)
        || !resolveSymbol("PyCode_Type", &resolved.PyCode_Type, error))
    {
        return false;
    }
    *api = resolved;
    return true;
}

bool PythonFrameWalker::init(const PythonApi& api, std::string* error)
{
    auto fail = [error](std::string reason) {
        if (error != nullptr) {
            *error = std::move(reason);
        }
        return false;
    };
    if (api.Py_GetVersion == nullptr || api.PyGILState_GetThisThreadState == nullptr
        || api.PyCode_Addr2Line == nullptr || api.PyCode_Type == nullptr)
    {
        return fail("Python API not resolved");
    }
    const char* version = api.Py_GetVersion();
    int major = 0;
    int minor = 0;
    if (!parseVersion(version, &major, &minor)) {
        return fail(std::string("cannot parse Python version \"") + (version ? version : "") + "\"");
    }
    const PythonLayout* layout = findPythonLayout(major, minor);
    if (layout == nullptr) {
        return fail("unsupported Python version " + std::to_string(major) + "." + std::to_string(minor)
                    + " (supported: 3.7 to 3.13)");
    }
    // Free-threaded builds (3.13t) have a bigger object header and other frame and str
    // layouts; Py_GetVersion() is how they tell (" experimental free-threading build").
    if (std::strstr(version, "free-threading") != nullptr) {
        return fail("unsupported Python build: free-threaded CPython (3.13t) has other object layouts");
    }
    // 3.12+: the attached state's getter, which reads the interpreter's own thread-local
    // (3.7-3.11 export _PyThreadState_UncheckedGet too, but there it reads the GIL holder's
    // state, another thread's for a thread allocating without the GIL). Missing: TSS only.
    attached_thread_state_ = nullptr;
    if (minor >= 12) {
        python_abi::lookUp(minor == 12 ? "_PyThreadState_UncheckedGet" : "PyThreadState_GetUnchecked",
                           &attached_thread_state_);
    }
    api_ = &api;
    minor_ = minor;
    layout_ = layout;
    constexpr size_t kLayouts = sizeof(kPythonLayouts) / sizeof(kPythonLayouts[0]);
    walk_ = walkFunctionFor(static_cast<size_t>(layout - kPythonLayouts), std::make_index_sequence<kLayouts>{});
    return true;
}

size_t PythonFrameWalker::walkCurrentThread(RawFrame* out, size_t capacity, const void* stop_code) const
{
    return walkCurrentThreadDownTo(out, capacity, stop_code, nullptr).count;
}

const void* PythonFrameWalker::callingThreadState() const
{
    // 3.12+, holding the GIL (every pymalloc call, most others): the interpreter's own
    // thread-local, a load where the thread-specific-storage lookup below is a few calls. The
    // attached state is the one whose frames are running (under a subinterpreter, not
    // necessarily the thread's PyGILState one).
    if (attached_thread_state_ != nullptr) {
        if (const void* attached = attached_thread_state_()) {
            return attached;
        }
    }
    return api_->PyGILState_GetThisThreadState();
}

PythonFrameWalker::PartialWalk PythonFrameWalker::walkCurrentThreadDownTo(RawFrame* out, size_t capacity,
                                                                          const void* stop_code,
                                                                          const void* stop_frame) const
{
    PartialWalk walk;
    if (layout_ == nullptr || capacity == 0) {
        return walk;
    }
    const void* tstate = callingThreadState();
    if (tstate == nullptr) {
        return walk;
    }
    // Built from locals, not filled in place: byte stores into `walk` followed by the caller's
    // load of the whole struct defeated store forwarding, a stall on every allocation.
    const bool inside_trace_function = load<TracingInt>(tstate, layout_->tstate_tracing) != 0;
    const bool exits_reported =
            layout_->tstate_profilefunc == kAbsent || profileHookArmed(*layout_, tstate, profile_hook_);
    bool reached_stop_frame = false;
    const size_t count = walk_(api_->PyCode_Type, tstate, out, capacity, stop_code, stop_frame, &reached_stop_frame);
    return PartialWalk{count, reached_stop_frame, inside_trace_function, exits_reported};
}

const void* PythonFrameWalker::innermostFrameAddress() const
{
    if (layout_ == nullptr) {
        return nullptr;
    }
    const void* tstate = callingThreadState();
    if (tstate == nullptr) {
        return nullptr;
    }
    if (layout_->model == FrameModel::FrameObject) {
        return loadPointer(tstate, layout_->tstate_frame);
    }
    return innermostInterpreterFrame(*layout_, tstate);
}

bool PythonFrameWalker::frameOwnedByGenerator(const void* frame) const
{
    if (layout_ == nullptr || layout_->frame_owner == kAbsent || frame == nullptr) {
        return false;
    }
    return load<OwnerByte>(frame, layout_->frame_owner) == layout_->owned_by_generator;
}

bool PythonFrameWalker::frameIsEntry(const void* frame) const
{
    if (layout_ == nullptr || frame == nullptr) {
        return false;
    }
    if (layout_->owned_by_cstack != kAbsent) {
        return evaluationCallAddress(frame) != nullptr;
    }
    return layout_->frame_is_entry != kAbsent && load<EntryBool>(frame, layout_->frame_is_entry) != 0;
}

bool PythonFrameWalker::linkedConsecutively(const RawFrame* frames, size_t count) const
{
    if (layout_ == nullptr) {
        return false;
    }
    for (size_t i = 1; i < count; ++i) {
        if (loadPointer(frames[i - 1].frame, layout_->frame_back) != frames[i].frame) {
            return false;
        }
    }
    return true;
}

const void* PythonFrameWalker::evaluationCallAddress(const void* frame) const
{
    if (layout_ == nullptr || layout_->owned_by_cstack == kAbsent || frame == nullptr) {
        return nullptr;
    }
    const void* outside = loadPointer(frame, layout_->frame_back);
    if (outside == nullptr || load<OwnerByte>(outside, layout_->frame_owner) != layout_->owned_by_cstack) {
        return nullptr;
    }
    return outside;
}

const void* PythonFrameWalker::currentCode() const
{
    RawFrame innermost{};
    return walkCurrentThread(&innermost, 1, nullptr) == 1 ? innermost.code : nullptr;
}

void PythonFrameWalker::readCode(const void* code, CodeText* out) const
{
    if (layout_ == nullptr || code == nullptr) {
        out->name = kUnknown;
        out->filename = kUnknown;
        out->first_line = 0;
        return;
    }
    decodeStr(*layout_, loadPointer(code, layout_->code_name), &out->name);
    decodeStr(*layout_, loadPointer(code, layout_->code_filename), &out->filename);
    out->first_line = load<CodeInt>(code, layout_->code_firstlineno);
}

int PythonFrameWalker::lineNumber(const RawFrame& frame) const
{
    if (api_ == nullptr || frame.code == nullptr) {
        return 0;
    }
    // PyCode_Addr2Line only reads the immutable line table; negative offsets give co_firstlineno.
    return api_->PyCode_Addr2Line(const_cast<void*>(frame.code), frame.byte_offset);
}

}  // namespace memray::payload
