// Which module a source file belongs to, for "top allocating modules".
//
// The capture does not record sys.path, so the module is derived from the path alone:
//   .../site-packages/numpy/core/numeric.py  -> numpy      (the distribution's top-level
//   .../dist-packages/six.py                 -> six         package, or a top-level module)
//   /usr/lib/python3.11/json/decoder.py      -> json.decoder (the standard library: the dotted
//   /usr/lib/python3.11/os.py                -> os           module name; a package's
//   /usr/lib/python3.11/json/__init__.py     -> json         __init__ is the package)
//   .../lib-dynload/_json.cpython-311-x86_64-linux-gnu.so -> _json
//   <frozen importlib._bootstrap>            -> importlib._bootstrap
//   <string>, <stdin>, ...                   -> unchanged
//   /home/me/app/main.py                     -> main        (anything else: the file's stem;
//   /home/me/app/pkg/__init__.py             -> pkg          for __init__, its directory)
//   "" (no Python frame)                     -> <unknown>
#pragma once

#include <string>
#include <string_view>

namespace memray::reader {

inline constexpr std::string_view kUnknownLocation = "<unknown>";

std::string moduleNameForFile(std::string_view path);

}  // namespace memray::reader
