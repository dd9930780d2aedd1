// The report's string table: each distinct string once, referred to by index; index 0 is "".
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

namespace memray::reporters {

class StringTable
{
  public:
    StringTable() { intern(""); }

    uint32_t intern(std::string_view text)
    {
        auto found = index_.find(text);
        if (found != index_.end()) return found->second;
        const auto id = static_cast<uint32_t>(strings_.size());
        strings_.emplace_back(text);
        index_.emplace(strings_.back(), id);  // a view of the deque's copy, which never moves
        return id;
    }

    const std::deque<std::string>& strings() const { return strings_; }

  private:
    std::deque<std::string> strings_;
    std::unordered_map<std::string_view, uint32_t> index_;
};

}  // namespace memray::reporters
