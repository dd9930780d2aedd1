/* Prints, from one CPython version's own headers, every struct offset, field width and
 * constant that payload/src/python_layouts.h hard-codes for that version. The layout test
 * compiles this once per installed interpreter (-DPy_BUILD_CORE, internal headers on the
 * include path) and diffs its output against python_frames_layout_dump, which prints the
 * payload's table in the same "key value" form.
 *
 * Keys that do not exist in a version are simply not printed; the dump omits them too, so a
 * field the table uses on the wrong version is a mismatch as well. */
#include <Python.h>
#include <frameobject.h>
#if PY_MINOR_VERSION >= 11
#include <internal/pycore_frame.h>
#endif

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define FIELD(key, type, member) printf("%s %zu\n", key, offsetof(type, member))
#define WIDTH(key, type, member) printf("%s %zu\n", key, sizeof(((type*)0)->member))

/* Where a bit-field of the str state word lives: set the field to all ones in a zeroed object
 * and see which bits of the 32-bit word changed. offsetof() cannot see bit-fields. */
#define STATE_BITS(key, member, ones)                                                       \
    do {                                                                                    \
        PyASCIIObject o;                                                                    \
        unsigned int word, shift = 0, width = 0;                                            \
        memset(&o, 0, sizeof(o));                                                           \
        o.state.member = ones;                                                              \
        memcpy(&word, (char*)&o + offsetof(PyASCIIObject, state), sizeof(word));            \
        while (word && !(word & 1u)) { word >>= 1; ++shift; }                               \
        while (word & 1u) { word >>= 1; ++width; }                                          \
        printf("%s.shift %u\n%s.width %u\n", key, shift, key, width);                       \
    } while (0)

int main(void)
{
    printf("version %d.%d\n", PY_MAJOR_VERSION, PY_MINOR_VERSION);
    FIELD("object.ob_type", PyObject, ob_type);
    FIELD("tstate.tracing", PyThreadState, tracing);
    WIDTH("tstate.tracing.width", PyThreadState, tracing);
#if PY_MINOR_VERSION <= 11
    FIELD("tstate.c_profilefunc", PyThreadState, c_profilefunc);
    FIELD("tstate.c_profileobj", PyThreadState, c_profileobj);
    FIELD("tstate.c_tracefunc", PyThreadState, c_tracefunc);
#endif
#if PY_MINOR_VERSION <= 9
    FIELD("tstate.use_tracing", PyThreadState, use_tracing);
    WIDTH("tstate.use_tracing.width", PyThreadState, use_tracing);
#elif PY_MINOR_VERSION == 10
    FIELD("tstate.cframe", PyThreadState, cframe);
    FIELD("cframe.use_tracing", CFrame, use_tracing);
    WIDTH("cframe.use_tracing.width", CFrame, use_tracing);
#elif PY_MINOR_VERSION == 11
    FIELD("cframe.use_tracing", _PyCFrame, use_tracing);
    WIDTH("cframe.use_tracing.width", _PyCFrame, use_tracing);
    FIELD("frameobject.f_frame", PyFrameObject, f_frame);
#endif

#if PY_MINOR_VERSION <= 10
    FIELD("tstate.frame", PyThreadState, frame);
    FIELD("frame.back", PyFrameObject, f_back);
    FIELD("frame.code", PyFrameObject, f_code);
    FIELD("frame.lasti", PyFrameObject, f_lasti);
    WIDTH("frame.lasti.width", PyFrameObject, f_lasti);
#else
#if PY_MINOR_VERSION <= 12
    FIELD("tstate.cframe", PyThreadState, cframe);
    FIELD("cframe.current_frame", _PyCFrame, current_frame);
    FIELD("frame.code", _PyInterpreterFrame, f_code);
    FIELD("frame.instr", _PyInterpreterFrame, prev_instr);
#else
    FIELD("tstate.current_frame", PyThreadState, current_frame);
    FIELD("frame.code", _PyInterpreterFrame, f_executable);
    FIELD("frame.instr", _PyInterpreterFrame, instr_ptr);
#endif
    FIELD("frame.back", _PyInterpreterFrame, previous);
    FIELD("frame.owner", _PyInterpreterFrame, owner);
    WIDTH("frame.owner.width", _PyInterpreterFrame, owner);
#if PY_MINOR_VERSION == 11
    FIELD("frame.is_entry", _PyInterpreterFrame, is_entry);
    WIDTH("frame.is_entry.width", _PyInterpreterFrame, is_entry);
#endif
    printf("owner.generator %d\n", (int)FRAME_OWNED_BY_GENERATOR);
#if PY_MINOR_VERSION >= 12
    printf("owner.cstack %d\n", (int)FRAME_OWNED_BY_CSTACK);
#endif
    FIELD("code.firsttraceable", PyCodeObject, _co_firsttraceable);
    WIDTH("code.firsttraceable.width", PyCodeObject, _co_firsttraceable);
    FIELD("code.code", PyCodeObject, co_code_adaptive);
#endif
#if PY_MINOR_VERSION >= 10
    printf("codeunit.width %zu\n", sizeof(_Py_CODEUNIT));
#endif

    FIELD("code.firstlineno", PyCodeObject, co_firstlineno);
    WIDTH("code.firstlineno.width", PyCodeObject, co_firstlineno);
    FIELD("code.filename", PyCodeObject, co_filename);
    FIELD("code.name", PyCodeObject, co_name);

    FIELD("str.length", PyASCIIObject, length);
    WIDTH("str.length.width", PyASCIIObject, length);
    FIELD("str.state", PyASCIIObject, state);
    printf("str.ascii_size %zu\n", sizeof(PyASCIIObject));
    printf("str.compact_size %zu\n", sizeof(PyCompactUnicodeObject));
    STATE_BITS("str.kind", kind, 7);
    STATE_BITS("str.compact", compact, 1);
    STATE_BITS("str.ascii", ascii, 1);
    return 0;
}
