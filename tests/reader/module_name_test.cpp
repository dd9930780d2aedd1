// How a source path maps to a module for "top allocating modules".
#include "memray/reader/module_name.h"

#include <gtest/gtest.h>

namespace memray::reader {
namespace {

TEST(ModuleName, SitePackagesGiveTheTopLevelPackage)
{
    EXPECT_EQ(moduleNameForFile("/opt/venv/lib/python3.11/site-packages/numpy/core/numeric.py"), "numpy");
    EXPECT_EQ(moduleNameForFile("/usr/lib/python3/dist-packages/requests/sessions.py"), "requests");
    EXPECT_EQ(moduleNameForFile("/opt/venv/lib/python3.11/site-packages/six.py"), "six");
    EXPECT_EQ(moduleNameForFile("/x/site-packages/_cffi_backend.cpython-311-x86_64-linux-gnu.so"), "_cffi_backend");
    // The innermost site-packages wins (a venv inside a package tree).
    EXPECT_EQ(moduleNameForFile("/a/site-packages/tool/vendor/site-packages/attr/_make.py"), "attr");
}

TEST(ModuleName, StandardLibraryGivesTheDottedModule)
{
    EXPECT_EQ(moduleNameForFile("/usr/lib/python3.11/json/decoder.py"), "json.decoder");
    EXPECT_EQ(moduleNameForFile("/usr/lib/python3.11/os.py"), "os");
    EXPECT_EQ(moduleNameForFile("/usr/lib/python3.11/collections/__init__.py"), "collections");
    EXPECT_EQ(moduleNameForFile("/root/.pyenv/versions/3.12.1/lib/python3.12/asyncio/events.py"), "asyncio.events");
    EXPECT_EQ(moduleNameForFile("/usr/lib/python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so"), "_json");
}

TEST(ModuleName, PseudoFilesAndOtherPaths)
{
    EXPECT_EQ(moduleNameForFile("<frozen importlib._bootstrap>"), "importlib._bootstrap");
    EXPECT_EQ(moduleNameForFile("<string>"), "<string>");
    EXPECT_EQ(moduleNameForFile("/home/me/app/main.py"), "main");
    EXPECT_EQ(moduleNameForFile("/home/me/app/pkg/__init__.py"), "pkg");
    EXPECT_EQ(moduleNameForFile("script.py"), "script");
    EXPECT_EQ(moduleNameForFile("/home/me/python3.11/notstdlib.py"), "notstdlib");
    EXPECT_EQ(moduleNameForFile(""), "<unknown>");
    EXPECT_EQ(moduleNameForFile("/"), "/");
    EXPECT_EQ(moduleNameForFile("/lib/python"), "python");
}

}  // namespace
}  // namespace memray::reader
