// The live view's keys as state transitions (reporters/live/src/view_screen.h): what each key
// changes, and what it asks of the session.
#include "memray/live/live_session.h"
#include "view_screen.h"

#include <gtest/gtest.h>

namespace memray::live::view {
namespace {

using std::chrono::milliseconds;

ViewRequests press(LiveScreen& screen, char32_t c)
{
    return screen.press(KeyPress::character(c));
}

TEST(LiveKeys, QuitWithQOrEsc)
{
    for (KeyPress key : {KeyPress::character('q'), KeyPress::character('Q'), KeyPress::character(27),
                         KeyPress::special(Key::Escape)}) {
        LiveScreen screen;
        EXPECT_TRUE(screen.press(key).quit);
    }
    LiveScreen screen;
    EXPECT_FALSE(press(screen, 'x').quit);
}

TEST(LiveKeys, UnknownKeysChangeNothing)
{
    LiveScreen screen;
    for (char32_t c : {U'x', U'Z', U'1', U'\t', U'é'}) {
        const ViewRequests requests = press(screen, c);
        EXPECT_FALSE(requests.redraw);
        EXPECT_FALSE(requests.quit);
        EXPECT_FALSE(requests.select_thread.has_value());
        EXPECT_FALSE(requests.refresh.has_value());
    }
    EXPECT_FALSE(screen.press(KeyPress::special(Key::Enter)).redraw);
}

TEST(LiveKeys, SortKeys)
{
    LiveScreen screen;
    EXPECT_EQ(screen.state().sort, SortColumn::Total);
    EXPECT_TRUE(press(screen, 'o').redraw);
    EXPECT_EQ(screen.state().sort, SortColumn::Own);
    press(screen, 'a');
    EXPECT_EQ(screen.state().sort, SortColumn::Allocations);
    press(screen, 't');
    EXPECT_EQ(screen.state().sort, SortColumn::Total);
}

TEST(LiveKeys, RefreshSteps)
{
    EXPECT_EQ(longerRefresh(milliseconds(100)), milliseconds(200));
    EXPECT_EQ(longerRefresh(milliseconds(900)), milliseconds(1000));
    EXPECT_EQ(longerRefresh(milliseconds(1000)), milliseconds(1500));
    EXPECT_EQ(longerRefresh(milliseconds(1500)), milliseconds(2000));
    EXPECT_EQ(longerRefresh(milliseconds(10000)), milliseconds(10000));
    EXPECT_EQ(longerRefresh(milliseconds(250)), milliseconds(300));  // back onto the steps
    EXPECT_EQ(shorterRefresh(milliseconds(2000)), milliseconds(1500));
    EXPECT_EQ(shorterRefresh(milliseconds(1500)), milliseconds(1000));
    EXPECT_EQ(shorterRefresh(milliseconds(1000)), milliseconds(900));
    EXPECT_EQ(shorterRefresh(milliseconds(200)), milliseconds(100));
    EXPECT_EQ(shorterRefresh(milliseconds(100)), kMinRefresh);
    EXPECT_EQ(shorterRefresh(milliseconds(1250)), milliseconds(1000));
    EXPECT_EQ(shorterRefresh(milliseconds(250)), milliseconds(200));

    EXPECT_EQ(formatRefresh(milliseconds(100)), "100 ms");
    EXPECT_EQ(formatRefresh(milliseconds(1000)), "1 s");
    EXPECT_EQ(formatRefresh(milliseconds(1500)), "1.5 s");
    EXPECT_EQ(formatRefresh(milliseconds(10000)), "10 s");
}

TEST(LiveKeys, PlusAndMinusAskTheSessionForANewInterval)
{
    LiveScreen screen;
    ViewRequests requests = press(screen, '+');
    ASSERT_TRUE(requests.refresh.has_value());
    EXPECT_EQ(*requests.refresh, milliseconds(1500));
    EXPECT_EQ(screen.state().refresh, milliseconds(1500));
    requests = press(screen, '-');
    EXPECT_EQ(*requests.refresh, milliseconds(1000));
    for (int i = 0; i < 9; ++i) {
        requests = press(screen, '-');
    }
    EXPECT_EQ(*requests.refresh, milliseconds(100));
    // At the floor: nothing more to ask.
    requests = press(screen, '-');
    EXPECT_FALSE(requests.refresh.has_value());
    EXPECT_EQ(screen.state().refresh, kMinRefresh);
    requests = press(screen, '=');  // + without shift
    EXPECT_EQ(*requests.refresh, milliseconds(200));
}

TEST(LiveKeys, SpacePausesAndResumes)
{
    LiveScreen screen;
    ViewRequests requests = press(screen, ' ');
    EXPECT_TRUE(screen.state().paused);
    EXPECT_FALSE(requests.refresh_now);
    requests = press(screen, ' ');
    EXPECT_FALSE(screen.state().paused);
    EXPECT_TRUE(requests.refresh_now);
}

TEST(LiveKeys, CtrlLRepaintsEverything)
{
    LiveScreen screen;
    const ViewRequests requests = press(screen, 12);
    EXPECT_TRUE(requests.full_redraw);
    EXPECT_FALSE(requests.quit);
    screen.press(KeyPress::character('/'));
    EXPECT_TRUE(press(screen, 12).full_redraw);  // also while typing a filter
    EXPECT_EQ(screen.state().filter, "");
}

TEST(LiveKeys, FilterPromptTakesTextIncludingUtf8)
{
    LiveScreen screen;
    press(screen, '/');
    EXPECT_TRUE(screen.state().editing_filter);
    for (char32_t c : {U'g', U'r', U'ö', U'ß', U'e', U'漢'}) {
        EXPECT_TRUE(press(screen, c).redraw);
    }
    EXPECT_EQ(screen.state().filter, "größe漢");
    screen.press(KeyPress::special(Key::Backspace));
    EXPECT_EQ(screen.state().filter, "größe");
    press(screen, 8);  // Ctrl-H
    press(screen, 127);
    EXPECT_EQ(screen.state().filter, "grö");
    // Control characters are not text.
    EXPECT_FALSE(press(screen, 1).redraw);
    EXPECT_FALSE(press(screen, 0x9B).redraw);
    EXPECT_EQ(screen.state().filter, "grö");
    // Arrows scroll; Left and Right do nothing to the text.
    EXPECT_FALSE(screen.press(KeyPress::special(Key::Left)).redraw);
    press(screen, '\n');
    EXPECT_FALSE(screen.state().editing_filter);
    EXPECT_EQ(screen.state().filter, "grö");
    // Backspace on an empty prompt is harmless.
    press(screen, '/');
    press(screen, 21);
    screen.press(KeyPress::special(Key::Backspace));
    EXPECT_EQ(screen.state().filter, "");
    screen.press(KeyPress::special(Key::Enter));
    EXPECT_FALSE(screen.state().editing_filter);
}

TEST(LiveKeys, SlashClosesTheHelp)
{
    LiveScreen screen;
    press(screen, '?');
    EXPECT_TRUE(screen.state().help);
    press(screen, '/');
    EXPECT_FALSE(screen.state().help);
    EXPECT_TRUE(screen.state().editing_filter);
}

TEST(LiveKeys, ScrollingAnEmptyTableStaysAtTheTop)
{
    LiveScreen screen;
    for (Key key : {Key::Down, Key::PageDown, Key::End, Key::Up, Key::PageUp, Key::Home}) {
        EXPECT_TRUE(screen.press(KeyPress::special(key)).redraw);
        EXPECT_EQ(screen.state().scroll, 0u);
    }
}

TEST(LiveKeys, ThreadKeysWalkTheNewestFramesThreads)
{
    LiveScreen screen;
    auto frame = std::make_shared<LiveFrame>();
    frame->threads = {{3, 0, ""}, {5, 0, ""}, {9, 0, ""}};
    screen.setFrame(frame);
    EXPECT_EQ(*press(screen, 'm').select_thread, std::optional<uint64_t>(3));
    EXPECT_EQ(*press(screen, '<').select_thread, std::optional<uint64_t>(9));
    EXPECT_EQ(*press(screen, '<').select_thread, std::optional<uint64_t>(5));
    // A thread that appears later is reached too.
    auto more = std::make_shared<LiveFrame>(*frame);
    more->threads.push_back({11, 0, "late"});
    screen.setFrame(more);
    EXPECT_EQ(*press(screen, '>').select_thread, std::optional<uint64_t>(9));
    EXPECT_EQ(*press(screen, '>').select_thread, std::optional<uint64_t>(11));
    EXPECT_EQ(*press(screen, '>').select_thread, std::optional<uint64_t>(3));
}

}  // namespace
}  // namespace memray::live::view
