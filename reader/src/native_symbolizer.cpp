#include "memray/reader/native_symbolizer.h"

#include "dwarf_function_index.h"

#include <cxxabi.h>
#include <sys/stat.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace memray::reader {

namespace {

// Finds separate debug info the standard ways; the object itself is reported by path.
char* g_debuginfo_path = nullptr;
const Dwfl_Callbacks kOfflineCallbacks = {
        .find_elf = dwfl_build_id_find_elf,
        .find_debuginfo = dwfl_standard_find_debuginfo,
        .section_address = dwfl_offline_section_address,
        .debuginfo_path = &g_debuginfo_path,
};

std::string demangle(const char* name)
{
    if (name == nullptr) {
        return {};
    }
    if (name[0] == '_' && name[1] == 'Z') {
        int status = 0;
        char* readable = abi::__cxa_demangle(name, nullptr, nullptr, &status);
        if (status == 0 && readable) {
            std::string result(readable);
            std::free(readable);
            return result;
        }
    }
    return name;
}

// The name of a subprogram or inlined subroutine DIE: the linkage name demangled (it carries
// C++ scopes and parameters), else the plain name, following abstract origins.
std::string dieFunctionName(Dwarf_Die* die)
{
    Dwarf_Attribute attribute;
    for (int name : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name}) {
        if (dwarf_attr_integrate(die, name, &attribute)) {
            if (const char* linkage = dwarf_formstring(&attribute)) {
                return demangle(linkage);
            }
        }
    }
    if (dwarf_attr_integrate(die, DW_AT_name, &attribute)) {
        if (const char* plain = dwarf_formstring(&attribute)) {
            return plain;
        }
    }
    return {};
}

// Where an inlined subroutine was called from (its DW_AT_call_file / DW_AT_call_line).
bool callSite(Dwarf_Die* inlined, Dwarf_Die* cu, const char** file, uint64_t* line)
{
    Dwarf_Attribute attribute;
    Dwarf_Word value = 0;
    *file = nullptr;
    *line = 0;
    if (dwarf_attr(inlined, DW_AT_call_line, &attribute) && dwarf_formudata(&attribute, &value) == 0) {
        *line = value;
    }
    Dwarf_Files* files = nullptr;
    size_t count = 0;
    if (dwarf_attr(inlined, DW_AT_call_file, &attribute) && dwarf_formudata(&attribute, &value) == 0
        && dwarf_getsrcfiles(cu, &files, &count) == 0 && value < count)
    {
        *file = dwarf_filesrc(files, value, nullptr, nullptr);
    }
    return *line != 0;
}

std::string hexOffset(uint64_t value)
{
    char text[32];
    std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
    return text;
}

std::string_view basename(std::string_view path)
{
    const size_t slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

struct NativeSymbolizer::ObjectDebugInfo
{
    Dwfl* dwfl = nullptr;
    Dwfl_Module* module = nullptr;
    DwarfFunctionIndex functions;

    ~ObjectDebugInfo()
    {
        if (dwfl) {
            dwfl_end(dwfl);
        }
    }
};

NativeSymbolizer::NativeSymbolizer(const CaptureReader& capture)
: capture_(capture)
{
}

NativeSymbolizer::~NativeSymbolizer() = default;

std::string_view NativeSymbolizer::intern(std::string_view text)
{
    return *strings_.emplace(text).first;
}

NativeSymbolizer::ObjectDebugInfo* NativeSymbolizer::debugInfo(const LoadedImage& image)
{
    auto [it, inserted] = objects_.try_emplace(&image);
    if (inserted) {
        // One session per object: objects of different generations may overlap in addresses.
        auto info = std::make_unique<ObjectDebugInfo>();
        // Only regular files: a path in a damaged or hostile capture could name a FIFO (opening
        // it would block) or a device.
        struct stat file_info;
        const bool regular = ::stat(image.path.c_str(), &file_info) == 0 && S_ISREG(file_info.st_mode);
        info->dwfl = regular ? dwfl_begin(&kOfflineCallbacks) : nullptr;
        if (info->dwfl) {
            dwfl_report_begin(info->dwfl);
            info->module = dwfl_report_elf(info->dwfl, image.path.c_str(), image.path.c_str(), -1, image.load_bias, false);
            dwfl_report_end(info->dwfl, nullptr, nullptr);
        }
        // A file rebuilt since the capture would give confidently wrong names: only the
        // object and offset are trustworthy then.
        const unsigned char* bits = nullptr;
        GElf_Addr vaddr = 0;
        const int length = info->module ? dwfl_module_build_id(info->module, &bits, &vaddr) : 0;
        if (!image.build_id.empty() && length > 0
            && std::string_view(reinterpret_cast<const char*>(bits), static_cast<size_t>(length)) != image.build_id)
        {
            info->module = nullptr;
        }
        it->second = std::move(info);
    }
    return it->second->module ? it->second.get() : nullptr;
}

void NativeSymbolizer::symbolize(uint64_t address, const LoadedImage* image, std::vector<SymbolizedFrame>* out)
{
    ++addresses_symbolized_;
    const std::string_view image_path = image ? intern(image->path) : std::string_view();
    // A return address points after the call; the call itself is one byte before.
    const Dwarf_Addr pc = address > 0 ? address - 1 : 0;
    ObjectDebugInfo* info = image ? debugInfo(*image) : nullptr;
    if (info) {
        Dwarf_Addr bias = 0;
        Dwarf_Die* cu = dwfl_module_addrdie(info->module, pc, &bias);
        const std::vector<Dwarf_Die> chain = cu ? info->functions.chainAt(cu, pc - bias) : std::vector<Dwarf_Die>();
        if (!chain.empty()) {
            // The innermost function's position comes from the line table; each inlined
            // call's call site is the position in the function it was inlined into.
            const char* file = nullptr;
            int line = 0;
            if (Dwfl_Line* source = dwfl_module_getsrc(info->module, pc)) {
                file = dwfl_lineinfo(source, nullptr, &line, nullptr, nullptr, nullptr);
            }
            uint64_t position_line = line > 0 ? static_cast<uint64_t>(line) : 0;
            for (size_t i = chain.size(); i-- > 0;) {
                Dwarf_Die die = chain[i];
                std::string name = dieFunctionName(&die);
                if (name.empty()) {
                    name = "<unnamed>";
                }
                out->push_back(SymbolizedFrame{intern(name), file ? intern(file) : std::string_view(), position_line,
                                               image_path, i > 0});
                if (i > 0) {
                    callSite(&die, cu, &file, &position_line);
                }
            }
            return;
        }
        // No DWARF here: the symbol table.
        if (const char* symbol = dwfl_module_addrname(info->module, pc)) {
            out->push_back(SymbolizedFrame{intern(demangle(symbol)), {}, 0, image_path, false});
            return;
        }
    }
    // Nothing but the object and the offset into it.
    std::string text = image ? std::string(basename(image->path)) + "+" + hexOffset(address - image->load_bias)
                             : hexOffset(address);
    out->push_back(SymbolizedFrame{intern(text), {}, 0, image_path, false, true});
}

std::vector<SymbolizedFrame> NativeSymbolizer::symbolizeAddress(uint64_t address, const LoadedImage* image)
{
    auto [it, inserted] = by_address_.try_emplace(AddressKey{image, address});
    if (inserted) {
        symbolize(address, image, &it->second);
    }
    return it->second;
}

const std::vector<SymbolizedFrame>& NativeSymbolizer::frames(uint64_t native_frame_id)
{
    const NativeFrameEntry* node = capture_.nativeFrame(native_frame_id);
    if (!node) {
        return empty_;
    }
    if (native_frame_id >= by_native_id_.size()) {
        by_native_id_.resize(native_frame_id + 1, nullptr);
    }
    const std::vector<SymbolizedFrame>*& slot = by_native_id_[native_frame_id];
    if (!slot) {
        const LoadedImage* image = capture_.imageAt(node->address, node->generation);
        auto [it, inserted] = by_address_.try_emplace(AddressKey{image, node->address});
        if (inserted) {
            symbolize(node->address, image, &it->second);
        }
        slot = &it->second;
    }
    return *slot;
}

}  // namespace memray::reader
