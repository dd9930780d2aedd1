#include "memray/reader/module_name.h"

#include <cctype>

namespace memray::reader {

namespace {

// "name.cpython-311-x86_64-linux-gnu.so" and "name.py" -> "name": a module's file name is its
// name plus suffixes, and a module name never contains a dot.
std::string_view stem(std::string_view file_name)
{
    return file_name.substr(0, file_name.find('.'));
}

std::string_view lastComponent(std::string_view path)
{
    const size_t slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view parentDirectory(std::string_view path)
{
    const size_t slash = path.rfind('/');
    return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

// Where the part of `path` below a package root starts, if a site-packages or dist-packages
// directory is on it (the last one, for virtualenvs nested in odd places).
size_t afterPackagesDirectory(std::string_view path)
{
    size_t best = std::string_view::npos;
    for (std::string_view marker : {std::string_view("/site-packages/"), std::string_view("/dist-packages/")}) {
        const size_t at = path.rfind(marker);
        if (at != std::string_view::npos && (best == std::string_view::npos || at + marker.size() > best)) {
            best = at + marker.size();
        }
    }
    return best;
}

// Where the part of `path` below a standard library directory ("/lib/python3.11/") starts.
size_t afterStdlibDirectory(std::string_view path)
{
    constexpr std::string_view kMarker = "/lib/python";
    for (size_t at = path.rfind(kMarker); at != std::string_view::npos;
         at = at == 0 ? std::string_view::npos : path.rfind(kMarker, at - 1))
    {
        size_t i = at + kMarker.size();
        const size_t version_start = i;
        while (i < path.size() && (std::isdigit(static_cast<unsigned char>(path[i])) || path[i] == '.')) {
            ++i;
        }
        if (i > version_start && i < path.size() && path[i] == '/') {
            return i + 1;
        }
    }
    return std::string_view::npos;
}

std::string dottedModule(std::string_view relative)
{
    constexpr std::string_view kDynload = "lib-dynload/";
    if (relative.starts_with(kDynload)) {
        return std::string(stem(relative.substr(kDynload.size())));
    }
    std::string_view directory = parentDirectory(relative);
    std::string_view name = stem(lastComponent(relative));
    std::string dotted(directory);
    for (char& c : dotted) {
        if (c == '/') {
            c = '.';
        }
    }
    if (name == "__init__" || name == "__main__") {
        return dotted.empty() ? std::string(name) : dotted;
    }
    return dotted.empty() ? std::string(name) : dotted + "." + std::string(name);
}

}  // namespace

std::string moduleNameForFile(std::string_view path)
{
    if (path.empty()) {
        return std::string(kUnknownLocation);
    }
    if (path.front() == '<') {
        constexpr std::string_view kFrozen = "<frozen ";
        if (path.starts_with(kFrozen) && path.back() == '>') {
            return std::string(path.substr(kFrozen.size(), path.size() - kFrozen.size() - 1));
        }
        return std::string(path);
    }
    if (size_t start = afterPackagesDirectory(path); start != std::string_view::npos) {
        std::string_view relative = path.substr(start);
        const size_t slash = relative.find('/');
        return std::string(slash == std::string_view::npos ? stem(relative) : relative.substr(0, slash));
    }
    if (size_t start = afterStdlibDirectory(path); start != std::string_view::npos) {
        return dottedModule(path.substr(start));
    }
    std::string_view name = stem(lastComponent(path));
    if (name == "__init__") {
        std::string_view package = lastComponent(parentDirectory(path));
        if (!package.empty()) {
            return std::string(package);
        }
    }
    return name.empty() ? std::string(path) : std::string(name);
}

}  // namespace memray::reader
