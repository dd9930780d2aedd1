// The page writer's escaping: nothing in the title or the data can break out of its place.
#include "memray/reporters/html_report.h"

#include <gtest/gtest.h>

namespace memray::reporters {
namespace {

TEST(HtmlReport, EscapesTheTitle)
{
    const std::string page = renderHtmlReport(ReportView::Flamegraph, "a<b>&\"c\"", "{}");
    EXPECT_NE(page.find("<title>a&lt;b&gt;&amp;&quot;c&quot;</title>"), std::string::npos);
    EXPECT_EQ(page.find("a<b>"), std::string::npos);
}

TEST(HtmlReport, DataCannotCloseItsScriptElement)
{
    const std::string data = R"({"s":"</script><script>alert(1)</script><!--"})";
    const std::string page = renderHtmlReport(ReportView::Table, "t", data);
    EXPECT_NE(page.find(R"({"s":"\u003c/script>\u003cscript>alert(1)\u003c/script>\u003c!--"})"), std::string::npos);
    EXPECT_EQ(page.find("alert(1)</script>"), std::string::npos);
}

TEST(HtmlReport, EachViewHasItsAppAndOneDataElement)
{
    for (ReportView view : {ReportView::Flamegraph, ReportView::Table}) {
        const std::string page = renderHtmlReport(view, "t", R"({"x":1})");
        EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
        const std::string element = R"(<script type="application/json" id="memray-data">{"x":1}</script>)";
        const size_t at = page.find(element);
        ASSERT_NE(at, std::string::npos);
        EXPECT_EQ(page.find(element, at + 1), std::string::npos);
        EXPECT_EQ(page.find("MEMRAY:"), std::string::npos) << "every marker is filled";
        EXPECT_GT(page.size(), 20000u) << "the app is inlined";
    }
    EXPECT_NE(renderHtmlReport(ReportView::Flamegraph, "t", "{}"), renderHtmlReport(ReportView::Table, "t", "{}"));
}

}  // namespace
}  // namespace memray::reporters
