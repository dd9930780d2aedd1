// `memray summary`: the figures per function and the table's exact text.
#include "memray/reporters/summary_table.h"

#include "call_tree_builder.h"

#include "memray/reporters/text_layout.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace memray::reporters {
namespace {

using testing::CallTreeBuilder;

const FunctionUsage* find(const std::vector<FunctionUsage>& functions, const std::string& name)
{
    for (const FunctionUsage& usage : functions) {
        if (usage.function == name) {
            return &usage;
        }
    }
    return nullptr;
}

TEST(FunctionSummary, RecursionIsCountedOncePerStack)
{
    // main -> fact(3) -> fact(2) -> fact(1) allocates 100; fact(3) also allocates 50 itself.
    CallTreeBuilder b;
    const uint32_t main = b.add(CallTreeBuilder::kRoot, "main", "/app/r.py", 10);
    const uint32_t outer = b.add(main, "fact", "/app/r.py", 4, 50, 1);
    const uint32_t middle = b.add(outer, "fact", "/app/r.py", 4);
    b.add(middle, "fact", "/app/r.py", 3, 100, 2);
    const std::vector<FunctionUsage> functions = summariseFunctions(b.build());
    ASSERT_EQ(functions.size(), 2u);
    const FunctionUsage* fact = find(functions, "fact");
    ASSERT_NE(fact, nullptr);
    EXPECT_EQ(fact->total_bytes, 150u);
    EXPECT_EQ(fact->own_bytes, 150u);
    EXPECT_EQ(fact->own_count, 3u);
    const FunctionUsage* main_usage = find(functions, "main");
    ASSERT_NE(main_usage, nullptr);
    EXPECT_EQ(main_usage->total_bytes, 150u);
    EXPECT_EQ(main_usage->own_bytes, 0u);
    EXPECT_EQ(main_usage->own_count, 0u);
}

TEST(FunctionSummary, SameNameInAnotherFileIsAnotherFunction)
{
    CallTreeBuilder b;
    const uint32_t run = b.add(CallTreeBuilder::kRoot, "run", "/app/a.py", 1);
    b.add(run, "run", "/app/b.py", 1, 10, 1);
    const std::vector<FunctionUsage> functions = summariseFunctions(b.build());
    ASSERT_EQ(functions.size(), 2u);
    for (const FunctionUsage& usage : functions) {
        EXPECT_EQ(usage.total_bytes, 10u) << usage.file;
        EXPECT_EQ(usage.own_bytes, usage.file == "/app/b.py" ? 10u : 0u) << usage.file;
    }
}

// main calls big (600 B in 1 allocation) and many (300 B in 30); main allocates 100 B in 70.
std::vector<FunctionUsage> threeFunctions()
{
    CallTreeBuilder b;
    const uint32_t main = b.add(CallTreeBuilder::kRoot, "main", "/app/job.py", 3, 100, 70);
    b.add(main, "big", "/app/job.py", 8, 600, 1);
    b.add(main, "many", "/app/job.py", 12, 300, 30);
    return summariseFunctions(b.build());
}

std::vector<std::string> namesSortedBy(SummaryColumn column)
{
    std::vector<FunctionUsage> functions = threeFunctions();
    sortFunctions(functions, column);
    std::vector<std::string> names;
    for (const FunctionUsage& usage : functions) {
        names.push_back(usage.function);
    }
    return names;
}

TEST(FunctionSummary, SortColumns)
{
    using Names = std::vector<std::string>;
    EXPECT_EQ(namesSortedBy(SummaryColumn::TotalMemory), (Names{"main", "big", "many"}));
    EXPECT_EQ(namesSortedBy(SummaryColumn::TotalMemoryPercent), (Names{"main", "big", "many"}));
    EXPECT_EQ(namesSortedBy(SummaryColumn::OwnMemory), (Names{"big", "many", "main"}));
    EXPECT_EQ(namesSortedBy(SummaryColumn::OwnMemoryPercent), (Names{"big", "many", "main"}));
    EXPECT_EQ(namesSortedBy(SummaryColumn::AllocationCount), (Names{"main", "many", "big"}));
}

TEST(SummaryTable, Text)
{
    std::vector<FunctionUsage> functions = threeFunctions();
    sortFunctions(functions, SummaryColumn::TotalMemory);
    EXPECT_EQ(renderSummaryTable(functions, 1000, {}),
              "┌─────────────────────┬────────────────┬────────────────┬────────────┬──────────────┬──────────────────┐\n"
              "│ Location            │ <Total Memory> │ Total Memory % │ Own Memory │ Own Memory % │ Allocation Count │\n"
              "├─────────────────────┼────────────────┼────────────────┼────────────┼──────────────┼──────────────────┤\n"
              "│ main at /app/job.py │        1.000kB │        100.00% │   100.000B │       10.00% │               70 │\n"
              "│ big at /app/job.py  │       600.000B │         60.00% │   600.000B │       60.00% │                1 │\n"
              "│ many at /app/job.py │       300.000B │         30.00% │   300.000B │       30.00% │               30 │\n"
              "└─────────────────────┴────────────────┴────────────────┴────────────┴──────────────┴──────────────────┘\n");
}

TEST(SummaryTable, SortedColumnIsMarkedAndRowsAreLimited)
{
    std::vector<FunctionUsage> functions = threeFunctions();
    sortFunctions(functions, SummaryColumn::AllocationCount);
    const std::string text = renderSummaryTable(functions, 1000, SummaryTableOptions{SummaryColumn::AllocationCount, 2});
    EXPECT_NE(text.find("│ Location            │ Total Memory │ Total Memory % │ Own Memory │ Own Memory % │ <Allocation Count> │\n"),
              std::string::npos)
            << text;
    EXPECT_NE(text.find("│ many at /app/job.py │     300.000B │"), std::string::npos) << text;
    EXPECT_EQ(text.find("big at"), std::string::npos) << text;
    EXPECT_TRUE(text.ends_with("┘\n… 1 more function not shown (see -r/--max-rows)\n")) << text;
    functions.push_back(functions.front());
    EXPECT_TRUE(renderSummaryTable(functions, 1000, SummaryTableOptions{SummaryColumn::OwnMemory, 1})
                        .ends_with("… 3 more functions not shown (see -r/--max-rows)\n"));
}

size_t widestLine(const std::string& text)
{
    size_t widest = 0;
    for (size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
        widest = std::max(widest, displayWidth(text.substr(start, end - start)));
    }
    return widest;
}

TEST(SummaryTable, NarrowTerminalsGetTwoLineHeadingsAndShortenedLocations)
{
    const FunctionUsage usage{"handler", "/srv/a/very/long/path/to/the/application/package/module.py", 100, 100, 1};
    const std::string wide = renderSummaryTable({usage}, 100, {});
    EXPECT_NE(wide.find("│ handler at /srv/a/very/long/path/to/the/application/package/module.py │"), std::string::npos)
            << wide;
    // 80 columns: 19 cells for the location, too few for " at " and enough of the file.
    EXPECT_EQ(renderSummaryTable({usage}, 100, SummaryTableOptions{SummaryColumn::TotalMemory, 0, 80}),
              "┌─────────────────────┬──────────┬──────────┬──────────┬──────────┬────────────┐\n"
              "│ Location            │   <Total │    Total │      Own │      Own │ Allocation │\n"
              "│                     │  Memory> │ Memory % │   Memory │ Memory % │      Count │\n"
              "├─────────────────────┼──────────┼──────────┼──────────┼──────────┼────────────┤\n"
              "│ handler …/module.py │ 100.000B │  100.00% │ 100.000B │  100.00% │          1 │\n"
              "└─────────────────────┴──────────┴──────────┴──────────┴──────────┴────────────┘\n");
    // 100 columns: 39 cells, the function and the end of the file.
    EXPECT_NE(renderSummaryTable({usage}, 100, SummaryTableOptions{SummaryColumn::TotalMemory, 0, 100})
                      .find("│ handler at …plication/package/module.py │"),
              std::string::npos);
    for (size_t width : {80, 100, 144, 200}) {
        const std::string text = renderSummaryTable({usage}, 100, SummaryTableOptions{SummaryColumn::TotalMemory, 0, width});
        EXPECT_LE(widestLine(text), width) << text;
    }
    // The figures take 61 cells with two-line headings, and the location at least 16.
    const std::string narrow = renderSummaryTable({usage}, 100, SummaryTableOptions{SummaryColumn::TotalMemory, 0, 40});
    EXPECT_NE(narrow.find("│ handler …dule.py │ 100.000B │"), std::string::npos) << narrow;
    // A name longer than the room on its own keeps both its ends.
    const FunctionUsage long_name_only{"_find_and_load_unlocked", "<frozen importlib._bootstrap>", 1, 1, 1};
    EXPECT_NE(renderSummaryTable({long_name_only}, 1, SummaryTableOptions{SummaryColumn::TotalMemory, 0, 40})
                      .find("│ _find_a…unlocked │"),
              std::string::npos);
    // A long name before a short file: the file's end still shows.
    const FunctionUsage long_name{std::string(40, 'f'), "/app/short/module.py", 1, 1, 1};
    const std::string cut = renderSummaryTable({long_name}, 1, SummaryTableOptions{SummaryColumn::TotalMemory, 0, 113});
    EXPECT_NE(cut.find("│ " + std::string(40, 'f') + " at …/module.py │"), std::string::npos) << cut;
}

TEST(SummaryTable, AllocationsWithoutAPythonStack)
{
    CallTreeBuilder b;
    b.add(CallTreeBuilder::kRoot, std::string(reader::kUnknownFunction), "", 0, 1000, 2);
    const std::vector<FunctionUsage> functions = summariseFunctions(b.build());
    ASSERT_EQ(functions.size(), 1u);
    EXPECT_EQ(functionLocation(functions[0]), "<unknown>");
}

TEST(SummaryTable, NativeFunctionsAreMarked)
{
    constexpr testing::FrameFlags kNative{false, false, true};
    CallTreeBuilder b;
    const uint32_t module = b.add(CallTreeBuilder::kRoot, "<module>", "/app/job.py", 3);
    const uint32_t n1 = b.add(module, "n1", "/src/probe.c", 10, 0, 0, kNative);
    b.add(n1, "n3", "/home/builder/projects/native-probe/src/probe.c", 30, 3000, 1, kNative);
    std::vector<FunctionUsage> functions = summariseFunctions(b.build());
    sortFunctions(functions, SummaryColumn::OwnMemory);
    ASSERT_EQ(functions.size(), 3u);
    EXPECT_EQ(functionLocation(functions[0]), "[native] n3 at /home/builder/projects/native-probe/src/probe.c");
    EXPECT_TRUE(functions[0].native);
    const auto python = std::find_if(functions.begin(), functions.end(), [](const FunctionUsage& f) { return !f.native; });
    ASSERT_NE(python, functions.end());
    EXPECT_EQ(functionLocation(*python), "<module> at /app/job.py");
    // Shortened for a narrow terminal, the marker stays.
    const std::string narrow = renderSummaryTable(functions, 3000, SummaryTableOptions{SummaryColumn::OwnMemory, 0, 80});
    EXPECT_NE(narrow.find("│ [native] n3 …/probe.c │"), std::string::npos) << narrow;
}

TEST(SummaryTable, ColoursShares)
{
    std::vector<FunctionUsage> functions = threeFunctions();
    sortFunctions(functions, SummaryColumn::TotalMemory);
    const std::string text = renderSummaryTable(functions, 1000, SummaryTableOptions{SummaryColumn::TotalMemory, 0, 0, true});
    // big: 60% is yellow (red is above 60%), main's total of 100% red, its own 10% green.
    EXPECT_NE(text.find("\x1b[33m        60.00%\x1b[0m"), std::string::npos) << text;
    EXPECT_NE(text.find("\x1b[31m       1.000kB\x1b[0m"), std::string::npos) << text;
    EXPECT_NE(text.find("\x1b[32m  100.000B\x1b[0m"), std::string::npos) << text;
    EXPECT_NE(text.find("\x1b[1m<Total Memory>\x1b[0m"), std::string::npos) << text;
}

}  // namespace
}  // namespace memray::reporters
