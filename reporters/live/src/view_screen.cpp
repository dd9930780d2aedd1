#include "view_screen.h"

#include "memray/live/live_session.h"
#include "memray/reader/call_tree.h"
#include "memray/reader/terminal_text.h"
#include "view_layout.h"

#include <algorithm>
#include <cstdio>
#include <tuple>

namespace memray::live::view {

using std::chrono::milliseconds;

namespace {

constexpr milliseconds kMaxRefresh{10000};

// Cells a name from the capture takes once its control characters are escaped.
int rememberedWidth(std::string_view text, size_t extra)
{
    const bool control = std::any_of(text.begin(), text.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte < 0x20 || byte == 0x7F || byte == 0xC2;  // (0xC2: maybe a C1 control)
    });
    const int width = control ? textWidth(reader::terminalSafe(text)) : textWidth(text);
    return std::min(width + static_cast<int>(extra), kMaxRememberedWidth);
}

char asciiLower(char c)
{
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Whether `text` contains `needle`, ASCII letters in any case.
bool containsFolded(std::string_view text, std::string_view needle)
{
    return std::search(text.begin(), text.end(), needle.begin(), needle.end(),
                       [](char a, char b) { return asciiLower(a) == asciiLower(b); }) != text.end();
}

std::optional<uint64_t> selectionOf(const ViewState& state)
{
    return state.split ? std::optional<uint64_t>(state.thread) : std::nullopt;
}

}  // namespace

milliseconds longerRefresh(milliseconds refresh)
{
    const milliseconds step = refresh < milliseconds(1000) ? milliseconds(100) : milliseconds(500);
    return std::clamp((refresh / step + 1) * step, kMinRefresh, kMaxRefresh);
}

milliseconds shorterRefresh(milliseconds refresh)
{
    const milliseconds step = refresh <= milliseconds(1000) ? milliseconds(100) : milliseconds(500);
    const milliseconds down = refresh % step == milliseconds(0) ? refresh - step : refresh - refresh % step;
    return std::clamp(down, kMinRefresh, kMaxRefresh);
}

std::string formatRefresh(milliseconds refresh)
{
    const long long ms = refresh.count();
    if (ms < 1000) {
        return std::to_string(ms) + " ms";
    }
    char text[48];
    if (ms % 1000 == 0) {
        std::snprintf(text, sizeof(text), "%lld s", ms / 1000);
    } else {
        std::snprintf(text, sizeof(text), "%.1f s", static_cast<double>(ms) / 1000.0);
    }
    return text;
}

LiveScreen::LiveScreen(ViewState initial)
: state_(std::move(initial))
, latest_(std::make_shared<LiveFrame>())
{
}

void LiveScreen::setFrame(std::shared_ptr<const LiveFrame> frame)
{
    if (!frame) {
        return;
    }
    latest_ = std::move(frame);
    const LiveFrame& now = *latest_;
    graph_max_ = std::max(graph_max_, now.peak_heap_bytes);
    for (uint64_t point : now.heap_history) {
        graph_max_ = std::max(graph_max_, point);
    }
    for (const LiveRow& row : now.rows) {
        location_width_ = std::max(location_width_, rememberedWidth(row.function, row.native ? reader::kNativeFrameMarker.size() + 1 : 0));
        file_width_ = std::max(file_width_, rememberedWidth(row.file, 0));
    }
    // Paused, the table keeps its frame, but follows a thread selection made since.
    if (state_.paused && frozen_ && frozen_->thread != selectionOf(state_) && now.thread == selectionOf(state_)) {
        frozen_ = latest_;
    }
}

void LiveScreen::resize(int columns, int lines)
{
    state_.columns = std::max(columns, 0);
    state_.lines = std::max(lines, 0);
}

int LiveScreen::pageRows() const
{
    return std::max(layoutOf(state_, graph_max_ > 0).table_rows, 1);
}

const LiveScreen::Table& LiveScreen::table() const
{
    const std::shared_ptr<const LiveFrame>& frame = state_.paused && frozen_ ? frozen_ : latest_;
    if (table_ && table_->frame == frame && table_->sort == state_.sort && table_->filter == state_.filter) {
        return *table_;
    }
    auto table = std::make_shared<Table>(Table{frame, state_.sort, state_.filter, {}});
    const std::string_view needle = state_.filter;
    table->rows.reserve(frame->rows.size());
    for (const LiveRow& row : frame->rows) {
        if (needle.empty() || containsFolded(row.function, needle) || containsFolded(row.file, needle)) {
            table->rows.push_back(&row);
        }
    }
    const auto key = [sort = state_.sort](const LiveRow& row) {
        switch (sort) {
            case SortColumn::Own:
                return row.own_bytes;
            case SortColumn::Allocations:
                return row.total_count;
            case SortColumn::Total:
                break;
        }
        return row.total_bytes;
    };
    // Descending by the sorted column; ties by the other figures, then by name, so that rows
    // keep their places from one frame to the next.
    std::sort(table->rows.begin(), table->rows.end(), [&key](const LiveRow* a, const LiveRow* b) {
        const auto rank = [&key](const LiveRow& row) {
            return std::make_tuple(key(row), row.total_bytes, row.own_bytes, row.total_count);
        };
        const auto ra = rank(*a);
        const auto rb = rank(*b);
        if (ra != rb) {
            return ra > rb;
        }
        if (a->function != b->function) {
            return a->function < b->function;
        }
        if (a->file != b->file) {
            return a->file < b->file;
        }
        return a->native < b->native;
    });
    table_ = std::move(table);
    return *table_;
}

void LiveScreen::scrollBy(long long rows)
{
    const long long count = static_cast<long long>(table().rows.size());
    const long long last = std::max(count - pageRows(), 0LL);
    const long long from = std::min(static_cast<long long>(state_.scroll), last);
    state_.scroll = static_cast<size_t>(std::clamp(from + rows, 0LL, last));
}

void LiveScreen::moveThread(int step, ViewRequests& requests)
{
    const std::vector<LiveThread>& threads = latest().threads;
    if (!state_.split || threads.empty()) {
        requests.redraw = false;  // (merged: the thread keys do nothing)
        return;
    }
    const auto it = std::find_if(threads.begin(), threads.end(), [&](const LiveThread& t) { return t.tid == state_.thread; });
    const long long count = static_cast<long long>(threads.size());
    long long index = it == threads.end() ? 0 : (it - threads.begin()) + step;
    index = ((index % count) + count) % count;
    state_.thread = threads[static_cast<size_t>(index)].tid;
    state_.scroll = 0;
    requests.select_thread = selectionOf(state_);
    requests.redraw = true;
}

ViewRequests LiveScreen::press(const KeyPress& pressed)
{
    KeyPress key = pressed;
    if (key.key == Key::Character) {
        if (key.ch == '\n' || key.ch == '\r') {
            key = KeyPress::special(Key::Enter);
        } else if (key.ch == 27) {
            key = KeyPress::special(Key::Escape);
        } else if (key.ch == 127 || key.ch == 8) {
            key = KeyPress::special(Key::Backspace);
        }
    }
    ViewRequests requests;
    requests.redraw = true;
    switch (key.key) {
        case Key::Up:
            scrollBy(-1);
            return requests;
        case Key::Down:
            scrollBy(1);
            return requests;
        case Key::PageUp:
            scrollBy(-pageRows());
            return requests;
        case Key::PageDown:
            scrollBy(pageRows());
            return requests;
        case Key::Home:
            state_.scroll = 0;
            return requests;
        case Key::End:
            scrollBy(static_cast<long long>(table().rows.size()));
            return requests;
        default:
            break;
    }
    constexpr char32_t kCtrlL = 12;
    constexpr char32_t kCtrlU = 21;
    if (key.key == Key::Character && key.ch == kCtrlL) {
        requests.full_redraw = true;
        return requests;
    }

    if (state_.editing_filter) {
        switch (key.key) {
            case Key::Enter:
                state_.editing_filter = false;
                break;
            case Key::Escape:
                state_.editing_filter = false;
                state_.filter.clear();
                break;
            case Key::Backspace:
                // Drop the last character (with its UTF-8 continuation bytes).
                while (!state_.filter.empty() && (static_cast<unsigned char>(state_.filter.back()) & 0xC0) == 0x80) {
                    state_.filter.pop_back();
                }
                if (!state_.filter.empty()) {
                    state_.filter.pop_back();
                }
                break;
            case Key::Character:
                if (key.ch == kCtrlU) {
                    state_.filter.clear();
                } else if (key.ch >= 0x20 && key.ch <= 0x10FFFF && !(key.ch >= 0x7F && key.ch < 0xA0)) {
                    appendUtf8(state_.filter, key.ch);
                } else {
                    requests.redraw = false;
                }
                break;
            default:
                requests.redraw = false;
                break;
        }
        state_.scroll = 0;
        return requests;
    }

    switch (key.key) {
        case Key::Escape:
            if (state_.help) {
                state_.help = false;
            } else {
                requests.quit = true;
            }
            return requests;
        case Key::Left:
            moveThread(-1, requests);
            return requests;
        case Key::Right:
            moveThread(1, requests);
            return requests;
        case Key::Character:
            break;
        default:
            requests.redraw = false;
            return requests;
    }
    switch (key.ch) {
        case 'q':
        case 'Q':
            requests.quit = true;
            break;
        case 't':
        case 'o':
        case 'a':
            state_.sort = key.ch == 't' ? SortColumn::Total : key.ch == 'o' ? SortColumn::Own : SortColumn::Allocations;
            state_.scroll = 0;
            break;
        case 'm':
            state_.split = !state_.split;
            if (state_.split) {
                // The first thread seen (the main thread, as a rule); 1 is the capture's first
                // thread id, for a split before any thread is known.
                state_.thread = latest().threads.empty() ? 1 : latest().threads.front().tid;
            }
            state_.scroll = 0;
            requests.select_thread = selectionOf(state_);
            break;
        case '<':
            moveThread(-1, requests);
            break;
        case '>':
            moveThread(1, requests);
            break;
        case ' ':
            state_.paused = !state_.paused;
            if (state_.paused) {
                frozen_ = latest_;
            } else {
                frozen_.reset();
                requests.refresh_now = true;
            }
            break;
        case '/':
            state_.editing_filter = true;
            state_.help = false;
            break;
        case '?':
            state_.help = !state_.help;
            break;
        case '+':
        case '=':
        case '-':
        case '_': {
            const bool longer = key.ch == '+' || key.ch == '=';
            const milliseconds next = longer ? longerRefresh(state_.refresh) : shorterRefresh(state_.refresh);
            if (next != state_.refresh) {
                state_.refresh = next;
                requests.refresh = next;
            }
            break;
        }
        default:
            requests.redraw = false;
            break;
    }
    return requests;
}

}  // namespace memray::live::view
