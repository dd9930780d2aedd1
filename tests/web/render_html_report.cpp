// TEST TOOL: wraps a data JSON file into a report page through memray_reporters, so that the
// scale test renders synthetic data through the same code as `memray flamegraph`.
//   memray_test_render_html_report flamegraph|table TITLE DATA.json OUT.html
#include "memray/reporters/html_report.h"

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

int main(int argc, char** argv)
{
    if (argc != 5) {
        std::cerr << "usage: memray_test_render_html_report flamegraph|table TITLE DATA.json OUT.html\n";
        return 2;
    }
    const std::string view = argv[1];
    std::ifstream in(argv[3], std::ios::binary);
    std::stringstream data;
    data << in.rdbuf();
    std::ofstream out(argv[4], std::ios::binary);
    memray::reporters::writeHtmlReport(out,
                                       view == "table" ? memray::reporters::ReportView::Table
                                                       : memray::reporters::ReportView::Flamegraph,
                                       argv[2], data.str());
    if (!in || !out) {
        std::cerr << "memray_test_render_html_report: cannot read " << argv[3] << " or write " << argv[4] << "\n";
        return 1;
    }
    return 0;
}
