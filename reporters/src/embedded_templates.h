// The report templates built from reporters/web (see reporters/CMakeLists.txt): complete HTML
// pages with the app's JS and CSS inline and two markers to fill, <!--MEMRAY:TITLE--> and
// <!--MEMRAY:DATA-->.
#pragma once

#include <string_view>

namespace memray::reporters {

std::string_view flamegraphTemplate();
std::string_view tableTemplate();

}  // namespace memray::reporters
