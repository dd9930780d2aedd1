// Per-version struct layouts of the CPython objects the frame walker reads.
//
// Every number here is a fact about one CPython release series on x86-64 (release builds, no
// Py_TRACE_REFS, GIL enabled), taken from that version's headers. They are not guessed and
// must not be edited by hand without re-running the layout test: tests/unit compiles a probe
// with offsetof()/sizeof() against each installed interpreter's headers and compares it with
// describeLayout() below, key by key.
//
// Only fields that stay put within a minor series are used; CPython keeps these layouts stable
// across patch releases (they are part of what debuggers and profilers rely on).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace memray::payload {

// How a version links the running frames to its thread state.
enum class FrameModel : uint8_t {
    // 3.7-3.10: tstate->frame is a PyFrameObject*, chained by f_back, position in f_lasti.
    FrameObject,
    // 3.11-3.12: tstate->cframe->current_frame is a _PyInterpreterFrame*, chained by
    // `previous`, position in prev_instr.
    CFrame,
    // 3.13: tstate->current_frame directly; f_executable may be something else than code.
    ThreadFrame,
};

// The widths the walker reads fields with. They are checked too, since reading an int as a
// pointer or a char as an int would go unnoticed by an offset-only comparison.
using LastiInt = int32_t;   // PyFrameObject.f_lasti
using OwnerByte = int8_t;   // _PyInterpreterFrame.owner (a char)
using EntryBool = uint8_t;  // _PyInterpreterFrame.is_entry (a bool, 3.11)
using CodeInt = int32_t;    // PyCodeObject.co_firstlineno, _co_firsttraceable
using StrLength = int64_t;  // PyASCIIObject.length (Py_ssize_t)
using TracingInt = int32_t;  // PyThreadState.tracing
using UseTracingInt = int32_t;  // 3.7-3.9 PyThreadState.use_tracing, 3.10 CFrame.use_tracing
using UseTracingByte = uint8_t;  // 3.11 _PyCFrame.use_tracing

inline constexpr int16_t kAbsent = -1;

// Widths of the str state bit-fields the walker decodes.
inline constexpr int kStrKindBits = 3;
inline constexpr int kStrFlagBits = 1;  // compact, ascii

// Offsets are in bytes; kAbsent marks a field the version does not have (the walker never
// reads it: which fields it reads is decided by `model`).
struct PythonLayout
{
    int minor = 0;
    FrameModel model = FrameModel::FrameObject;

    // Bytes per unit of the frame's position. f_lasti counts bytes in 3.7-3.9 and code units
    // (_Py_CODEUNIT, 2 bytes) in 3.10; 3.11+ instruction pointers and _co_firsttraceable
    // count code units too.
    int16_t position_scale = 2;

    int16_t object_type = 8;  // PyObject.ob_type, after ob_refcnt in every version

    // Reaching the innermost frame from PyThreadState.
    int16_t tstate_frame = kAbsent;          // 3.7-3.10 tstate->frame
    int16_t tstate_cframe = kAbsent;         // 3.11-3.12 tstate->cframe
    int16_t cframe_current_frame = kAbsent;  // 3.11-3.12 _PyCFrame.current_frame
    int16_t tstate_current_frame = kAbsent;  // 3.13 tstate->current_frame
    // Non-zero while the thread runs a trace, profile or monitoring callback, when the
    // interpreter delivers no events (so none of our frame-exit events either).
    int16_t tstate_tracing = kAbsent;

    // The per-thread profile function (3.7-3.11; profile_exit_hook.h): its slot, the trace
    // function's, and the flag the evaluation loop tests before calling either. The flag is in
    // the thread state up to 3.9 and in the innermost evaluation call's CFrame from 3.10 on
    // (tstate->cframe, a UseTracingInt in 3.10 and a UseTracingByte in 3.11).
    int16_t tstate_profilefunc = kAbsent;
    int16_t tstate_profileobj = kAbsent;
    int16_t tstate_tracefunc = kAbsent;
    int16_t tstate_use_tracing = kAbsent;  // 3.7-3.9
    int16_t cframe_use_tracing = kAbsent;  // 3.10-3.11
    // The value the interpreter stores there for "on": 1, or 255 in 3.11, whose dispatch ORs it
    // into the opcode (semantics, not layout: the profile-hook test checks it).
    int16_t use_tracing_on = 1;
    // 3.11: PyFrameObject.f_frame, the _PyInterpreterFrame a profile event's frame object is of.
    int16_t frameobject_frame = kAbsent;

    // The frame itself (PyFrameObject up to 3.10, _PyInterpreterFrame after).
    int16_t frame_back = kAbsent;   // f_back / previous
    int16_t frame_code = kAbsent;   // f_code / f_executable
    int16_t frame_lasti = kAbsent;  // 3.7-3.10 f_lasti
    int16_t frame_instr = kAbsent;  // 3.11-3.12 prev_instr, 3.13 instr_ptr
    int16_t frame_owner = kAbsent;  // 3.11+
    int16_t frame_is_entry = kAbsent;  // 3.11 only: bool is_entry (3.12+ push a C-stack shim frame instead)

    // enum _frameowner values (3.11+; CSTACK exists from 3.12).
    int16_t owned_by_generator = kAbsent;
    int16_t owned_by_cstack = kAbsent;

    // PyCodeObject.
    int16_t code_firstlineno = kAbsent;
    int16_t code_filename = kAbsent;
    int16_t code_name = kAbsent;
    int16_t code_firsttraceable = kAbsent;  // 3.11+
    int16_t code_code = kAbsent;            // 3.11+: co_code_adaptive, i.e. _PyCode_CODE(co)

    // str objects (PEP 393). Compact strings keep their characters right after the header:
    // after PyASCIIObject when pure ASCII, after PyCompactUnicodeObject otherwise. 3.12
    // dropped the wstr fields, which shrank both headers by 8 and 16 bytes. The state word's
    // bit-fields (interned:2, kind:3, compact:1, ascii:1, ...) never moved.
    int16_t str_length = 16;
    int16_t str_state = 32;
    int16_t str_ascii_size = kAbsent;    // sizeof(PyASCIIObject)
    int16_t str_compact_size = kAbsent;  // sizeof(PyCompactUnicodeObject)
    int8_t str_kind_shift = 2;           // 3 bits
    int8_t str_compact_shift = 5;        // 1 bit
    int8_t str_ascii_shift = 6;          // 1 bit
};

inline constexpr PythonLayout kPythonLayouts[] = {
    {
        // As 3.8, except PyCodeObject: 3.8 added co_posonlyargcount before co_firstlineno,
        // which moved it and everything after it.
        .minor = 7, .model = FrameModel::FrameObject, .position_scale = 1,
        .tstate_frame = 24, .tstate_tracing = 44,
        .tstate_profilefunc = 56, .tstate_profileobj = 72, .tstate_tracefunc = 64, .tstate_use_tracing = 48,
        .frame_back = 24, .frame_code = 32, .frame_lasti = 104,
        .code_firstlineno = 36, .code_filename = 96, .code_name = 104,
        .str_ascii_size = 48, .str_compact_size = 72,
    },
    {
        .minor = 8, .model = FrameModel::FrameObject, .position_scale = 1,
        .tstate_frame = 24, .tstate_tracing = 44,
        .tstate_profilefunc = 56, .tstate_profileobj = 72, .tstate_tracefunc = 64, .tstate_use_tracing = 48,
        .frame_back = 24, .frame_code = 32, .frame_lasti = 104,
        .code_firstlineno = 40, .code_filename = 104, .code_name = 112,
        .str_ascii_size = 48, .str_compact_size = 72,
    },
    {
        .minor = 9, .model = FrameModel::FrameObject, .position_scale = 1,
        .tstate_frame = 24, .tstate_tracing = 44,
        .tstate_profilefunc = 56, .tstate_profileobj = 72, .tstate_tracefunc = 64, .tstate_use_tracing = 48,
        .frame_back = 24, .frame_code = 32, .frame_lasti = 104,
        .code_firstlineno = 40, .code_filename = 104, .code_name = 112,
        .str_ascii_size = 48, .str_compact_size = 72,
    },
    {
        // f_lasti moved up (f_stacktop et al. went away) and started counting code units.
        .minor = 10, .model = FrameModel::FrameObject, .position_scale = 2,
        .tstate_frame = 24, .tstate_cframe = 48, .tstate_tracing = 44,
        .tstate_profilefunc = 56, .tstate_profileobj = 72, .tstate_tracefunc = 64, .cframe_use_tracing = 0,
        .frame_back = 24, .frame_code = 32, .frame_lasti = 96,
        .code_firstlineno = 40, .code_filename = 104, .code_name = 112,
        .str_ascii_size = 48, .str_compact_size = 72,
    },
    {
        // _PyCFrame starts with uint8_t use_tracing, hence current_frame at 8.
        .minor = 11, .model = FrameModel::CFrame, .position_scale = 2,
        .tstate_cframe = 56, .cframe_current_frame = 8, .tstate_tracing = 44,
        .tstate_profilefunc = 64, .tstate_profileobj = 80, .tstate_tracefunc = 72, .cframe_use_tracing = 0,
        .use_tracing_on = 255, .frameobject_frame = 24,
        .frame_back = 48, .frame_code = 32, .frame_instr = 56, .frame_owner = 69, .frame_is_entry = 68,
        .owned_by_generator = 1,
        .code_firstlineno = 72, .code_filename = 112, .code_name = 120,
        .code_firsttraceable = 168, .code_code = 184,
        .str_ascii_size = 48, .str_compact_size = 72,
    },
    {
        // The frame now starts with f_code and previous; use_tracing left _PyCFrame.
        .minor = 12, .model = FrameModel::CFrame, .position_scale = 2,
        .tstate_cframe = 56, .cframe_current_frame = 0, .tstate_tracing = 44,
        .frame_back = 8, .frame_code = 0, .frame_instr = 56, .frame_owner = 70,
        .owned_by_generator = 1, .owned_by_cstack = 3,
        .code_firstlineno = 68, .code_filename = 112, .code_name = 120,
        .code_firsttraceable = 176, .code_code = 192,
        .str_ascii_size = 40, .str_compact_size = 56,
    },
    {
        // _PyCFrame is gone; f_code became f_executable, prev_instr became instr_ptr.
        .minor = 13, .model = FrameModel::ThreadFrame, .position_scale = 2,
        .tstate_current_frame = 72, .tstate_tracing = 60,
        .frame_back = 8, .frame_code = 0, .frame_instr = 56, .frame_owner = 70,
        .owned_by_generator = 1, .owned_by_cstack = 3,
        .code_firstlineno = 68, .code_filename = 112, .code_name = 120,
        .code_firsttraceable = 184, .code_code = 200,
        .str_ascii_size = 40, .str_compact_size = 56,
    },
};

// The table for CPython 3.<minor>, or nullptr.
// Before 3.12: the evaluation loop's flag for calling trace and profile functions, in the
// thread state (3.7-3.9) or in its current CFrame (3.10: an int, 3.11: a byte); null where the
// layout has none or the thread has no CFrame yet. Read by the walk, written by
// profile_exit_hook.cpp: one place knows where it lives.
inline char* useTracingFlag(const PythonLayout& l, const void* tstate)
{
    char* base = static_cast<char*>(const_cast<void*>(tstate));
    if (l.tstate_use_tracing != kAbsent) {
        return base + l.tstate_use_tracing;
    }
    if (l.tstate_cframe == kAbsent || l.cframe_use_tracing == kAbsent) {
        return nullptr;
    }
    char* cframe;
    std::memcpy(&cframe, base + l.tstate_cframe, sizeof(cframe));
    return cframe != nullptr ? cframe + l.cframe_use_tracing : nullptr;
}

inline bool useTracingOn(const PythonLayout& l, const void* tstate)
{
    const char* flag = useTracingFlag(l, tstate);
    if (flag == nullptr) {
        return false;
    }
    if (l.minor == 11) {
        UseTracingByte value;
        std::memcpy(&value, flag, sizeof(value));
        return value != 0;
    }
    UseTracingInt value;
    std::memcpy(&value, flag, sizeof(value));
    return value != 0;
}

// "On" is what the interpreter itself stores (l.use_tracing_on: 255 in 3.11's byte).
inline void setUseTracing(const PythonLayout& l, void* tstate, bool on)
{
    char* flag = useTracingFlag(l, tstate);
    if (flag == nullptr) {
        return;
    }
    if (l.minor == 11) {
        const auto value = static_cast<UseTracingByte>(on ? l.use_tracing_on : 0);
        std::memcpy(flag, &value, sizeof(value));
        return;
    }
    const UseTracingInt value = on ? 1 : 0;
    std::memcpy(flag, &value, sizeof(value));
}

inline const PythonLayout* findPythonLayout(int major, int minor)
{
    if (major != 3) {
        return nullptr;
    }
    for (const PythonLayout& layout : kPythonLayouts) {
        if (layout.minor == minor) {
            return &layout;
        }
    }
    return nullptr;
}

// Calls visit(key, value) for every header-derived fact the table holds for this version, in
// the vocabulary of tests/unit/python_frames_layout_probe.c. Absent fields are not visited, so
// the probe and the table must agree on which fields exist as well as on their values.
template<typename Visit>
void describeLayout(const PythonLayout& l, Visit&& visit)
{
    auto field = [&](const char* key, int value) {
        if (value != kAbsent) {
            visit(key, value);
        }
    };
    field("object.ob_type", l.object_type);
    field("tstate.frame", l.tstate_frame);
    field("tstate.cframe", l.tstate_cframe);
    field("cframe.current_frame", l.cframe_current_frame);
    field("tstate.current_frame", l.tstate_current_frame);
    field("tstate.tracing", l.tstate_tracing);
    visit("tstate.tracing.width", sizeof(TracingInt));
    field("tstate.c_profilefunc", l.tstate_profilefunc);
    field("tstate.c_profileobj", l.tstate_profileobj);
    field("tstate.c_tracefunc", l.tstate_tracefunc);
    field("tstate.use_tracing", l.tstate_use_tracing);
    if (l.tstate_use_tracing != kAbsent) {
        visit("tstate.use_tracing.width", sizeof(UseTracingInt));
    }
    field("cframe.use_tracing", l.cframe_use_tracing);
    if (l.cframe_use_tracing != kAbsent) {
        visit("cframe.use_tracing.width", l.minor == 10 ? sizeof(UseTracingInt) : sizeof(UseTracingByte));
    }
    field("frameobject.f_frame", l.frameobject_frame);
    field("frame.back", l.frame_back);
    field("frame.code", l.frame_code);
    field("frame.lasti", l.frame_lasti);
    if (l.frame_lasti != kAbsent) {
        visit("frame.lasti.width", sizeof(LastiInt));
    }
    field("frame.instr", l.frame_instr);
    field("frame.owner", l.frame_owner);
    if (l.frame_owner != kAbsent) {
        visit("frame.owner.width", sizeof(OwnerByte));
    }
    field("frame.is_entry", l.frame_is_entry);
    if (l.frame_is_entry != kAbsent) {
        visit("frame.is_entry.width", sizeof(EntryBool));
    }
    field("owner.generator", l.owned_by_generator);
    field("owner.cstack", l.owned_by_cstack);
    field("code.firsttraceable", l.code_firsttraceable);
    if (l.code_firsttraceable != kAbsent) {
        visit("code.firsttraceable.width", sizeof(CodeInt));
    }
    field("code.code", l.code_code);
    if (l.minor >= 10) {
        // From 3.10 on positions count _Py_CODEUNITs, so the scale is their size. (That 3.7
        // to 3.9 count bytes is semantics, not layout: the integration test checks it.)
        visit("codeunit.width", l.position_scale);
    }
    field("code.firstlineno", l.code_firstlineno);
    visit("code.firstlineno.width", sizeof(CodeInt));
    field("code.filename", l.code_filename);
    field("code.name", l.code_name);
    field("str.length", l.str_length);
    visit("str.length.width", sizeof(StrLength));
    field("str.state", l.str_state);
    field("str.ascii_size", l.str_ascii_size);
    field("str.compact_size", l.str_compact_size);
    visit("str.kind.shift", l.str_kind_shift);
    visit("str.kind.width", kStrKindBits);
    visit("str.compact.shift", l.str_compact_shift);
    visit("str.compact.width", kStrFlagBits);
    visit("str.ascii.shift", l.str_ascii_shift);
    visit("str.ascii.width", kStrFlagBits);
}

}  // namespace memray::payload
