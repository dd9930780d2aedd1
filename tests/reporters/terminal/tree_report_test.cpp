// `memray tree`'s text, exactly, for call trees built by hand.
#include "memray/reporters/tree_report.h"

#include "call_tree_builder.h"

#include <gtest/gtest.h>

namespace memray::reporters {
namespace {

using testing::CallTreeBuilder;

constexpr uint64_t kMiB = 1024 * 1024;
constexpr testing::FrameFlags kImport{true, false};
constexpr testing::FrameFlags kStartUp{false, true};

// <module> calls main, which calls a (10 MiB) and b (5 MiB).
reader::CallTree twoBranches()
{
    CallTreeBuilder b;
    const uint32_t module = b.add(CallTreeBuilder::kRoot, "<module>", "/app/job.py", 20);
    const uint32_t main = b.add(module, "main", "/app/job.py", 17);
    b.add(main, "b", "/app/job.py", 9, 5 * kMiB, 1);
    b.add(main, "a", "/app/job.py", 5, 10 * kMiB, 1);
    return b.build();
}

TEST(TreeReport, LinearCallsAreListedUnderTheirFirstFrame)
{
    EXPECT_EQ(renderTree(twoBranches(), {}, {}),
              "📂 15.729MB (100.00%) <root>\n"
              "└── 📂 15.729MB (100.00%) <module>  /app/job.py:20\n"
              "    ↳ main  /app/job.py:17\n"
              "    ├── 📄 10.486MB (66.67%) a  /app/job.py:5\n"
              "    └── 📄 5.243MB (33.33%) b  /app/job.py:9\n");
}

TEST(TreeReport, ElidedLocationsAreTheRootsLastChild)
{
    EXPECT_EQ(renderTree(twoBranches(), ElidedLocations{3, 5 * kMiB}, {}),
              "📂 20.972MB (100.00%) <root>\n"
              "├── 📂 15.729MB (75.00%) <module>  /app/job.py:20\n"
              "│   ↳ main  /app/job.py:17\n"
              "│   ├── 📄 10.486MB (50.00%) a  /app/job.py:5\n"
              "│   └── 📄 5.243MB (25.00%) b  /app/job.py:9\n"
              "└── … 3 more locations, 5.243MB (25.00%), not shown (see -b/--biggest-allocs)\n");
    EXPECT_NE(renderTree(twoBranches(), ElidedLocations{1, 7}, {}).find("└── … 1 more location, 7.000B (0.00%)"),
              std::string::npos);
}

TEST(TreeReport, NestedBranchesGetGuides)
{
    CallTreeBuilder b;
    const uint32_t module = b.add(CallTreeBuilder::kRoot, "<module>", "/app/job.py", 30, 100, 1);
    const uint32_t left = b.add(module, "left", "/app/job.py", 10);
    b.add(left, "x", "/app/job.py", 2, 300, 3);
    b.add(left, "y", "/app/job.py", 3, 200, 2);
    const uint32_t right = b.add(module, "right", "/app/job.py", 20);
    b.add(right, "z", "/app/job.py", 4, 250, 1);
    b.add(right, "w", "/app/job.py", 5, 150, 1);
    EXPECT_EQ(renderTree(b.build(), {}, {}),
              "📂 1.000kB (100.00%) <root>\n"
              "└── 📂 1.000kB (100.00%) <module>  /app/job.py:30 (own 100.000B)\n"
              "    ├── 📂 500.000B (50.00%) left  /app/job.py:10\n"
              "    │   ├── 📄 300.000B (30.00%) x  /app/job.py:2\n"
              "    │   └── 📄 200.000B (20.00%) y  /app/job.py:3\n"
              "    └── 📂 400.000B (40.00%) right  /app/job.py:20\n"
              "        ├── 📄 250.000B (25.00%) z  /app/job.py:4\n"
              "        └── 📄 150.000B (15.00%) w  /app/job.py:5\n");
}

// `import lib` at line 1 runs lib's body through importlib's frames.
reader::CallTree importedModule()
{
    CallTreeBuilder b;
    const uint32_t module = b.add(CallTreeBuilder::kRoot, "<module>", "/app/main.py", 1);
    const uint32_t find = b.add(module, "_find_and_load", "<frozen importlib._bootstrap>", 1027, 0, 0, kImport);
    const uint32_t exec = b.add(find, "exec_module", "<frozen importlib._bootstrap_external>", 940, 64, 1, kImport);
    b.add(exec, "<module>", "/app/lib.py", 3, 1000, 1);
    const uint32_t other = b.add(CallTreeBuilder::kRoot, "<module>", "/app/main.py", 2);
    b.add(other, "work", "/app/main.py", 8, 500, 1);
    return b.build();
}

TEST(TreeReport, ImportSystemFramesAreFoldedIntoTheirCaller)
{
    EXPECT_EQ(renderTree(importedModule(), {}, {}),
              "📂 1.564kB (100.00%) <root>\n"
              "├── 📂 1.064kB (68.03%) <module>  /app/main.py:1 (own 64.000B)\n"
              "│   └── 📄 1.000kB (63.94%) <module>  /app/lib.py:3\n"
              "└── 📂 500.000B (31.97%) <module>  /app/main.py:2\n"
              "    ↳ work  /app/main.py:8\n"
              "2 frames of the import system, of start-up, of the interpreter's machinery or inside call chains not shown (--show-all-frames shows them)\n");
}

TEST(TreeReport, ShowAllFramesShowsTheImportSystem)
{
    EXPECT_EQ(renderTree(importedModule(), {}, TreeReportOptions{true, false}),
              "📂 1.564kB (100.00%) <root>\n"
              "├── 📂 1.064kB (68.03%) <module>  /app/main.py:1\n"
              "│   ↳ _find_and_load  <frozen importlib._bootstrap>:1027\n"
              "│   ↳ exec_module  <frozen importlib._bootstrap_external>:940 (own 64.000B)\n"
              "│   └── 📄 1.000kB (63.94%) <module>  /app/lib.py:3\n"
              "└── 📂 500.000B (31.97%) <module>  /app/main.py:2\n"
              "    ↳ work  /app/main.py:8\n");
}

TEST(TreeReport, CalleesOfAHiddenFrameMergeWithTheSameCalleeOfItsCaller)
{
    // `python -m app`: runpy's frames run app's body, which appears once whichever way it is reached.
    CallTreeBuilder b;
    const uint32_t runpy = b.add(CallTreeBuilder::kRoot, "_run_code", "<frozen runpy>", 88, 0, 0, kStartUp);
    const uint32_t hidden_path = b.add(runpy, "<module>", "/app/__main__.py", 4);
    b.add(hidden_path, "build", "/app/__main__.py", 1, 300, 1);
    const uint32_t direct = b.add(CallTreeBuilder::kRoot, "<module>", "/app/__main__.py", 4);
    b.add(direct, "build", "/app/__main__.py", 1, 100, 1);
    b.add(direct, "other", "/app/__main__.py", 2, 200, 1);
    EXPECT_EQ(renderTree(b.build(), {}, {}),
              "📂 600.000B (100.00%) <root>\n"
              "└── 📂 600.000B (100.00%) <module>  /app/__main__.py:4\n"
              "    ├── 📄 400.000B (66.67%) build  /app/__main__.py:1\n"
              "    └── 📄 200.000B (33.33%) other  /app/__main__.py:2\n"
              "1 frame of the import system, of start-up, of the interpreter's machinery or inside call chains not shown (--show-all-frames shows them)\n");
}

reader::CallTree chainOf(size_t length)
{
    CallTreeBuilder b;
    uint32_t node = CallTreeBuilder::kRoot;
    for (size_t i = 0; i < length; ++i) {
        node = b.add(node, "f" + std::to_string(i), "/app/deep.py", i + 1, i + 1 == length ? 42 : 0, i + 1 == length);
    }
    return b.build();
}

TEST(TreeReport, LongChainsShowTheirEnds)
{
    EXPECT_EQ(renderTree(chainOf(10), {}, {}),
              "📂 42.000B (100.00%) <root>\n"
              "└── 📂 42.000B (100.00%) f0  /app/deep.py:1\n"
              "    ↳ f1  /app/deep.py:2\n"
              "    ↳ f2  /app/deep.py:3\n"
              "    ⋮ 5 more calls\n"
              "    ↳ f8  /app/deep.py:9\n"
              "    ↳ f9  /app/deep.py:10\n"
              "5 frames of the import system, of start-up, of the interpreter's machinery or inside call chains not shown (--show-all-frames shows them)\n");
    // Six calls after the first frame still fit.
    EXPECT_EQ(renderTree(chainOf(7), {}, {}).find("more calls"), std::string::npos);
    const std::string all = renderTree(chainOf(10), {}, TreeReportOptions{true, false});
    EXPECT_NE(all.find("    ↳ f5  /app/deep.py:6\n"), std::string::npos) << all;
    EXPECT_EQ(all.find("not shown"), std::string::npos) << all;
}

constexpr testing::FrameFlags kNative{false, false, true};
constexpr testing::FrameFlags kUnnamed{false, false, true, true};
constexpr testing::FrameFlags kUnnamedInterpreter{false, false, true, true, true};

TEST(TreeReport, UnnamedInterpreterFramesAreHiddenUnlessAllFramesAreShown)
{
    // A stripped static interpreter: its unnamed helpers sit between two Python frames and
    // between the inner one and the allocator.
    CallTreeBuilder b;
    const uint32_t module = b.add(CallTreeBuilder::kRoot, "<module>", "/app/main.py", 3);
    const uint32_t helper = b.add(module, "python3.11+0x1a2b3c", "", 0, 0, 0, kUnnamedInterpreter);
    const uint32_t work = b.add(helper, "work", "/app/main.py", 9, 0, 0);
    const uint32_t inner = b.add(work, "python3.11+0x4d5e6f", "", 0, 0, 0, kUnnamedInterpreter);
    b.add(inner, "PyList_Append", "", 0, 64, 1, kNative);
    EXPECT_EQ(renderTree(b.build(), {}, {}),
              "📂 64.000B (100.00%) <root>\n"
              "└── 📂 64.000B (100.00%) <module>  /app/main.py:3\n"
              "    ↳ work  /app/main.py:9\n"
              "    ↳ [native] PyList_Append\n"
              "2 frames of the import system, of start-up, of the interpreter's machinery or inside call chains not shown (--show-all-frames shows them)\n");
    const std::string all = renderTree(b.build(), {}, TreeReportOptions{true, false});
    EXPECT_NE(all.find("    ↳ [native] python3.11+0x1a2b3c\n    ↳ work"), std::string::npos) << all;
    EXPECT_NE(all.find("    ↳ [native] python3.11+0x4d5e6f\n"), std::string::npos) << all;
}

TEST(TreeReport, FoldingKeepsCFramesWithSourceLocationsAndHidesUnnamedFramesFirst)
{
    // Python -> ctypes -> libffi -> the program's own C function (with debug info) -> libffi ->
    // ctypes -> a Python callback -> malloc'ing C.
    CallTreeBuilder b;
    uint32_t node = b.add(CallTreeBuilder::kRoot, "<module>", "/app/main.py", 12);
    const struct
    {
        const char* function;
        const char* file;
        uint64_t line;
        testing::FrameFlags flags;
    } chain[] = {
            {"caller", "/app/main.py", 7, {}},
            {"_ctypes.so+0x9a10", "", 0, kUnnamed},
            {"_ctypes.so+0xb230", "", 0, kUnnamed},
            {"ffi_call", "", 0, kNative},
            {"libffi.so.8+0x7e3a", "", 0, kUnnamed},
            {"visit_all", "/app/walk.c", 41, kNative},
            {"libffi.so.8+0x6b10", "", 0, kUnnamed},
            {"_ctypes.so+0x5f00", "", 0, kUnnamed},
            {"_ctypes.so+0x6120", "", 0, kUnnamed},
            {"callback", "/app/main.py", 4, {}},
            {"_ctypes.so+0xc000", "", 0, kUnnamed},
            {"make_buffer", "/app/buffer.c", 8, kNative},
    };
    for (size_t i = 0; i < std::size(chain); ++i) {
        const bool last = i + 1 == std::size(chain);
        node = b.add(node, chain[i].function, chain[i].file, chain[i].line, last ? 100 : 0, last ? 1 : 0,
                     chain[i].flags);
    }
    EXPECT_EQ(renderTree(b.build(), {}, {}),
              "📂 100.000B (100.00%) <root>\n"
              "└── 📂 100.000B (100.00%) <module>  /app/main.py:12\n"
              "    ↳ caller  /app/main.py:7\n"
              "    ⋮ 4 more calls\n"
              "    ↳ [native] visit_all  /app/walk.c:41\n"
              "    ⋮ 3 more calls\n"
              "    ↳ callback  /app/main.py:4\n"
              "    ⋮ 1 more call\n"
              "    ↳ [native] make_buffer  /app/buffer.c:8\n"
              "8 frames of the import system, of start-up, of the interpreter's machinery or inside call chains not shown (--show-all-frames shows them)\n");
    // A build of CPython with debug info: ctypes' own frames have source locations too, and give
    // way to the program's C function and its Python callback.
    CallTreeBuilder d;
    constexpr testing::FrameFlags kPythonBuild{false, false, true, false, false, true};
    node = d.add(CallTreeBuilder::kRoot, "<module>", "/app/main.py", 12);
    node = d.add(node, "caller", "/app/main.py", 7);
    for (const char* function : {"PyCFuncPtr_call", "_ctypes_callproc", "_call_function_pointer"}) {
        node = d.add(node, function, "./Modules/_ctypes/_ctypes.c", 100, 0, 0, kPythonBuild);
    }
    node = d.add(node, "visit_all", "/app/walk.c", 41, 0, 0, kNative);
    for (const char* function : {"closure_fcn", "_CallPythonObject"}) {
        node = d.add(node, function, "./Modules/_ctypes/callbacks.c", 200, 0, 0, kPythonBuild);
    }
    node = d.add(node, "callback", "/app/main.py", 4);
    node = d.add(node, "PyCFuncPtr_call", "./Modules/_ctypes/_ctypes.c", 100, 0, 0, kPythonBuild);
    d.add(node, "make_buffer", "/app/buffer.c", 8, 100, 1, kNative);
    EXPECT_EQ(renderTree(d.build(), {}, {}),
              "📂 100.000B (100.00%) <root>\n"
              "└── 📂 100.000B (100.00%) <module>  /app/main.py:12\n"
              "    ↳ caller  /app/main.py:7\n"
              "    ⋮ 3 more calls\n"
              "    ↳ [native] visit_all  /app/walk.c:41\n"
              "    ⋮ 2 more calls\n"
              "    ↳ callback  /app/main.py:4\n"
              "    ⋮ 1 more call\n"
              "    ↳ [native] make_buffer  /app/buffer.c:8\n"
              "6 frames of the import system, of start-up, of the interpreter's machinery or inside call chains not shown (--show-all-frames shows them)\n");

    // With fewer frames that have a source location, named frames come before unnamed ones.
    CallTreeBuilder c;
    node = c.add(CallTreeBuilder::kRoot, "<module>", "/app/main.py", 12);
    for (const char* function : {"libffi.so.8+0x1", "libffi.so.8+0x2", "ffi_call", "libffi.so.8+0x3", "libffi.so.8+0x4",
                                 "libffi.so.8+0x5", "libffi.so.8+0x6"}) {
        node = c.add(node, function, "", 0, 0, 0, function[0] == 'f' ? kNative : kUnnamed);
    }
    c.add(node, "make_buffer", "/app/buffer.c", 8, 100, 1, kNative);
    const std::string folded = renderTree(c.build(), {}, {});
    EXPECT_NE(folded.find("    ↳ [native] ffi_call\n"), std::string::npos) << folded;
    EXPECT_NE(folded.find("    ↳ [native] make_buffer  /app/buffer.c:8\n"), std::string::npos) << folded;
}

TEST(TreeReport, DeepRecursionDoesNotExhaustTheStack)
{
    const std::string text = renderTree(chainOf(5000), {}, {});
    EXPECT_NE(text.find("⋮ 4995 more calls\n"), std::string::npos);
    EXPECT_NE(text.find("↳ f4999  /app/deep.py:5000\n"), std::string::npos);
}

TEST(TreeReport, AllocationsWithoutAPythonStack)
{
    CallTreeBuilder b;
    b.add(CallTreeBuilder::kRoot, std::string(reader::kUnknownFunction), "", 0, 1000, 2);
    EXPECT_EQ(renderTree(b.build(), {}, {}),
              "📂 1.000kB (100.00%) <root>\n"
              "└── 📄 1.000kB (100.00%) <unknown>\n");
}

// A --native capture: Python calls into C (n1 -> n2 -> n3); the C frames carry the marker, with
// their DWARF file and line, or the object+offset name when the object has no debug info.
TEST(TreeReport, NativeFramesAreMarked)
{
    CallTreeBuilder b;
    const uint32_t module = b.add(CallTreeBuilder::kRoot, "<module>", "/app/job.py", 3);
    const uint32_t n1 = b.add(module, "n1", "/src/probe.c", 10, 0, 0, kNative);
    const uint32_t n2 = b.add(n1, "n2", "/src/probe.c", 20, 0, 0, kNative);
    b.add(n2, "n3", "/src/probe.c", 30, 3000, 1, kNative);
    b.add(n2, "libfoo.so+0x1234", "", 0, 1000, 1, kNative);
    EXPECT_EQ(renderTree(b.build(), {}, {}),
              "📂 4.000kB (100.00%) <root>\n"
              "└── 📂 4.000kB (100.00%) <module>  /app/job.py:3\n"
              "    ↳ [native] n1  /src/probe.c:10\n"
              "    ↳ [native] n2  /src/probe.c:20\n"
              "    ├── 📄 3.000kB (75.00%) [native] n3  /src/probe.c:30\n"
              "    └── 📄 1.000kB (25.00%) [native] libfoo.so+0x1234\n");
    // With colour the marker is cyan, the name still bold.
    const std::string text = renderTree(b.build(), {}, TreeReportOptions{false, true});
    EXPECT_NE(text.find("\x1b[36m[native]\x1b[0m \x1b[1mn3\x1b[0m  /src/probe.c:30"), std::string::npos) << text;
}

TEST(TreeReport, EmptyTree)
{
    EXPECT_EQ(renderTree(CallTreeBuilder().build(), {}, {}), "📄 0.000B (0.00%) <root>\n");
}

TEST(TreeReport, ColoursShareAndEmphasiseFunctions)
{
    const std::string text = renderTree(twoBranches(), {}, TreeReportOptions{false, true});
    // 66.67%: red; 33.33%: yellow; function names bold; guides dim.
    EXPECT_NE(text.find("\x1b[2m    ├── \x1b[0m📄 \x1b[31m10.486MB (66.67%)\x1b[0m \x1b[1ma\x1b[0m  /app/job.py:5\n"),
              std::string::npos)
            << text;
    EXPECT_NE(text.find("\x1b[33m5.243MB (33.33%)\x1b[0m"), std::string::npos) << text;
    // Without colour the same text, with no escape at all.
    EXPECT_EQ(renderTree(twoBranches(), {}, {}).find('\x1b'), std::string::npos);
}

}  // namespace
}  // namespace memray::reporters
