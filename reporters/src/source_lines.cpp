#include "source_lines.h"

#include <fstream>
#include <sys/stat.h>

namespace memray::reporters {

namespace {

// Source files are small; anything larger is not worth holding in memory for a tooltip.
constexpr off_t kMaxSourceBytes = 16 << 20;
// A tooltip shows one line; a minified line of megabytes would only bloat the report.
constexpr size_t kMaxLineBytes = 300;

bool isReadableSource(const std::string& path)
{
    struct stat info;
    return !path.empty() && path.front() != '<' && ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode)
           && info.st_size <= kMaxSourceBytes;
}

std::string_view strip(std::string_view text)
{
    const auto first = text.find_first_not_of(" \t\r\n\f\v");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t\r\n\f\v");
    return text.substr(first, last - first + 1);
}

}  // namespace

const SourceLines::File& SourceLines::load(const std::string& path)
{
    auto [entry, inserted] = files_.try_emplace(path);
    File& file = entry->second;
    if (!inserted || !isReadableSource(path)) return file;
    std::ifstream in(path, std::ios::binary);
    file.text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    file.line_starts.push_back(0);
    for (size_t i = 0; i < file.text.size(); ++i) {
        if (file.text[i] == '\n') file.line_starts.push_back(i + 1);
    }
    return file;
}

std::string_view SourceLines::line(const std::string& path, uint64_t line)
{
    const File& file = load(path);
    if (line == 0 || line > file.line_starts.size()) return {};
    const size_t start = file.line_starts[line - 1];
    const size_t end = line < file.line_starts.size() ? file.line_starts[line] : file.text.size();
    const std::string_view text = strip(std::string_view(file.text).substr(start, end - start));
    return text.size() <= kMaxLineBytes ? text : std::string_view();
}

}  // namespace memray::reporters
