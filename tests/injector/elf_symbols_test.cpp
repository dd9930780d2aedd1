// Symbol resolution (elf_file.h, target_modules.h, python_probe.h) against real binaries:
//  - the small dynamic-symbol image LIEF parses gives exactly the symbols of a full LIEF parse;
//  - in live interpreters (every one under test, static and shared libpython), the addresses
//    we compute from the files match what dlsym() returns inside the process (ctypes prints
//    them), and the Python version matches sys.version_info.
#include "memray/injector/elf_file.h"
#include "memray/injector/python_probe.h"
#include "memray/injector/target_modules.h"

#include <LIEF/ELF.hpp>
#include <LIEF/logging.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#ifndef MEMRAY_TEST_PYTHONS
#error "MEMRAY_TEST_PYTHONS must list the interpreters under test"
#endif

namespace memray::injector {
namespace {

std::vector<std::string> interpreters()
{
    std::vector<std::string> result;
    std::stringstream list(MEMRAY_TEST_PYTHONS);
    std::string item;
    while (std::getline(list, item, ':')) {
        if (!item.empty() && access(item.c_str(), X_OK) == 0) {
            result.push_back(item);
        }
    }
    return result;
}

bool exists(const std::string& path)
{
    return access(path.c_str(), R_OK) == 0;
}

// Every defined dynamic symbol of a full (slow) LIEF parse, by name -> {value, size}; of a
// name with several versions, the default one (name@@VERSION), as the injector wants it.
std::map<std::string, std::pair<uint64_t, uint64_t>> fullParse(const std::string& path)
{
    LIEF::Logger::disable();
    std::map<std::string, std::pair<uint64_t, uint64_t>> symbols;
    auto binary = LIEF::ELF::Parser::parse(path, LIEF::ELF::DYNSYM_COUNT_METHODS::COUNT_SECTION);
    for (const LIEF::ELF::Symbol& symbol : binary->dynamic_symbols()) {
        if (symbol.shndx() == 0 || symbol.name().empty()) {
            continue;
        }
        bool hidden = symbol.has_version() && (symbol.symbol_version().value() & 0x8000) != 0;
        if (!hidden || !symbols.count(symbol.name())) {
            symbols[symbol.name()] = {symbol.value(), symbol.size()};
        }
    }
    return symbols;
}

TEST(ElfFile, TheSmallImageHasTheSameSymbolsAsTheWholeFile)
{
    std::vector<std::string> files = {"/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"};
    for (const std::string& python : interpreters()) {
        files.push_back(python);
        std::string prefix = python.substr(0, python.rfind("/bin/"));
        std::string version = python.substr(python.rfind("python") + 6);
        // 3.7 carries its ABI flags in the name: libpython3.7m.so.1.0.
        for (const char* abi : {"", "m"}) {
            std::string library = prefix + "/lib/libpython" + version + abi + ".so.1.0";
            if (exists(library)) {
                files.push_back(library);
                break;
            }
        }
        if (files.back().find("/libpython") != std::string::npos) {
            break;  // one full parse of a libpython is slow enough
        }
    }
    for (const std::string& path : files) {
        SCOPED_TRACE(path);
        ElfFile file = ElfFile::load(path);
        auto expected = fullParse(path);
        ASSERT_GT(expected.size(), 0u);
        EXPECT_EQ(file.symbolCount(), expected.size());
        for (const auto& [name, value_size] : expected) {
            auto symbol = file.symbol(name);
            ASSERT_TRUE(symbol) << name;
            EXPECT_EQ(symbol->value, value_size.first) << name;
            EXPECT_EQ(symbol->size, value_size.second) << name;
        }
    }
}

TEST(ElfFile, RefusesWhatIsNotElf)
{
    EXPECT_THROW(ElfFile::load("/etc/hostname"), ElfError);
    EXPECT_THROW(ElfFile::load("/nonexistent/file"), ElfError);
}

TEST(PythonNames, VersionFromFileNames)
{
    int major = 0, minor = 0;
    bool free_threaded = true;
    EXPECT_TRUE(versionFromFileName("libpython3.12.so.1.0", &major, &minor, &free_threaded));
    EXPECT_EQ(major, 3);
    EXPECT_EQ(minor, 12);
    EXPECT_FALSE(free_threaded);
    EXPECT_TRUE(versionFromFileName("libpython3.13t.so.1.0", &major, &minor, &free_threaded));
    EXPECT_TRUE(free_threaded);
    EXPECT_TRUE(versionFromFileName("python3.8", &major, &minor, &free_threaded));
    EXPECT_EQ(minor, 8);
    EXPECT_TRUE(versionFromFileName("libpython3.7m.so.1.0", &major, &minor, &free_threaded));
    EXPECT_EQ(minor, 7);
    EXPECT_FALSE(free_threaded);
    EXPECT_TRUE(versionFromFileName("python3.6m", &major, &minor, &free_threaded));
    EXPECT_EQ(minor, 6);
    EXPECT_FALSE(free_threaded);
    EXPECT_FALSE(versionFromFileName("ld-linux-x86-64.so.2", &major, &minor, &free_threaded));
    EXPECT_TRUE(isLibcName("libc.so.6"));
    EXPECT_FALSE(isLibcName("libcrypto.so.3"));
    EXPECT_TRUE(isDynamicLoaderName("ld-linux-x86-64.so.2"));
    EXPECT_TRUE(isLibpythonName("libpython3.9.so.1.0"));
    EXPECT_TRUE(isLibpythonName("libpython3.7m.so.1.0"));
}

// A child interpreter that prints "NAME ADDRESS" lines for what dlsym finds, then waits.
class LivePython
{
  public:
    explicit LivePython(const std::string& python)
    {
        const char* script = R"PY(
import ctypes, sys
api = ctypes.pythonapi
# libc's own handle: through RTLD_DEFAULT, a non-PIE executable's canonical PLT entry for
# malloc would answer instead of libc's malloc.
libc = ctypes.CDLL("libc.so.6")
everything = ctypes.CDLL(None)
def address(library, name):
    return ctypes.cast(getattr(library, name), ctypes.c_void_p).value
for name in ("PyGILState_Ensure", "PyGILState_Release", "Py_IsInitialized", "Py_GetVersion"):
    print("py", name, address(api, name))
for name in ("dlopen", "dlsym", "dlerror", "__errno_location", "malloc", "free", "pthread_create"):
    print("libc", name, address(libc, name))
# RTLD_DEFAULT: ld.so's own handle does not search ld.so itself.
print("ld", "_r_debug", ctypes.addressof(ctypes.c_int.in_dll(everything, "_r_debug")))
if sys.version_info >= (3, 11):
    print("py", "Py_Version", ctypes.addressof(ctypes.c_ulong.in_dll(api, "Py_Version")))
print("version", "%d.%d.%d" % sys.version_info[:3])
print("end", flush=True)
sys.stdin.read()
)PY";
        int in[2], out[2];
        if (pipe(in) != 0 || pipe(out) != 0) {
            return;
        }
        pid_ = fork();
        if (pid_ == 0) {
            dup2(in[0], 0);
            dup2(out[1], 1);
            close(in[1]);
            close(out[0]);
            execl(python.c_str(), python.c_str(), "-c", script, nullptr);
            _exit(127);
        }
        close(in[0]);
        close(out[1]);
        stdin_ = in[1];
        FILE* output = fdopen(out[0], "r");
        char line[512];
        while (output && fgets(line, sizeof(line), output)) {
            std::istringstream fields(line);
            std::string kind, name, value;
            fields >> kind >> name;
            if (kind == "end") {
                break;
            }
            if (kind == "version") {
                version_ = name;
                continue;
            }
            fields >> value;
            addresses_[kind + ":" + name] = std::stoull(value);
        }
        if (output) {
            fclose(output);
        }
    }
    ~LivePython()
    {
        if (stdin_ >= 0) {
            close(stdin_);
        }
        if (pid_ > 0) {
            int status;
            waitpid(pid_, &status, 0);
        }
    }
    pid_t pid() const { return pid_; }
    const std::map<std::string, uint64_t>& addresses() const { return addresses_; }
    const std::string& version() const { return version_; }

  private:
    pid_t pid_ = -1;
    int stdin_ = -1;
    std::map<std::string, uint64_t> addresses_;
    std::string version_;
};

TEST(TargetModules, AddressesMatchDlsymInLiveInterpreters)
{
    auto pythons = interpreters();
    if (pythons.empty()) {
        GTEST_SKIP() << "no interpreter to test";
    }
    for (const std::string& python : pythons) {
        SCOPED_TRACE(python);
        LivePython live(python);
        ASSERT_GT(live.pid(), 0);
        ASSERT_GE(live.addresses().size(), 12u);
        TargetModules modules(live.pid(), readMaps(live.pid()));
        PythonProcess probed = probePython(live.pid(), "python", modules);
        EXPECT_EQ(probed.static_libpython, python == "/usr/bin/python3.11");
        std::string expected_version = live.version();
        if (probed.micro < 0) {  // 3.7-3.10: major.minor from the file name
            expected_version = expected_version.substr(0, expected_version.rfind('.'));
        }
        EXPECT_EQ(probed.version(), expected_version);
        for (const auto& [key, address] : live.addresses()) {
            std::string kind = key.substr(0, key.find(':'));
            std::string name = key.substr(key.find(':') + 1);
            const Module* module = kind == "py" ? probed.module : kind == "libc" ? modules.libc() : modules.dynamicLoader();
            ASSERT_TRUE(module) << key;
            EXPECT_EQ(module->address(name), std::optional<uint64_t>(address)) << key;
        }
    }
}

}  // namespace
}  // namespace memray::injector

namespace memray::injector {
namespace {

// A copy of `path` without section headers, as sstrip leaves a file.
std::string withoutSectionHeaders(const std::string& path, const std::string& copy)
{
    FILE* in = fopen(path.c_str(), "rb");
    std::vector<char> bytes;
    char chunk[65536];
    size_t count;
    while (in && (count = fread(chunk, 1, sizeof(chunk), in)) > 0) {
        bytes.insert(bytes.end(), chunk, chunk + count);
    }
    if (in) {
        fclose(in);
    }
    // e_shoff (offset 40, 8 bytes), e_shnum (60, 2), e_shstrndx (62, 2)
    std::fill(bytes.begin() + 40, bytes.begin() + 48, 0);
    std::fill(bytes.begin() + 60, bytes.begin() + 64, 0);
    FILE* out = fopen(copy.c_str(), "wb");
    fwrite(bytes.data(), 1, bytes.size(), out);
    fclose(out);
    return copy;
}

TEST(ElfFile, AFileWithoutSectionHeadersStillHasItsSymbols)
{
    // ld.so: SysV and GNU hash tables; python3.11 (if here): a GNU hash table only.
    std::vector<std::string> files = {"/lib64/ld-linux-x86-64.so.2"};
    if (exists("/usr/bin/python3.11")) {
        files.push_back("/usr/bin/python3.11");
    }
    for (const std::string& path : files) {
        SCOPED_TRACE(path);
        std::string copy = withoutSectionHeaders(path, ::testing::TempDir() + "/sstripped");
        ElfFile stripped = ElfFile::load(copy);
        ElfFile original = ElfFile::load(path);
        EXPECT_EQ(stripped.symbolCount(), original.symbolCount());
        for (const char* name : {"_r_debug", "_dl_mcount", "Py_Version", "PyGILState_Ensure", "malloc"}) {
            EXPECT_EQ(stripped.symbol(name).has_value(), original.symbol(name).has_value()) << name;
            if (original.symbol(name)) {
                EXPECT_EQ(stripped.symbol(name)->value, original.symbol(name)->value) << name;
            }
        }
        unlink(copy.c_str());
    }
}

}  // namespace
}  // namespace memray::injector
