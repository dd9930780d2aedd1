#include "memray/reporters/text_style.h"

namespace memray::reporters {

Colour shareColour(double percent)
{
    if (percent > 60.0) {
        return Colour::Red;
    }
    if (percent > 20.0) {
        return Colour::Yellow;
    }
    if (percent > 5.0) {
        return Colour::Green;
    }
    return Colour::None;
}

std::string Painter::wrap(std::string_view text, std::string_view code) const
{
    if (!enabled_ || text.empty()) {
        return std::string(text);
    }
    std::string out;
    out.reserve(text.size() + code.size() + 8);
    out.append("\x1b[").append(code).append("m").append(text).append("\x1b[0m");
    return out;
}

std::string Painter::colour(std::string_view text, Colour colour) const
{
    switch (colour) {
        case Colour::Red:
            return wrap(text, "31");
        case Colour::Yellow:
            return wrap(text, "33");
        case Colour::Green:
            return wrap(text, "32");
        case Colour::Cyan:
            return wrap(text, "36");
        case Colour::None:
            break;
    }
    return std::string(text);
}

std::string Painter::bold(std::string_view text) const
{
    return wrap(text, "1");
}

std::string Painter::dim(std::string_view text) const
{
    return wrap(text, "2");
}

}  // namespace memray::reporters
