#include "read_progress_bar.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace memray::cli {

namespace {

// Quick reads show nothing: the bar appears only once reading has taken this long
// (MEMRAY_PROGRESS_AFTER_MS overrides it; 0 shows it from the first chunk).
constexpr auto kQuietFor = std::chrono::milliseconds(1000);
// Redraws are limited to this often (each is one write(2) of a line).
constexpr auto kRedrawEvery = std::chrono::milliseconds(100);
constexpr unsigned kMaxBarColumns = 40;

std::chrono::milliseconds quietFor()
{
    const char* setting = std::getenv("MEMRAY_PROGRESS_AFTER_MS");
    if (setting && *setting) {
        char* end = nullptr;
        const long long ms = std::strtoll(setting, &end, 10);
        if (*end == '\0' && ms >= 0) {
            return std::chrono::milliseconds(ms);
        }
    }
    return kQuietFor;
}

bool stderrIsAnsiTerminal()
{
    const char* term = std::getenv("TERM");
    if (term && std::string_view(term) == "dumb") {
        return false;
    }
    return ::isatty(STDERR_FILENO) == 1;
}

// Asked at every redraw, so a resized terminal gets a line that fits.
unsigned terminalColumns()
{
    struct winsize size {};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
        return size.ws_col;
    }
    return 80;
}

void writeToStderr(const std::string& text)
{
    size_t done = 0;
    while (done < text.size()) {
        const ssize_t written = ::write(STDERR_FILENO, text.data() + done, text.size() - done);
        if (written <= 0) {
            return;  // a progress bar is not worth an error (EINTR included: the next redraw)
        }
        done += static_cast<size_t>(written);
    }
}

// Columns a UTF-8 string takes, counting one per code point (file names are rarely wider).
size_t columnsOf(std::string_view text)
{
    return static_cast<size_t>(std::count_if(text.begin(), text.end(),
                                             [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// The first `columns` code points of `text`, ending in "…" when something was cut.
std::string fitColumns(std::string_view text, size_t columns)
{
    if (columnsOf(text) <= columns) {
        return std::string(text);
    }
    if (columns == 0) {
        return {};
    }
    size_t kept = 0;
    size_t end = 0;
    while (end < text.size()) {
        const bool starts = (static_cast<unsigned char>(text[end]) & 0xC0) != 0x80;
        if (starts && ++kept == columns) {  // room for the ellipsis
            break;
        }
        ++end;
    }
    return std::string(text.substr(0, end)) + "\u2026";
}

// "1.2/2.6 GB": both amounts in the unit of the file's size.
std::string amounts(uint64_t done, uint64_t total)
{
    static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB"};
    double scale = 1;
    size_t unit = 0;
    while (unit + 1 < std::size(kUnits) && static_cast<double>(total) / scale >= 1000) {
        scale *= 1000;
        ++unit;
    }
    char text[64];
    std::snprintf(text, sizeof(text), unit == 0 ? "%.0f/%.0f %s" : "%.1f/%.1f %s", static_cast<double>(done) / scale,
                  static_cast<double>(total) / scale, kUnits[unit]);
    return text;
}

}  // namespace

std::string readProgressLine(const std::string& path, unsigned pass, uint64_t bytes_read, uint64_t file_size,
                             unsigned columns)
{
    const size_t slash = path.rfind('/');
    std::string label = "Reading " + (slash == std::string::npos ? path : path.substr(slash + 1));
    if (pass > 1) {
        label += " (pass " + std::to_string(pass) + ")";
    }
    bytes_read = std::min(bytes_read, file_size);
    const unsigned percent = file_size ? static_cast<unsigned>(bytes_read * 100 / file_size) : 100;
    char percent_text[8];
    std::snprintf(percent_text, sizeof(percent_text), "%3u%%", percent);
    std::string size_text = amounts(bytes_read, file_size);
    // Padded to its widest ("119.1/119.1 MB"), so that the bar keeps its length as it fills.
    const size_t widest = amounts(file_size, file_size).size();
    size_text.insert(0, widest > size_text.size() ? widest - size_text.size() : 0, ' ');

    const size_t width = columns > 1 ? columns - 1 : 0;
    // Room for: label, "  45% ", "[bar]", "  1.2/2.6 GB". The bar and the amounts go first when
    // the terminal is narrow; the percentage stays as long as anything does.
    const size_t fixed = 2 + 4 + 1 + 2 + size_text.size();
    const size_t room_for_bar = width > columnsOf(label) + fixed ? width - columnsOf(label) - fixed : 0;
    if (room_for_bar >= 10) {
        const size_t bar = std::min<size_t>(room_for_bar - 2, kMaxBarColumns);
        const size_t filled = file_size ? static_cast<size_t>(bar * bytes_read / file_size) : bar;
        return label + "  " + percent_text + " [" + std::string(filled, '#') + std::string(bar - filled, '.') + "]  "
               + size_text;
    }
    const std::string tail = std::string("  ") + percent_text;
    if (width <= tail.size()) {
        return fitColumns(percent_text, width);
    }
    return fitColumns(label, width - tail.size()) + tail;
}

ReadProgressBar::ReadProgressBar()
: started_(Clock::now())
, quiet_for_(quietFor())
{
    if (stderrIsAnsiTerminal()) {
        listening_ = true;
        reader::setReadProgressListener(this);
    }
}

ReadProgressBar::~ReadProgressBar()
{
    if (listening_) {
        reader::setReadProgressListener(nullptr);
        std::lock_guard lock(mutex_);
        eraseLocked();
    }
}

void ReadProgressBar::advanced(const void* reader, const std::string& path, uint64_t bytes_read, uint64_t file_size)
{
    const Clock::time_point now = Clock::now();
    std::lock_guard lock(mutex_);
    if (reader != reader_) {
        reader_ = reader;
        ++passes_;
    } else if (drawn_ && now - last_draw_ < kRedrawEvery) {
        return;
    }
    if (now - started_ < quiet_for_) {
        return;
    }
    // "\r" back to the line's start, the new line, then "\x1b[K" clears what a longer previous
    // line left to the right of it.
    writeToStderr("\r" + readProgressLine(path, passes_, bytes_read, file_size, terminalColumns()) + "\x1b[K");
    drawn_ = true;
    last_draw_ = now;
}

void ReadProgressBar::finished(const void* reader)
{
    std::lock_guard lock(mutex_);
    if (reader == reader_) {
        eraseLocked();
        reader_ = nullptr;  // the next reader is the next pass, even at the same address
    }
}

void ReadProgressBar::eraseLocked()
{
    if (drawn_) {
        writeToStderr("\r\x1b[K");
        drawn_ = false;
    }
}

}  // namespace memray::cli
