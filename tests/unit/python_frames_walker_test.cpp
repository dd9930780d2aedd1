// The frame walker's logic against hand-built fake interpreter state.
//
// The integration test runs the walker in real interpreters, but a Python program cannot stop
// inside a frame's prologue (3.11+ incomplete frames), resume a generator half-way through its
// prologue, or make 3.13 run a frame whose f_executable is not code. Here the thread state,
// frames, code and str objects are plain zeroed buffers laid out with the payload's own offset
// tables (which tests/unit/python_frames_layout_test checks against the real headers), and the
// "C API" is a set of fakes, so every branch can be driven. PyCode_Addr2Line's fake returns the
// byte offset it is given, which makes the offsets visible.
#include "python_frames.h"
#include "python_layouts.h"

#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <string>
#include <vector>

namespace {

using namespace memray::payload;

const char* g_version = "";
void* g_tstate = nullptr;
alignas(16) unsigned char g_code_type[64];   // stands in for PyCode_Type
alignas(16) unsigned char g_other_type[64];  // any other type (None's, a shim's, ...)

const char* fakeVersion() { return g_version; }
int fakeInitialized() { return 1; }
void* fakeThisThreadState() { return g_tstate; }
int fakeEnsure() { return 0; }
void fakeRelease(int) {}
int fakeAddr2Line(void*, int byte_offset) { return byte_offset; }

PythonApi fakeApi()
{
    PythonApi api;
    api.Py_GetVersion = fakeVersion;
    api.Py_IsInitialized = fakeInitialized;
    api.PyGILState_GetThisThreadState = fakeThisThreadState;
    api.PyGILState_Ensure = fakeEnsure;
    api.PyGILState_Release = fakeRelease;
    api.PyCode_Addr2Line = fakeAddr2Line;
    api.PyCode_Type = g_code_type;
    return api;
}

// Zeroed, suitably aligned memory for fake objects, owned by the fixture.
class Heap
{
  public:
    char* alloc(size_t size)
    {
        blocks_.emplace_back((size + 15) / 16 + 1);
        return reinterpret_cast<char*>(blocks_.back().data());
    }

  private:
    struct alignas(16) Chunk
    {
        unsigned char bytes[16] = {};
    };
    std::deque<std::vector<Chunk>> blocks_;
};

template<typename T>
void put(void* object, int16_t offset, T value)
{
    ASSERT_NE(offset, kAbsent);
    std::memcpy(static_cast<char*>(object) + offset, &value, sizeof(value));
}

class PythonFramesWalkerTest : public ::testing::Test
{
  protected:
    void TearDown() override { g_tstate = nullptr; }

    // Initialises the walker as CPython 3.<minor>.
    void become(int minor)
    {
        version_ = "3." + std::to_string(minor) + ".0 (main) [fake]";
        g_version = version_.c_str();
        layout_ = findPythonLayout(3, minor);
        ASSERT_NE(layout_, nullptr);
        api_ = fakeApi();
        std::string error;
        ASSERT_TRUE(walker_.init(api_, &error)) << error;
    }

    // A compact str of `kind` (1, 2 or 4) holding `units`; ascii marks pure-ASCII strings.
    void* str(const std::vector<uint32_t>& units, int kind, bool ascii, bool compact = true)
    {
        const int16_t header = ascii ? layout_->str_ascii_size : layout_->str_compact_size;
        char* object = heap_.alloc(static_cast<size_t>(header) + (units.size() + 1) * static_cast<size_t>(kind));
        uint32_t state = (static_cast<uint32_t>(kind) << layout_->str_kind_shift)
                         | (uint32_t{compact} << layout_->str_compact_shift)
                         | (uint32_t{ascii} << layout_->str_ascii_shift);
        put(object, layout_->str_state, state);
        put<StrLength>(object, layout_->str_length, static_cast<StrLength>(units.size()));
        for (size_t i = 0; i < units.size(); ++i) {
            char* at = object + header + i * static_cast<size_t>(kind);
            if (kind == 1) {
                *at = static_cast<char>(units[i]);
            } else if (kind == 2) {
                const auto unit = static_cast<uint16_t>(units[i]);
                std::memcpy(at, &unit, sizeof(unit));
            } else {
                std::memcpy(at, &units[i], sizeof(units[i]));
            }
        }
        return object;
    }

    void* ascii(const std::string& text)
    {
        return str(std::vector<uint32_t>(text.begin(), text.end()), 1, true);
    }

    // A code object; from 3.11 on with `first_traceable` and 64 code units of bytecode.
    void* code(const std::string& name, int first_line = 1, int first_traceable = 0)
    {
        const int16_t end = layout_->code_code != kAbsent ? layout_->code_code : layout_->code_name;
        char* object = heap_.alloc(static_cast<size_t>(end) + 8 + 64 * 2);
        put<const void*>(object, layout_->object_type, g_code_type);
        put<const void*>(object, layout_->code_name, ascii(name));
        put<const void*>(object, layout_->code_filename, ascii(name + ".py"));
        put<CodeInt>(object, layout_->code_firstlineno, first_line);
        if (layout_->code_firsttraceable != kAbsent) {
            put<CodeInt>(object, layout_->code_firsttraceable, first_traceable);
        }
        return object;
    }

    // Address of code unit `index` of a 3.11+ code object's bytecode (may be -1).
    // (Computed as an integer: for the fake non-code objects it lies outside their buffer.)
    const void* instr(void* code_object, int index) const
    {
        const auto base = reinterpret_cast<intptr_t>(code_object) + layout_->code_code;
        return reinterpret_cast<const void*>(base + index * layout_->position_scale);
    }

    // Builds the thread state and frame chain for `frames`, innermost first.
    struct Frame
    {
        void* code;
        int position;  // f_lasti (3.7-3.10) or code-unit index of the instruction (3.11+)
        int owner = 0;
    };
    void thread(const std::vector<Frame>& frames)
    {
        const bool interpreter_frames = layout_->model != FrameModel::FrameObject;
        char* outer = nullptr;
        for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
            char* frame = heap_.alloc(128);
            put<const void*>(frame, layout_->frame_back, outer);
            put<const void*>(frame, layout_->frame_code, it->code);
            if (interpreter_frames) {
                put<const void*>(frame, layout_->frame_instr, instr(it->code, it->position));
                put<OwnerByte>(frame, layout_->frame_owner, static_cast<OwnerByte>(it->owner));
            } else {
                put<LastiInt>(frame, layout_->frame_lasti, it->position);
            }
            outer = frame;
        }
        char* tstate = heap_.alloc(256);
        if (layout_->model == FrameModel::FrameObject) {
            put<const void*>(tstate, layout_->tstate_frame, outer);
        } else if (layout_->model == FrameModel::CFrame) {
            char* cframe = heap_.alloc(32);
            put<const void*>(cframe, layout_->cframe_current_frame, outer);
            put<const void*>(tstate, layout_->tstate_cframe, cframe);
        } else {
            put<const void*>(tstate, layout_->tstate_current_frame, outer);
        }
        g_tstate = tstate;
    }

    // The walk rendered as "name@offset" items, innermost first.
    std::vector<std::string> walk(size_t capacity = 64, const void* stop_code = nullptr)
    {
        std::vector<RawFrame> frames(capacity == 0 ? 1 : capacity);
        const size_t count = walker_.walkCurrentThread(frames.data(), capacity, stop_code);
        std::vector<std::string> out;
        CodeText text;
        for (size_t i = 0; i < count; ++i) {
            walker_.readCode(frames[i].code, &text);
            out.push_back(text.name + "@" + std::to_string(walker_.lineNumber(frames[i])));
        }
        return out;
    }

    std::string nameOf(void* name_object)
    {
        void* c = code("placeholder");
        put<const void*>(c, layout_->code_name, name_object);
        CodeText text;
        walker_.readCode(c, &text);
        return text.name;
    }

    using Names = std::vector<std::string>;

    Heap heap_;
    std::string version_;
    const PythonLayout* layout_ = nullptr;
    PythonApi api_;
    PythonFrameWalker walker_;
};

TEST(PythonFramesApiTest, OutsidePythonNamesTheMissingSymbol)
{
    PythonApi api;
    std::string error;
    EXPECT_FALSE(resolvePythonApi(&api, &error));
    EXPECT_EQ(error, "not a Python process: symbol Py_GetVersion not found");
}

TEST(PythonFramesVersionTest, AcceptsOnly38To313)
{
    PythonApi api = fakeApi();
    const struct
    {
        const char* version;
        int minor;  // 0: rejected
        const char* error;
    } cases[] = {
        {"3.8.18 (default, Jan 1 2024, 00:00:00) \n[GCC 12.2.0]", 8, ""},
        {"3.11.2 (main, Apr 28 2025, 14:11:48) [GCC 12.2.0]", 11, ""},
        {"3.13.0 (main) [GCC]", 13, ""},
        {"3.7.16 (default) [GCC]", 7, ""},
        {"3.6.15 (default) [GCC]", 0, "unsupported Python version 3.6 (supported: 3.7 to 3.13)"},
        {"3.14.0 (main) [GCC]", 0, "unsupported Python version 3.14 (supported: 3.7 to 3.13)"},
        {"2.7.18 (default) [GCC]", 0, "unsupported Python version 2.7 (supported: 3.7 to 3.13)"},
        {"3.13.0 experimental free-threading build (main) [GCC]", 0,
         "unsupported Python build: free-threaded CPython (3.13t) has other object layouts"},
        {"three", 0, "cannot parse Python version \"three\""},
    };
    for (const auto& c : cases) {
        g_version = c.version;
        PythonFrameWalker walker;
        std::string error;
        EXPECT_EQ(walker.init(api, &error), c.minor != 0) << c.version;
        EXPECT_EQ(error, c.error) << c.version;
        if (c.minor != 0) {
            EXPECT_EQ(walker.pythonMinor(), c.minor);
        }
    }
}

TEST_F(PythonFramesWalkerTest, NoThreadStateMeansNoFrames)
{
    become(12);
    g_tstate = nullptr;
    EXPECT_EQ(walk(), Names{});
    EXPECT_EQ(walker_.currentCode(), nullptr);
}

TEST_F(PythonFramesWalkerTest, Python37And38CountBytesAndMapUnstartedFramesToMinusOne)
{
    for (int minor : {7, 8}) {
        SCOPED_TRACE(minor);
        become(minor);
        thread({{code("inner"), 10}, {code("entered"), -1}, {code("outer"), 0}});
        EXPECT_EQ(walk(), (Names{"inner@10", "entered@-1", "outer@0"}));
    }
}

TEST_F(PythonFramesWalkerTest, Python310CountsCodeUnits)
{
    become(10);
    thread({{code("inner"), 10}, {code("entered"), -1}, {code("outer"), 3}});
    EXPECT_EQ(walk(), (Names{"inner@20", "entered@-1", "outer@6"}));
}

TEST_F(PythonFramesWalkerTest, Python311SkipsIncompleteFramesButNotGenerators)
{
    become(11);
    const int kGenerator = layout_->owned_by_generator;
    thread({
        {code("prologue", 1, 4), 3},                  // before its first traceable instruction
        {code("running", 1, 4), 4},                   // at it
        {code("generator", 1, 4), -1, kGenerator},    // exempt, as in _PyFrame_IsIncomplete
        {code("fresh", 1, 0), -1},                    // prev_instr = _PyCode_CODE - 1
        {code("outer", 1, 0), 7},
    });
    EXPECT_EQ(walk(), (Names{"running@8", "generator@-1", "outer@14"}));
}

TEST_F(PythonFramesWalkerTest, Python312SkipsCStackEntryFrames)
{
    become(12);
    const int kCStack = layout_->owned_by_cstack;
    thread({
        {code("callback"), 2},
        {code("<interpreter trampoline>"), 0, kCStack},
        {code("caller"), 5},
        {code("<interpreter trampoline>"), 0, kCStack},
    });
    EXPECT_EQ(walk(), (Names{"callback@4", "caller@10"}));
}

TEST_F(PythonFramesWalkerTest, Python313SkipsNonCodeExecutablesAndShims)
{
    become(13);
    void* none = heap_.alloc(64);
    put<const void*>(none, layout_->object_type, g_other_type);
    void* init_shim = code("__init__", 1, 4);  // _Py_InitCleanup: parked at index 0 of 4
    thread({
        {code("__init__"), 6},
        {init_shim, 0},
        {code("caller"), 1},
        {none, 0, layout_->owned_by_generator},  // not code: never dereferenced as code
        {code("outer"), 0},
        {none, 0, layout_->owned_by_cstack},
    });
    EXPECT_EQ(walk(), (Names{"__init__@12", "caller@2", "outer@0"}));
}

TEST_F(PythonFramesWalkerTest, TellsGeneratorFramesFromTheOthersFrom311AndNeverBefore)
{
    // Generator and coroutine frames never anchor a partial walk (exit_watched_codes.h): the
    // frame's owner says which they are.
    for (int minor : {10, 11, 12, 13}) {
        become(minor);
        const int generator = minor >= 11 ? layout_->owned_by_generator : 0;
        thread({{code("plain", 1, 0), 2}, {code("generator", 1, 0), 3, generator}, {code("outer", 1, 0), 1}});
        std::vector<RawFrame> frames(8);
        ASSERT_EQ(walker_.walkCurrentThread(frames.data(), frames.size(), nullptr), 3u) << minor;
        EXPECT_FALSE(walker_.frameOwnedByGenerator(frames[0].frame)) << minor;
        EXPECT_EQ(walker_.frameOwnedByGenerator(frames[1].frame), minor >= 11) << minor;
        EXPECT_FALSE(walker_.frameOwnedByGenerator(frames[2].frame)) << minor;
    }
}

TEST_F(PythonFramesWalkerTest, StopsBeforeStopCodeAndAfterCapacity)
{
    for (int minor : {9, 12, 13}) {
        SCOPED_TRACE(minor);
        become(minor);
        void* marked = code("marked");
        thread({{code("a"), 1}, {code("b"), 1}, {marked, 1}, {code("c"), 1}});
        const std::string one = minor == 9 ? "@1" : "@2";
        EXPECT_EQ(walk(64, marked), (Names{"a" + one, "b" + one}));
        EXPECT_EQ(walk(3), (Names{"a" + one, "b" + one, "marked" + one}));
        EXPECT_EQ(walk(0), Names{});
    }
}

TEST_F(PythonFramesWalkerTest, CurrentCodeIsTheInnermostCompleteFrame)
{
    become(12);
    void* running = code("running", 1, 0);
    thread({{code("prologue", 1, 4), 0}, {running, 2}});
    EXPECT_EQ(walker_.currentCode(), running);
}

TEST_F(PythonFramesWalkerTest, ReadsCodeText)
{
    for (int minor : {7, 8, 11, 12, 13}) {  // 3.7's code object is 8 bytes shorter before co_filename
        SCOPED_TRACE(minor);
        become(minor);
        CodeText text;
        walker_.readCode(code("compute", 42), &text);
        EXPECT_EQ(text.name, "compute");
        EXPECT_EQ(text.filename, "compute.py");
        EXPECT_EQ(text.first_line, 42);
    }
}

TEST_F(PythonFramesWalkerTest, DecodesEveryCompactKindToUtf8)
{
    for (int minor : {8, 12}) {  // with and without the wstr fields
        SCOPED_TRACE(minor);
        become(minor);
        EXPECT_EQ(nameOf(ascii("")), "");
        EXPECT_EQ(nameOf(str({'g', 'r', 0xF6, 0xDF, 'e'}, 1, false)), "gr\xC3\xB6\xC3\x9F" "e");
        EXPECT_EQ(nameOf(str({0x51FD, 0x6570, 0x7FF, 0x800}, 2, false)), "\xE5\x87\xBD\xE6\x95\xB0\xDF\xBF\xE0\xA0\x80");
        EXPECT_EQ(nameOf(str({0x20000, 'x', 0x10FFFF}, 4, false)), "\xF0\xA0\x80\x80x\xF4\x8F\xBF\xBF");
        // Lone surrogates are legal in str, not in UTF-8.
        EXPECT_EQ(nameOf(str({'a', 0xDCFF, 'b'}, 2, false)), "a\xEF\xBF\xBD" "b");
        EXPECT_EQ(nameOf(str({0xD800}, 4, false)), "\xEF\xBF\xBD");
    }
}

TEST_F(PythonFramesWalkerTest, UndecodableStringsReadAsQuestionMarks)
{
    become(11);
    EXPECT_EQ(nameOf(nullptr), "???");
    EXPECT_EQ(nameOf(str({'l', 'e', 'g'}, 1, true, /*compact=*/false)), "???");  // legacy str
    EXPECT_EQ(nameOf(str({'x'}, 3, false)), "???");                                 // no such kind
    void* huge = ascii("x");
    put<StrLength>(huge, layout_->str_length, StrLength{1} << 40);
    EXPECT_EQ(nameOf(huge), "???");
}

}  // namespace
