// The text of a source line, for the flame graph's tooltips. Each file is read once, on first
// use; files that cannot be read (gone, "<frozen ...>", "<string>", not regular, too large)
// simply have no lines.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace memray::reporters {

class SourceLines
{
  public:
    // Line `line` (1-based) of `file` without its surrounding whitespace; "" when unknown.
    std::string_view line(const std::string& file, uint64_t line);

  private:
    struct File
    {
        std::string text;
        std::vector<size_t> line_starts;
    };
    const File& load(const std::string& path);

    std::unordered_map<std::string, File> files_;
};

}  // namespace memray::reporters
