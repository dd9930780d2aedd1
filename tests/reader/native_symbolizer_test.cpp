// NativeSymbolizer and HybridStackBuilder on captures whose "tracked process" is this test
// binary itself: its own functions, with its own debug info, stand for the native frames
// (including a fake evaluation-loop function that the hybrid merge must replace).
#include "memray/reader/hybrid_stack.h"
#include "memray/reader/native_symbolizer.h"

#include "capture_fixture.h"
#include "this_program.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <string>
#include <vector>

extern "C" {
__attribute__((noinline, used)) void memray_test_native_leaf()
{
    __asm__ volatile("" ::: "memory");
}
__attribute__((noinline, used)) void memray_test_c_function()
{
    __asm__ volatile("" ::: "memory");
}
__attribute__((noinline, used)) void memray_test_start()
{
    __asm__ volatile("" ::: "memory");
}
// Named like CPython's evaluation loop, which is how hybrid stacks recognise it.
__attribute__((noinline, used)) void _PyEval_EvalFrameDefault_fake()
{
    __asm__ volatile("" ::: "memory");
}
}

namespace memray_test {
struct Widget
{
    __attribute__((noinline)) static void grow(int) { __asm__ volatile("" ::: "memory"); }
};
}  // namespace memray_test

namespace memray::reader {
namespace {

using testing::addThisProgram;
using testing::CaptureFile;
using testing::testMetadata;

// A return address "inside" a function: the symbolizer looks one byte before it.
uint64_t returnAddressIn(void (*function)())
{
    return reinterpret_cast<uint64_t>(function) + 1;
}

bool endsWith(std::string_view text, std::string_view suffix)
{
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

TEST(NativeSymbolizer, FunctionFileAndLineFromDwarfThenFallbacks)
{
    const uint64_t widget = reinterpret_cast<uint64_t>(&memray_test::Widget::grow) + 1;
    CaptureFile capture(
            [&](synth::CaptureBuilder& b) {
                addThisProgram(b);
                b.nativeFrame(0, returnAddressIn(&memray_test_native_leaf));  // 1
                b.nativeFrame(0, widget);                                     // 2
                b.nativeFrame(0, 0x10);                                       // 3: no object maps it
                // An object that is no longer on disk.
                b.imageMap(1);
                b.image("/nonexistent/libgone.so", 0x7e0000000000ull, "");
                b.imageSegment(0, 0x10000);
                b.nativeFrame(0, 0x7e0000000123ull);  // 4
                // The program "rebuilt" since: another build id.
                addThisProgram(b, "not this build");
                b.nativeFrame(0, returnAddressIn(&memray_test_native_leaf));  // 5
            },
            testMetadata(format::kOptionNativeTraces));
    CaptureReader reader(capture.path());
    reader.skipToEnd();
    NativeSymbolizer symbolizer(reader);

    const auto& leaf = symbolizer.frames(1);
    ASSERT_EQ(leaf.size(), 1u);
    EXPECT_EQ(leaf[0].function, "memray_test_native_leaf");
    EXPECT_TRUE(endsWith(leaf[0].file, "native_symbolizer_test.cpp")) << leaf[0].file;
    EXPECT_GT(leaf[0].line, 0u);
    EXPECT_FALSE(leaf[0].inlined);

    const auto& method = symbolizer.frames(2);
    ASSERT_FALSE(method.empty());
    EXPECT_NE(method.back().function.find("memray_test::Widget::grow"), std::string_view::npos)
            << "demangled: " << method.back().function;

    EXPECT_EQ(symbolizer.frames(3).at(0).function, "0x10");
    EXPECT_EQ(symbolizer.frames(4).at(0).function, "libgone.so+0x123");
    EXPECT_EQ(symbolizer.frames(4).at(0).file, "");
    const auto& rebuilt = symbolizer.frames(5);
    ASSERT_EQ(rebuilt.size(), 1u);
    EXPECT_NE(rebuilt[0].function.find("+0x"), std::string_view::npos) << rebuilt[0].function;
    EXPECT_TRUE(symbolizer.frames(6).empty()) << "an undefined id";
}

// Python stacks: <module> (entered from C) -> f, then cb (entered from C again).
struct PythonStacks
{
    uint64_t module = 0, f = 0, callback = 0;
};

PythonStacks definePythonStacks(synth::CaptureBuilder& b)
{
    PythonStacks stacks;
    const uint64_t module_code = b.code("<module>", "/app/main.py", 1);
    const uint64_t f_code = b.code("f", "/app/main.py", 10);
    const uint64_t cb_code = b.code("cb", "/app/main.py", 20);
    stacks.module = b.stack(0, b.frame(module_code, 5), format::kStackFlagEntry);
    stacks.f = b.stack(stacks.module, b.frame(f_code, 12));
    stacks.callback = b.stack(stacks.f, b.frame(cb_code, 22), format::kStackFlagEntry);
    return stacks;
}

// A native stack of these functions, outermost first; returns its innermost node.
uint64_t nativeChain(synth::CaptureBuilder& b, std::initializer_list<void (*)()> functions)
{
    uint64_t node = 0;
    for (auto function : functions) {
        node = b.nativeFrame(node, returnAddressIn(function));
    }
    return node;
}

std::vector<std::string> describe(const std::vector<HybridFrame>& frames)
{
    std::vector<std::string> out;
    for (const HybridFrame& frame : frames) {
        out.push_back((frame.native ? "N " : "P ") + std::string(frame.function));
    }
    return out;
}

TEST(HybridStack, EvalFramesBecomeThePythonFramesTheyRanInOrder)
{
    PythonStacks python;
    uint64_t native = 0;
    CaptureFile capture(
            [&](synth::CaptureBuilder& b) {
                addThisProgram(b);
                python = definePythonStacks(b);
                native = nativeChain(b, {&memray_test_start, &_PyEval_EvalFrameDefault_fake, &memray_test_c_function,
                                         &_PyEval_EvalFrameDefault_fake, &memray_test_native_leaf});
            },
            testMetadata(format::kOptionNativeTraces));
    CaptureReader reader(capture.path());
    reader.skipToEnd();
    NativeSymbolizer symbolizer(reader);

    HybridStackBuilder builder(reader, symbolizer);
    EXPECT_EQ(describe(builder.build(python.callback, native)),
              (std::vector<std::string>{"P <module>", "P f", "N memray_test_c_function", "P cb",
                                        "N memray_test_native_leaf"}))
            << "start-up frames above the outermost Python frame are dropped";

    HybridStackBuilder everything(reader, symbolizer, HybridOptions{true});
    EXPECT_EQ(describe(everything.build(python.callback, native)),
              (std::vector<std::string>{"N memray_test_start", "P <module>", "P f", "N memray_test_c_function",
                                        "P cb", "N memray_test_native_leaf"}));

    // Without a native stack: the Python stack alone.
    EXPECT_EQ(describe(builder.build(python.f, 0)), (std::vector<std::string>{"P <module>", "P f"}));
}

TEST(HybridStack, UnpairedFramesDegradeAtTheOuterEnd)
{
    PythonStacks python;
    uint64_t two_evals = 0, no_eval = 0;
    CaptureFile capture(
            [&](synth::CaptureBuilder& b) {
                addThisProgram(b);
                python = definePythonStacks(b);
                // Two eval frames for one Python run: the outer one ran frames the capture hid.
                two_evals = nativeChain(b, {&_PyEval_EvalFrameDefault_fake, &_PyEval_EvalFrameDefault_fake,
                                            &memray_test_native_leaf});
                // No eval frame at all (an interpreter without symbols, say).
                no_eval = nativeChain(b, {&memray_test_c_function, &memray_test_native_leaf});
            },
            testMetadata(format::kOptionNativeTraces));
    CaptureReader reader(capture.path());
    reader.skipToEnd();
    NativeSymbolizer symbolizer(reader);
    HybridStackBuilder builder(reader, symbolizer);

    EXPECT_EQ(describe(builder.build(python.f, two_evals)),
              (std::vector<std::string>{"P <module>", "P f", "N memray_test_native_leaf"}));
    EXPECT_EQ(describe(builder.build(python.callback, no_eval)),
              (std::vector<std::string>{"P <module>", "P f", "P cb", "N memray_test_c_function",
                                        "N memray_test_native_leaf"}));
}

}  // namespace
}  // namespace memray::reader
