// Colours and emphasis for terminal reports, as ANSI SGR escape sequences.
//
// A disabled Painter returns text unchanged, so a report renders the same way on a terminal
// and into a pipe, differing only in the escape sequences.
#pragma once

#include <string>
#include <string_view>

namespace memray::reporters {

enum class Colour {
    None,
    Red,
    Yellow,
    Green,
    Cyan,
};

// The colour of a share of the snapshot: red above 60%, yellow above 20%, green above 5%, no
// colour below (memray's thresholds), so the few lines that matter stand out.
Colour shareColour(double percent);

class Painter
{
  public:
    explicit Painter(bool enabled)
    : enabled_(enabled)
    {
    }

    bool enabled() const { return enabled_; }
    std::string colour(std::string_view text, Colour colour) const;
    std::string bold(std::string_view text) const;
    std::string dim(std::string_view text) const;
    // Coloured by shareColour(percent).
    std::string share(std::string_view text, double percent) const { return colour(text, shareColour(percent)); }

  private:
    std::string wrap(std::string_view text, std::string_view code) const;

    bool enabled_;
};

}  // namespace memray::reporters
