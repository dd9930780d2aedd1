#include "memray/reporters/transform/transform.h"

#include "memray/reporters/transform/csv.h"
#include "memray/reporters/transform/gprof2dot.h"
#include "memray/reporters/transform/speedscope.h"

#include <array>
#include <cctype>

namespace memray::reporters::transform {

namespace {

// memray's formats and the suffixes of its default file names.
constexpr std::array kFormats = {
    FormatInfo{Format::Gprof2dot, "gprof2dot", ".json"},
    FormatInfo{Format::Csv, "csv", ".csv"},
    FormatInfo{Format::Speedscope, "speedscope", ".speedscope.json"},
};

bool equalIgnoringCase(std::string_view a, std::string_view b)
{
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::span<const FormatInfo> formats()
{
    return kFormats;
}

const FormatInfo& formatInfo(Format format)
{
    for (const FormatInfo& info : kFormats) {
        if (info.format == format) return info;
    }
    return kFormats.front();
}

std::optional<Format> formatNamed(std::string_view name)
{
    for (const FormatInfo& info : kFormats) {
        if (equalIgnoringCase(info.name, name)) return info.format;
    }
    return std::nullopt;
}

bool wantsSplitThreads(Format format)
{
    return format == Format::Csv;
}

std::string renderTransform(Format format, const reader::AnalysedCapture& analysed, const TransformOptions& options)
{
    switch (format) {
        case Format::Csv: return renderCsv(analysed);
        case Format::Gprof2dot: return renderGprof2dot(analysed);
        case Format::Speedscope: return renderSpeedscope(analysed, options.exporter);
    }
    return {};
}

}  // namespace memray::reporters::transform
