// The live view's screen, drawn without a terminal (reporters/live/src/view_screen.h): the exact
// text for known frames, window sizes and keys. No clock: the title's time is given.
#include "view_screen.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <regex>

namespace memray::live::view {
namespace {

constexpr std::string_view kTitle = "memray live app.bin";
constexpr std::string_view kClock = "12:00:00";

LiveRow row(std::string function, std::string file, uint64_t total, uint64_t own, uint64_t count)
{
    LiveRow r;
    r.function = std::move(function);
    r.file = std::move(file);
    r.total_bytes = total;
    r.own_bytes = own;
    r.total_count = count;
    r.own_count = count;
    return r;
}

// Four functions whose order differs by each sort column: total main > load > parse > cache_put,
// own parse > cache_put > load > main, allocations cache_put > main > load > parse.
std::shared_ptr<LiveFrame> sampleFrame()
{
    auto frame = std::make_shared<LiveFrame>();
    frame->sequence = 7;
    frame->state = StreamState::Following;
    frame->pid = 4242;
    frame->command_line = "python3 app.py --serve";
    frame->snapshots = 12;
    frame->capture_ms = 12345;
    frame->heap_bytes = 10'000'000;
    frame->peak_heap_bytes = 12'000'000;
    frame->rss_bytes = 45'678'000;
    frame->heap_history = {1'000'000, 4'000'000, 12'000'000, 10'000'000};
    frame->threads = {{1, 4242, "MainThread"}, {2, 4250, "worker"}};
    frame->thread_heap_bytes = frame->heap_bytes;
    frame->rows = {
            row("cache_put", "app/cache.py", 3'000'000, 3'000'000, 40),
            row("parse", "app/parser.py", 5'000'000, 5'000'000, 5),
            row("main", "app.py", 10'000'000, 0, 30),
            row("load", "app/loader.py", 6'000'000, 1'000'000, 10),
    };
    return frame;
}

ViewState sized(int columns, int lines, bool utf8 = true)
{
    ViewState state;
    state.columns = columns;
    state.lines = lines;
    state.utf8 = utf8;
    return state;
}

std::string text(const LiveScreen& screen, std::string_view note = {})
{
    return screen.render(kTitle, kClock, note).text();
}

// Lines [from, to) of the screen.
std::string lines(const LiveScreen& screen, int from, int to, std::string_view note = {})
{
    const Grid grid = screen.render(kTitle, kClock, note);
    std::string out;
    for (int y = from; y < to && y < grid.lines(); ++y) {
        out += grid.lineText(y) + "\n";
    }
    return out;
}

std::string line(const LiveScreen& screen, int y, std::string_view note = {})
{
    return screen.render(kTitle, kClock, note).lineText(y);
}

// A line of the header without the graph beside it (80 columns: the first 50).
std::string header(const LiveScreen& screen, int y)
{
    std::string text = line(screen, y).substr(0, 50);
    text.erase(text.find_last_not_of(' ') + 1);
    return text;
}

void type(LiveScreen& screen, std::string_view keys)
{
    for (char c : keys) {
        screen.press(KeyPress::character(static_cast<unsigned char>(c)));
    }
}

TEST(LiveScreen, Layout80x24)
{
    LiveScreen screen(sized(80, 24));
    screen.setFrame(sampleFrame());
    EXPECT_EQ(text(screen), R"( memray live app.bin                                                   12:00:00
 PID: 4242  CMD: python3 app.py --serve                                       █▃
 TID: *  All threads                                                          ██
 Snapshots: 12  Duration: 12.3 s  Refresh: 1 s                               ▃██
 Heap: 10.000MB  Peak: 12.000MB  RSS: 45.678MB                              ▃███
                                                   Heap over time   max 12.000MB
Location          ▼ Total  % Total        Own    % Own     Allocs  File/Module
main             10.000MB  100.00%     0.000B    0.00%         30  app.py
load              6.000MB   60.00%    1.000MB   10.00%         10  app/loader.py
parse             5.000MB   50.00%    5.000MB   50.00%          5  app/parser.py
cache_put         3.000MB   30.00%    3.000MB   30.00%         40  app/cache.py












 q Quit  t/o/a Sort  m Split  space Pause  / Filter  +/- Refresh  ? Help
)");
}

TEST(LiveScreen, SortKeysOrderRowsAndMarkTheColumn)
{
    LiveScreen screen(sized(80, 24));
    screen.setFrame(sampleFrame());
    EXPECT_TRUE(screen.press(KeyPress::character('o')).redraw);
    EXPECT_EQ(lines(screen, 6, 11), R"(Location            Total  % Total      ▼ Own    % Own     Allocs  File/Module
parse             5.000MB   50.00%    5.000MB   50.00%          5  app/parser.py
cache_put         3.000MB   30.00%    3.000MB   30.00%         40  app/cache.py
load              6.000MB   60.00%    1.000MB   10.00%         10  app/loader.py
main             10.000MB  100.00%     0.000B    0.00%         30  app.py
)");
    screen.press(KeyPress::character('a'));
    EXPECT_EQ(lines(screen, 6, 11), R"(Location            Total  % Total        Own    % Own   ▼ Allocs  File/Module
cache_put         3.000MB   30.00%    3.000MB   30.00%         40  app/cache.py
main             10.000MB  100.00%     0.000B    0.00%         30  app.py
load              6.000MB   60.00%    1.000MB   10.00%         10  app/loader.py
parse             5.000MB   50.00%    5.000MB   50.00%          5  app/parser.py
)");
    screen.press(KeyPress::character('t'));
    EXPECT_EQ(line(screen, 6), "Location          ▼ Total  % Total        Own    % Own     Allocs  File/Module");
    EXPECT_EQ(line(screen, 7), "main             10.000MB  100.00%     0.000B    0.00%         30  app.py");
    // The sorted heading is also bold and underlined; the others are not.
    const Grid grid = screen.render(kTitle, kClock, "");
    EXPECT_TRUE(grid.at(6, 22).attr & kUnderline);
    EXPECT_FALSE(grid.at(6, 50).attr & kUnderline);
}

TEST(LiveScreen, TiesKeepOneOrderWhateverTheFrameSays)
{
    auto frame = std::make_shared<LiveFrame>();
    frame->state = StreamState::Following;
    frame->heap_bytes = 400;
    for (const char* name : {"delta", "alpha", "charlie", "bravo"}) {
        frame->rows.push_back(row(name, "f.py", 100, 100, 1));
    }
    frame->rows.push_back(row("alpha", "a.py", 100, 100, 1));
    std::mt19937 random(7);
    for (int round = 0; round < 5; ++round) {
        auto shuffled = std::make_shared<LiveFrame>(*frame);
        std::shuffle(shuffled->rows.begin(), shuffled->rows.end(), random);
        LiveScreen screen(sized(80, 24));
        screen.setFrame(shuffled);
        EXPECT_EQ(lines(screen, 7, 12), R"(alpha              100.000B   25.00%   100.000B   25.00%          1  a.py
alpha              100.000B   25.00%   100.000B   25.00%          1  f.py
bravo              100.000B   25.00%   100.000B   25.00%          1  f.py
charlie            100.000B   25.00%   100.000B   25.00%          1  f.py
delta              100.000B   25.00%   100.000B   25.00%          1  f.py
)");
    }
}

TEST(LiveScreen, SplitAndMergeThreads)
{
    LiveScreen screen(sized(80, 24));
    auto merged = sampleFrame();
    screen.setFrame(merged);
    EXPECT_EQ(header(screen, 2), " TID: *  All threads");

    // Merged, the thread keys do nothing.
    for (KeyPress key : {KeyPress::character('<'), KeyPress::character('>'), KeyPress::special(Key::Left),
                         KeyPress::special(Key::Right)}) {
        const ViewRequests requests = screen.press(key);
        EXPECT_FALSE(requests.select_thread.has_value());
        EXPECT_FALSE(requests.redraw);
    }

    // m splits at the first thread; the header follows the frames (what the rows are about).
    ViewRequests requests = screen.press(KeyPress::character('m'));
    ASSERT_TRUE(requests.select_thread.has_value());
    EXPECT_EQ(*requests.select_thread, std::optional<uint64_t>(1));
    EXPECT_EQ(header(screen, 2), " TID: *  All threads");
    EXPECT_EQ(line(screen, 0).find("m Merge"), std::string::npos);
    auto first = std::make_shared<LiveFrame>(*merged);
    first->thread = 1;
    first->rows = {row("main", "app.py", 2'000'000, 2'000'000, 3)};
    screen.setFrame(first);
    EXPECT_EQ(header(screen, 2), " TID: 4242  Thread 1 of 2 (MainThread)");
    EXPECT_EQ(line(screen, 7), "main              2.000MB   20.00%    2.000MB   20.00%          3  app.py");
    EXPECT_EQ(line(screen, 23), " q Quit  t/o/a Sort  m Merge  </> Thread  space Pause  / Filter  ? Help");

    // > and < (and the arrows) walk the threads, round.
    requests = screen.press(KeyPress::character('>'));
    EXPECT_EQ(*requests.select_thread, std::optional<uint64_t>(2));
    requests = screen.press(KeyPress::special(Key::Right));
    EXPECT_EQ(*requests.select_thread, std::optional<uint64_t>(1));
    requests = screen.press(KeyPress::special(Key::Left));
    EXPECT_EQ(*requests.select_thread, std::optional<uint64_t>(2));
    auto second = std::make_shared<LiveFrame>(*merged);
    second->thread = 2;
    second->rows = {row("work", "app/worker.py", 8'000'000, 8'000'000, 27)};
    screen.setFrame(second);
    EXPECT_EQ(header(screen, 2), " TID: 4250  Thread 2 of 2 (worker)");
    EXPECT_EQ(line(screen, 7), "work              8.000MB   80.00%    8.000MB   80.00%         27  app/worker.py");
    requests = screen.press(KeyPress::character('<'));
    EXPECT_EQ(*requests.select_thread, std::optional<uint64_t>(1));

    // m merges again.
    requests = screen.press(KeyPress::character('m'));
    ASSERT_TRUE(requests.select_thread.has_value());
    EXPECT_EQ(*requests.select_thread, std::nullopt);
    screen.setFrame(merged);
    EXPECT_EQ(header(screen, 2), " TID: *  All threads");
}

TEST(LiveScreen, ThreadWithoutNameOrOsIdAndBeforeAnyThreadIsKnown)
{
    LiveScreen screen(sized(80, 24));
    // Split before anything is known: the capture's first thread (id 1).
    const ViewRequests requests = screen.press(KeyPress::character('m'));
    EXPECT_EQ(*requests.select_thread, std::optional<uint64_t>(1));
    auto frame = sampleFrame();
    frame->threads = {{1, 0, ""}};
    frame->thread = 1;
    screen.setFrame(frame);
    EXPECT_EQ(header(screen, 2), " TID: ?  Thread 1 of 1");
    frame = std::make_shared<LiveFrame>(*frame);
    frame->threads.clear();
    screen.setFrame(frame);
    EXPECT_EQ(header(screen, 2), " TID: ?  Thread 1 (not seen yet)");
}

TEST(LiveScreen, PauseFreezesTheTableWhileTheHeaderGoesOn)
{
    LiveScreen screen(sized(80, 24));
    screen.setFrame(sampleFrame());
    const std::string table = lines(screen, 6, 12);
    screen.press(KeyPress::character(' '));
    EXPECT_TRUE(screen.state().paused);

    auto later = sampleFrame();
    later->snapshots = 13;
    later->capture_ms = 13500;
    later->heap_bytes = 20'000'000;
    later->peak_heap_bytes = 20'000'000;
    later->rows = {row("grow", "app/grow.py", 20'000'000, 20'000'000, 1)};
    screen.setFrame(later);
    EXPECT_EQ(lines(screen, 3, 6), R"( Snapshots: 13  Duration: 13.5 s  Refresh: 1 s                                ██
 Heap: 20.000MB  Peak: 20.000MB  RSS: 45.678MB                              ▂▇██
 Status: Table updates paused                      Heap over time   max 20.000MB
)");
    EXPECT_EQ(lines(screen, 6, 12), table);
    EXPECT_NE(line(screen, 23).find("space Resume"), std::string::npos);

    // Unpaused: the newest rows at once.
    const ViewRequests requests = screen.press(KeyPress::character(' '));
    EXPECT_TRUE(requests.refresh_now);
    EXPECT_EQ(line(screen, 7), "grow             20.000MB  100.00%   20.000MB  100.00%          1  app/grow.py");
    EXPECT_EQ(line(screen, 5), "                                                   Heap over time   max 20.000MB");
}

TEST(LiveScreen, PausedTableFollowsAThreadChange)
{
    LiveScreen screen(sized(80, 24));
    screen.setFrame(sampleFrame());
    screen.press(KeyPress::character(' '));
    screen.press(KeyPress::character('m'));
    auto other = sampleFrame();
    other->rows = {row("other", "o.py", 1, 1, 1)};
    screen.setFrame(other);  // still merged: not the selection, stays frozen
    EXPECT_EQ(line(screen, 7).substr(0, 4), "main");
    auto first = sampleFrame();
    first->thread = 1;
    first->rows = {row("mine", "m.py", 1, 1, 1)};
    screen.setFrame(first);
    EXPECT_EQ(line(screen, 7).substr(0, 4), "mine");
    EXPECT_EQ(header(screen, 2), " TID: 4242  Thread 1 of 2 (MainThread)");
    auto again = std::make_shared<LiveFrame>(*first);
    again->rows = {row("newer", "n.py", 1, 1, 1)};
    screen.setFrame(again);  // the selection's frame is there: frozen again
    EXPECT_EQ(line(screen, 7).substr(0, 4), "mine");
}

TEST(LiveScreen, FilterByFunctionOrFileInAnyCase)
{
    LiveScreen screen(sized(80, 24));
    screen.setFrame(sampleFrame());
    screen.press(KeyPress::character('/'));
    EXPECT_TRUE(screen.state().editing_filter);
    type(screen, "PARS");
    Grid grid = screen.render(kTitle, kClock, "");
    EXPECT_EQ(grid.lineText(6), " Filter: PARS  (1 of 4 functions)");
    ASSERT_TRUE(grid.cursor.has_value());
    EXPECT_EQ(grid.cursor->line, 6);
    EXPECT_EQ(grid.cursor->column, 13);
    EXPECT_EQ(grid.lineText(7), "Location          ▼ Total  % Total        Own    % Own     Allocs  File/Module");
    EXPECT_EQ(grid.lineText(8), "parse             5.000MB   50.00%    5.000MB   50.00%          5  app/parser.py");
    EXPECT_EQ(grid.lineText(9), "");
    EXPECT_EQ(grid.lineText(23), " Enter Keep filter  Esc Clear filter");

    // Typed keys are text, not commands.
    EXPECT_FALSE(screen.press(KeyPress::character('q')).quit);
    screen.press(KeyPress::special(Key::Backspace));
    screen.press(KeyPress::character(127));  // Backspace as a character
    screen.press(KeyPress::character(127));
    screen.press(KeyPress::character(127));
    type(screen, "app/");  // a file name matches too
    EXPECT_EQ(line(screen, 6), " Filter: Papp/  (0 of 4 functions)");
    EXPECT_EQ(line(screen, 8), " No function or file matches the filter");
    screen.press(KeyPress::character(21));  // Ctrl-U: start again
    type(screen, "app/");
    EXPECT_EQ(line(screen, 6), " Filter: app/  (3 of 4 functions)");
    screen.press(KeyPress::character('\r'));  // Enter keeps it
    EXPECT_FALSE(screen.state().editing_filter);
    grid = screen.render(kTitle, kClock, "");
    EXPECT_FALSE(grid.cursor.has_value());
    EXPECT_EQ(grid.lineText(6), " Filter: app/  (3 of 4 functions)");
    EXPECT_EQ(grid.lineText(8), "load              6.000MB   60.00%    1.000MB   10.00%         10  app/loader.py");
    EXPECT_EQ(grid.lineText(11), "");

    // Editing again starts from it; Esc clears it.
    screen.press(KeyPress::character('/'));
    type(screen, "x");
    EXPECT_EQ(line(screen, 6), " Filter: app/x  (0 of 4 functions)");
    EXPECT_FALSE(screen.press(KeyPress::special(Key::Escape)).quit);
    EXPECT_EQ(screen.state().filter, "");
    EXPECT_EQ(line(screen, 6), "Location          ▼ Total  % Total        Own    % Own     Allocs  File/Module");
}

TEST(LiveScreen, HelpListsTheKeys)
{
    LiveScreen screen(sized(80, 24));
    screen.setFrame(sampleFrame());
    screen.press(KeyPress::character('?'));
    EXPECT_EQ(lines(screen, 6, 24), R"( Keys
  t o a           sort by Total, Own or Allocations
  m               merge threads, or one at a time
  < > ← →         previous / next thread
  space           pause the table (header goes on)
  ↑ ↓ PgUp PgDn   scroll the table
  Home End        first / last rows
  /               filter by function or file name
                  (Enter keeps it, Esc clears it)
  + -             refresh every 1 s: longer / shorter
  Ctrl-L          redraw the screen
  ?               show or hide this help
  q Esc           quit




 ? Close help  q Quit
)");
    // Esc closes the help (and does not quit); ? toggles it.
    EXPECT_FALSE(screen.press(KeyPress::special(Key::Escape)).quit);
    EXPECT_FALSE(screen.state().help);
    screen.press(KeyPress::character('?'));
    screen.press(KeyPress::character('?'));
    EXPECT_FALSE(screen.state().help);
    EXPECT_EQ(line(screen, 7).substr(0, 4), "main");
}

TEST(LiveScreen, TinyWindowSaysSoAndStaysInside)
{
    LiveScreen screen(sized(20, 5));
    screen.setFrame(sampleFrame());
    EXPECT_EQ(text(screen), R"( memray live app.b…
 Heap: 10.000MB  Pea
 Window too small

 q Quit
)");
    auto ended = sampleFrame();
    ended->state = StreamState::Ended;
    screen.setFrame(ended);
    EXPECT_EQ(lines(screen, 2, 4), " Status: The progra…\n Window too small\n");
}

TEST(LiveScreen, EverySmallSizeDrawsWithinTheWindow)
{
    auto frame = sampleFrame();
    frame->status = "a status long enough to need cutting anywhere";
    frame->rows.push_back(row(std::string(300, 'f'), std::string(300, 'p'), 1, 1, 1));
    for (bool help : {false, true}) {
        for (int columns = 0; columns <= 50; ++columns) {
            for (int lines_count = 0; lines_count <= 14; ++lines_count) {
                LiveScreen screen(sized(columns, lines_count));
                screen.setFrame(frame);
                if (help) {
                    screen.press(KeyPress::character('?'));
                }
                screen.press(KeyPress::special(Key::End));
                const Grid grid = screen.render(kTitle, kClock, "a note");
                ASSERT_EQ(grid.columns(), columns);
                ASSERT_EQ(grid.lines(), lines_count);
                for (int y = 0; y < lines_count; ++y) {
                    EXPECT_LE(textWidth(grid.lineText(y)), columns) << columns << "x" << lines_count << " line " << y;
                }
            }
        }
    }
}

TEST(LiveScreen, WideTerminal200x50)
{
    LiveScreen screen(sized(200, 50));
    screen.setFrame(sampleFrame());
    const Grid grid = screen.render(kTitle, kClock, "");
    EXPECT_EQ(grid.lineText(0), " memray live app.bin" + std::string(171, ' ') + "12:00:00");
    EXPECT_EQ(grid.lineText(1), " PID: 4242  CMD: python3 app.py --serve" + std::string(159, ' ') + "█▃");
    EXPECT_EQ(grid.lineText(5), std::string(140, ' ') + "Heap over time" + std::string(34, ' ') + "max 12.000MB");
    EXPECT_EQ(grid.lineText(6), "Location                    ▼ Total  % Total        Own    % Own    Allocations  File/Module");
    EXPECT_EQ(grid.lineText(7), "main                       10.000MB  100.00%     0.000B    0.00%             30  app.py");
    EXPECT_EQ(grid.lineText(10), "cache_put                   3.000MB   30.00%    3.000MB   30.00%             40  app/cache.py");
    EXPECT_EQ(grid.lineText(11), "");
    EXPECT_EQ(grid.lineText(49), " q Quit  t/o/a Sort  m Split  space Pause  / Filter  +/- Refresh  ? Help");
}

// The screen read as text (tmux capture-pane) splits into its cells at runs of two spaces,
// whatever the figures' widths.
TEST(LiveScreen, RowsSplitIntoTheirCellsAtTwoSpaces)
{
    LiveScreen screen(sized(100, 30));
    auto frame = sampleFrame();
    frame->rows.push_back(row("allocate_lots", "/tmp/tmpabcdef/program.py", 999'999'000, 999'999'000, 123456789));
    frame->rows.push_back(row("tiny", "t.py", 1, 1, 1));
    frame->heap_bytes = 1'000'000'000;
    screen.setFrame(frame);
    const Grid grid = screen.render(kTitle, kClock, "");
    EXPECT_EQ(grid.lineText(6), "Location              ▼ Total  % Total        Own    % Own    Allocations  File/Module");
    const std::regex separator("\\s{2,}");
    for (int y = 7; y < 13; ++y) {
        const std::string text = grid.lineText(y);
        std::vector<std::string> cells(std::sregex_token_iterator(text.begin(), text.end(), separator, -1),
                                       std::sregex_token_iterator());
        ASSERT_EQ(cells.size(), 7u) << text;
        EXPECT_NE(cells[1].find('B'), std::string::npos) << text;
        EXPECT_EQ(cells[2].back(), '%') << text;
    }
    EXPECT_EQ(grid.lineText(7), "allocate_lots       999.999MB  100.00%  999.999MB  100.00%      123456789  /tmp/tmpabcdef/program.py");
}

TEST(LiveScreen, NarrowTerminalPutsTheGraphBelowAndDropsColumns)
{
    LiveScreen screen(sized(60, 24));
    screen.setFrame(sampleFrame());
    EXPECT_EQ(lines(screen, 4, 13), R"( Heap: 10.000MB  Peak: 12.000MB  RSS: 45.678MB

                                                         █▆
                                                       ▂▆██
 Heap over time                                max 12.000MB
Location              ▼ Total  % Total        Own     Allocs
main                 10.000MB  100.00%     0.000B         30
load                  6.000MB   60.00%    1.000MB         10
parse                 5.000MB   50.00%    5.000MB          5
)");
    screen.resize(40, 12);  // no graph (no room), only the location and the sorted figures
    EXPECT_EQ(lines(screen, 6, 9), R"(Location              ▼ Total        Own
main                 10.000MB     0.000B
load                  6.000MB    1.000MB
)");
}

TEST(LiveScreen, AsciiTerminal)
{
    LiveScreen screen(sized(80, 24, false));
    auto frame = sampleFrame();
    frame->rows.push_back(row("größe_" + std::string(40, 'x'), "ünï.py", 1'000, 1'000, 1));
    frame->command_line = "python3 " + std::string(80, 'a');
    screen.setFrame(frame);
    EXPECT_EQ(lines(screen, 1, 12), R"( PID: 4242  CMD: python3 aaaaaaaaaaaaaaaaaaaaaaaa~                            #.
 TID: *  All threads                                                          ##
 Snapshots: 12  Duration: 12.3 s  Refresh: 1 s                               .##
 Heap: 10.000MB  Peak: 12.000MB  RSS: 45.678MB                              .###
                                                   Heap over time   max 12.000MB
Location             v Total  % Total        Own    % Own     Allocs  File/Modul
main                10.000MB  100.00%     0.000B    0.00%         30  app.py
load                 6.000MB   60.00%    1.000MB   10.00%         10  ~loader.py
parse                5.000MB   50.00%    5.000MB   50.00%          5  ~parser.py
cache_put            3.000MB   30.00%    3.000MB   30.00%         40  ~/cache.py
gr??e_xxxxxxxxxx~    1.000kB    0.01%    1.000kB    0.01%          1  ?n?.py
)");
    const std::string all = text(screen);
    EXPECT_TRUE(std::all_of(all.begin(), all.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }));
}

TEST(LiveScreen, LongNamesAreCutWithAnEllipsis)
{
    LiveScreen screen(sized(80, 24));
    auto frame = sampleFrame();
    frame->command_line = "python3 -m some.package.with.a.long.name --option=" + std::string(50, 'v');
    frame->rows = {row("a_function_with_a_name_far_too_long_for_the_column", "deep/down/in/the/tree/of/packages/module.py",
                       1'000'000, 1'000'000, 1)};
    frame->rows.back().native = true;
    screen.setFrame(frame);
    EXPECT_EQ(line(screen, 1), " PID: 4242  CMD: python3 -m some.package.with.a.l…                            █▃");
    EXPECT_EQ(line(screen, 7), "[native] a_funct…    1.000MB   10.00%    1.000MB   10.00%          1  …module.py");
    // The native marker is drawn in its own colour.
    const Grid grid = screen.render(kTitle, kClock, "");
    EXPECT_TRUE(grid.at(7, 0).attr & kCyan);
    EXPECT_FALSE(grid.at(7, 10).attr & kCyan);
}

TEST(LiveScreen, ControlCharactersFromTheCaptureAreShownEscaped)
{
    LiveScreen screen(sized(80, 24));
    auto frame = sampleFrame();
    frame->rows = {row("evil\x1b[2Jname", "f\nile.py", 1, 1, 1)};
    screen.setFrame(frame);
    EXPECT_EQ(line(screen, 7), "evil\\x1b[2Jname      1.000B    0.00%     1.000B    0.00%          1  f\\x0aile.py");
}

TEST(LiveScreen, WideCharactersTakeTwoCells)
{
    LiveScreen screen(sized(80, 24));
    auto frame = sampleFrame();
    frame->rows = {row("処理する関数", "モジュール.py", 1, 1, 1)};
    screen.setFrame(frame);
    const Grid grid = screen.render(kTitle, kClock, "");
    EXPECT_EQ(grid.lineText(7), "処理する関数       1.000B    0.00%     1.000B    0.00%          1  モジュール.py");
    EXPECT_TRUE(grid.at(7, 0).wide);
    EXPECT_EQ(grid.at(7, 1).glyph, "");
}

TEST(LiveScreen, BeforeTheFirstFrame)
{
    LiveScreen screen(sized(80, 24));
    EXPECT_EQ(lines(screen, 0, 9), R"( memray live app.bin                                                   12:00:00
 PID: ???  CMD: ???
 TID: *  All threads
 Snapshots: 0  Duration: 0.0 s  Refresh: 1 s
 Heap: 0.000B  Peak: 0.000B  RSS: ???
 Status: Waiting for the capture stream
Location            ▼ Total  % Total        Own    % Own     Allocs  File/Module
 No data yet

)");
    auto waiting = std::make_shared<LiveFrame>();
    waiting->status = "Waiting for the capture stream: nobody listens on 127.0.0.1:4567 yet; retrying";
    screen.setFrame(waiting);
    EXPECT_EQ(lines(screen, 5, 10), R"( Status: Waiting for the capture stream: nobody listens on 127.0.0.1:4567 yet; …
Location            ▼ Total  % Total        Own    % Own     Allocs  File/Module
 Waiting for the capture stream: nobody listens on 127.0.0.1:4567 yet; retrying


)");
}

TEST(LiveScreen, StatusLines)
{
    LiveScreen screen(sized(140, 24));  // the graph starts at column 80
    auto frame = sampleFrame();
    const auto status = [&](StreamState state, std::string text, std::string_view note = {}) {
        auto next = std::make_shared<LiveFrame>(*frame);
        next->state = state;
        next->status = std::move(text);
        screen.setFrame(next);
        const Grid grid = screen.render(kTitle, kClock, note);
        std::string shown = grid.lineText(5);
        shown = shown.substr(0, shown.find("Heap over time"));  // (a long status takes the caption's place)
        return shown.erase(shown.find_last_not_of(' ') + 1);
    };
    EXPECT_EQ(status(StreamState::Following, ""), "");
    EXPECT_EQ(status(StreamState::Following, "", "program exited with status 3"), " Status: program exited with status 3");
    EXPECT_EQ(status(StreamState::Ended, ""), " Status: The program has ended");
    EXPECT_EQ(status(StreamState::Ended, "tracking stopped"), " Status: The program has ended: tracking stopped");
    EXPECT_EQ(status(StreamState::EndedAbruptly, "the connection was lost"), " Status: Ended abruptly: the connection was lost");
    EXPECT_EQ(status(StreamState::EndedAbruptly, ""), " Status: Ended abruptly");
    EXPECT_EQ(status(StreamState::Error, "not a memray capture"), " Status: Error: not a memray capture");
    EXPECT_EQ(status(StreamState::Waiting, ""), " Status: Waiting for the capture stream");
    EXPECT_EQ(status(StreamState::Waiting, "nobody listens on 127.0.0.1:9 yet"), " Status: Nobody listens on 127.0.0.1:9 yet");

    // Errors are red; paused and note and backlog all on the line.
    const Grid grid = screen.render(kTitle, kClock, "");
    EXPECT_FALSE(grid.at(5, 10).attr & kRed);
    status(StreamState::Error, "bad");
    EXPECT_TRUE(screen.render(kTitle, kClock, "").at(5, 10).attr & kRed);
    screen.press(KeyPress::character(' '));
    frame->backlog_bytes = 100'000;  // a chunk in flight: not worth a word
    EXPECT_EQ(status(StreamState::Following, ""), " Status: Table updates paused");
    frame->backlog_bytes = 12'345'678;
    EXPECT_EQ(status(StreamState::EndedAbruptly, "killed", "exit 9"),
              " Status: Table updates paused  Ended abruptly: killed  exit 9  behind by 12.346MB");
}

TEST(LiveScreen, ALongStatusTakesTheGraphsCaptionRow)
{
    LiveScreen screen(sized(80, 24));
    auto frame = sampleFrame();
    frame->state = StreamState::EndedAbruptly;
    frame->status = "the capture stopped without its end: the program was killed or the connection was lost";
    screen.setFrame(frame);
    EXPECT_EQ(lines(screen, 4, 6), R"( Heap: 10.000MB  Peak: 12.000MB  RSS: 45.678MB                              ▃███
 Status: Ended abruptly: the capture stopped without its end: the program was k…
)");
    EXPECT_TRUE(screen.render(kTitle, kClock, "").at(5, 30).attr & kRed);
}

TEST(LiveScreen, GraphScaleNeverDecays)
{
    LiveScreen screen(sized(80, 24));
    auto frame = sampleFrame();
    frame->heap_history = {10'000'000};
    frame->peak_heap_bytes = 10'000'000;
    screen.setFrame(frame);
    EXPECT_EQ(line(screen, 4), " Heap: 10.000MB  Peak: 10.000MB  RSS: 45.678MB                                 █");
    auto lower = std::make_shared<LiveFrame>(*frame);
    lower->heap_history = {5'000'000, 2'500'000};  // the older points dropped
    lower->peak_heap_bytes = 5'000'000;
    screen.setFrame(lower);
    EXPECT_EQ(lines(screen, 1, 6), R"( PID: 4242  CMD: python3 app.py --serve
 TID: *  All threads
 Snapshots: 12  Duration: 12.3 s  Refresh: 1 s                                █
 Heap: 10.000MB  Peak: 5.000MB  RSS: 45.678MB                                 ██
                                                   Heap over time   max 10.000MB
)");
}

TEST(LiveScreen, GraphCaptionSaysWhatItSpans)
{
    LiveScreen screen(sized(80, 24));
    auto frame = sampleFrame();
    frame->history_interval_ms = 10;  // 4 points
    screen.setFrame(frame);
    EXPECT_EQ(line(screen, 5), "                                                   Heap over 0 s    max 12.000MB");
    frame = std::make_shared<LiveFrame>(*frame);
    frame->history_interval_ms = 50'000;
    screen.setFrame(frame);
    EXPECT_EQ(line(screen, 5), "                                                                    max 12.000MB");
    screen.resize(100, 24);  // room for both
    EXPECT_EQ(line(screen, 5), "                                                   Heap over 3.3 min                    max 12.000MB");
}

TEST(LiveScreen, GraphOfALongHistoryShowsTheHighestOfEachRun)
{
    LiveScreen screen(sized(80, 24));
    auto frame = sampleFrame();
    frame->heap_history.assign(290, 0);  // 10 points a column over 29 columns
    frame->heap_history[5] = 8;          // the first column's highest
    frame->heap_history[289] = 4;        // the last
    frame->peak_heap_bytes = 8;
    screen.setFrame(frame);
    const Grid grid = screen.render(kTitle, kClock, "");
    EXPECT_EQ(grid.lineText(1), " PID: 4242  CMD: python3 app.py --serve            █");
    EXPECT_EQ(grid.lineText(3), " Snapshots: 12  Duration: 12.3 s  Refresh: 1 s     █                           █");
}

TEST(LiveScreen, ScrollingKeysAndTheRowCounter)
{
    LiveScreen screen(sized(120, 24));
    auto frame = sampleFrame();
    frame->rows.clear();
    for (int i = 0; i < 100; ++i) {
        frame->rows.push_back(row("f" + std::to_string(100 + i), "m.py", 1000 - i, 0, 1));
    }
    screen.setFrame(frame);
    const int page = screen.pageRows();
    EXPECT_EQ(page, 16);
    const auto top = [&] { return line(screen, 7).substr(0, 4); };
    const auto counter = [&] {
        const std::string footer = line(screen, 23);
        return footer.substr(footer.rfind("  ") + 2);
    };
    EXPECT_EQ(top(), "f100");
    EXPECT_EQ(counter(), "1-16 of 100");
    screen.press(KeyPress::special(Key::Down));
    EXPECT_EQ(top(), "f101");
    screen.press(KeyPress::special(Key::PageDown));
    EXPECT_EQ(top(), "f117");
    EXPECT_EQ(counter(), "18-33 of 100");
    screen.press(KeyPress::special(Key::End));
    EXPECT_EQ(top(), "f184");
    EXPECT_EQ(counter(), "85-100 of 100");
    screen.press(KeyPress::special(Key::PageDown));  // no further
    EXPECT_EQ(top(), "f184");
    screen.press(KeyPress::special(Key::Up));
    EXPECT_EQ(top(), "f183");
    screen.press(KeyPress::special(Key::PageUp));
    EXPECT_EQ(top(), "f167");
    screen.press(KeyPress::special(Key::Home));
    EXPECT_EQ(top(), "f100");
    screen.press(KeyPress::special(Key::Up));  // no further
    EXPECT_EQ(top(), "f100");

    // Fewer rows in a new frame: the view keeps to the end of them.
    screen.press(KeyPress::special(Key::End));
    auto fewer = std::make_shared<LiveFrame>(*frame);
    fewer->rows.resize(20);
    screen.setFrame(fewer);
    EXPECT_EQ(top(), "f104");
    screen.press(KeyPress::special(Key::Up));
    EXPECT_EQ(top(), "f103");
    // A new sort starts at the top.
    screen.press(KeyPress::character('o'));
    EXPECT_EQ(screen.state().scroll, 0u);
}

}  // namespace
}  // namespace memray::live::view
