#include "remote_unwinder.h"

#include "remote_memory.h"

#include <libunwind.h>

#include <algorithm>
#include <cstring>
#include <elf.h>
#include <map>

// Exported by libunwind but not declared in its public headers (perf declares it the same way).
extern "C" int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t space,
                                                  unw_word_t ip,
                                                  unw_dyn_info_t* info,
                                                  unw_proc_info_t* proc,
                                                  int need_unwind_info,
                                                  void* arg);

namespace memray::injector {

struct RemoteUnwinder::Table
{
    uint64_t start_ip = 0;
    uint64_t end_ip = 0;
    unw_dyn_info_t info{};
};

namespace {

constexpr uint64_t kPage = 4096;
// .eh_frame_hdr encodings libunwind's table search understands (what every linker emits).
constexpr uint8_t kUdata4 = 0x03;
constexpr uint8_t kDatarelSdata4 = 0x3b;
constexpr uint8_t kOmit = 0xff;

RemoteUnwinder* self(void* arg)
{
    return static_cast<RemoteUnwinder*>(arg);
}

int findProcInfo(unw_addr_space_t space, unw_word_t ip, unw_proc_info_t* proc, int need_unwind_info, void* arg)
{
    const RemoteUnwinder::Table* table = self(arg)->tableFor(ip);
    if (!table) {
        return -UNW_ENOINFO;
    }
    unw_dyn_info_t info = table->info;
    return _Ux86_64_dwarf_search_unwind_table(space, ip, &info, proc, need_unwind_info, arg);
}

void putUnwindInfo(unw_addr_space_t, unw_proc_info_t*, void*)
{
    // Table-format info is released by libunwind itself.
}

int getDynInfoListAddr(unw_addr_space_t, unw_word_t*, void*)
{
    return -UNW_ENOINFO;
}

int accessMem(unw_addr_space_t, unw_word_t address, unw_word_t* value, int write, void* arg)
{
    if (write) {
        return -UNW_EINVAL;  // we only look
    }
    uint64_t word = 0;
    if (!self(arg)->readWord(address, &word)) {
        return -UNW_EINVAL;
    }
    *value = word;
    return 0;
}

int accessReg(unw_addr_space_t, unw_regnum_t regnum, unw_word_t* value, int write, void* arg)
{
    uint64_t word = 0;
    if (write || !self(arg)->readRegister(regnum, &word)) {
        return -UNW_EBADREG;
    }
    *value = word;
    return 0;
}

int accessFpreg(unw_addr_space_t, unw_regnum_t, unw_fpreg_t*, int, void*)
{
    return -UNW_EBADREG;
}

int resume(unw_addr_space_t, unw_cursor_t*, void*)
{
    return -UNW_EINVAL;
}

int getProcName(unw_addr_space_t, unw_word_t, char*, size_t, unw_word_t*, void*)
{
    return -UNW_ENOINFO;
}

unw_accessors_t g_accessors = {
    &findProcInfo, &putUnwindInfo, &getDynInfoListAddr, &accessMem, &accessReg, &accessFpreg, &resume, &getProcName,
};

// The unwind table of one mapped object, from its headers in the target's memory.
bool readTable(pid_t pid, uint64_t base, uint64_t text_start, uint64_t text_end, RemoteUnwinder::Table* table)
{
    Elf64_Ehdr header;
    if (!readRemote(pid, base, &header, sizeof(header)) || std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0
        || header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_phentsize != sizeof(Elf64_Phdr) || header.e_phnum > 256)
    {
        return false;
    }
    std::vector<Elf64_Phdr> segments(header.e_phnum);
    if (!readRemote(pid, base + header.e_phoff, segments.data(), segments.size() * sizeof(Elf64_Phdr))) {
        return false;
    }
    const Elf64_Phdr* first_load = nullptr;
    const Elf64_Phdr* eh_frame_hdr = nullptr;
    for (const Elf64_Phdr& segment : segments) {
        if (segment.p_type == PT_LOAD && !first_load) {
            first_load = &segment;
        } else if (segment.p_type == PT_GNU_EH_FRAME) {
            eh_frame_hdr = &segment;
        }
    }
    if (!first_load || !eh_frame_hdr) {
        return false;
    }
    const uint64_t bias = base - (first_load->p_vaddr & ~(kPage - 1));
    const uint64_t hdr = bias + eh_frame_hdr->p_vaddr;
    uint8_t head[12];
    if (!readRemote(pid, hdr, head, sizeof(head))) {
        return false;
    }
    // version, eh_frame_ptr encoding, fde_count encoding, table encoding; eh_frame_ptr (4 bytes
    // for the usual encodings); fde_count (udata4); then the sorted table.
    if (head[0] != 1 || head[2] != kUdata4 || head[3] != kDatarelSdata4 || head[1] == kOmit || (head[1] & 0x0f) != 0x0b) {
        return false;
    }
    uint32_t fde_count;
    std::memcpy(&fde_count, head + 8, sizeof(fde_count));
    table->start_ip = text_start;
    table->end_ip = text_end;
    table->info.start_ip = text_start;
    table->info.end_ip = text_end;
    table->info.format = UNW_INFO_FORMAT_REMOTE_TABLE;
    table->info.u.rti.segbase = hdr;
    table->info.u.rti.table_data = hdr + sizeof(head);
    // In words: each entry is two int32s.
    table->info.u.rti.table_len = fde_count * 8 / sizeof(unw_word_t);
    return true;
}

}  // namespace

RemoteUnwinder::RemoteUnwinder(pid_t pid, const std::vector<MapEntry>& maps)
: pid_(pid)
{
    refresh(maps);
    unw_addr_space_t space = unw_create_addr_space(&g_accessors, 0);
    if (space) {
        // Cached unwind info would outlive a library unloaded and replaced at the same address.
        unw_set_caching_policy(space, UNW_CACHE_NONE);
    }
    address_space_ = space;
}

RemoteUnwinder::~RemoteUnwinder()
{
    if (address_space_) {
        unw_destroy_addr_space(static_cast<unw_addr_space_t>(address_space_));
    }
}

void RemoteUnwinder::refresh(const std::vector<MapEntry>& maps)
{
    struct Object
    {
        uint64_t base = 0;
        uint64_t text_start = UINT64_MAX;
        uint64_t text_end = 0;
        bool has_base = false;
    };
    std::map<std::string, Object> objects;
    for (const MapEntry& mapping : maps) {
        if (mapping.path.empty() || (mapping.path.front() != '/' && mapping.path != "[vdso]")) {
            continue;
        }
        Object& object = objects[mapping.path];
        if (mapping.offset == 0 && (!object.has_base || mapping.start < object.base)) {
            object.base = mapping.start;
            object.has_base = true;
        }
        if (mapping.executable()) {
            object.text_start = std::min(object.text_start, mapping.start);
            object.text_end = std::max(object.text_end, mapping.end);
        }
    }
    tables_.clear();
    for (const auto& [path, object] : objects) {
        Table table;
        if (object.has_base && object.text_end > object.text_start
            && readTable(pid_, object.base, object.text_start, object.text_end, &table))
        {
            tables_.push_back(table);
        }
    }
    std::sort(tables_.begin(), tables_.end(), [](const Table& a, const Table& b) { return a.start_ip < b.start_ip; });
}

size_t RemoteUnwinder::tableCount() const
{
    return tables_.size();
}

const RemoteUnwinder::Table* RemoteUnwinder::tableFor(uint64_t ip) const
{
    auto after = std::upper_bound(tables_.begin(), tables_.end(), ip,
                                  [](uint64_t value, const Table& table) { return value < table.start_ip; });
    if (after == tables_.begin()) {
        return nullptr;
    }
    const Table& table = *(after - 1);
    return ip < table.end_ip ? &table : nullptr;
}

bool RemoteUnwinder::readPage(uint64_t page, const uint8_t** data)
{
    auto found = pages_.find(page);
    if (found == pages_.end()) {
        std::array<uint8_t, 4096> bytes;
        if (!readRemote(pid_, page, bytes.data(), bytes.size())) {
            return false;
        }
        found = pages_.emplace(page, bytes).first;
    }
    *data = found->second.data();
    return true;
}

bool RemoteUnwinder::readWord(uint64_t address, uint64_t* value)
{
    uint8_t bytes[8];
    for (size_t done = 0; done < sizeof(bytes);) {
        const uint64_t at = address + done;
        const uint64_t page = at & ~(kPage - 1);
        const uint8_t* data = nullptr;
        if (!readPage(page, &data)) {
            return false;
        }
        const size_t offset = at - page;
        const size_t count = std::min(sizeof(bytes) - done, static_cast<size_t>(kPage - offset));
        std::memcpy(bytes + done, data + offset, count);
        done += count;
    }
    std::memcpy(value, bytes, sizeof(bytes));
    return true;
}

bool RemoteUnwinder::readRegister(int regnum, uint64_t* value) const
{
    if (!regs_) {
        return false;
    }
    const user_regs_struct& r = *regs_;
    switch (regnum) {
        case UNW_X86_64_RAX: *value = r.rax; return true;
        case UNW_X86_64_RDX: *value = r.rdx; return true;
        case UNW_X86_64_RCX: *value = r.rcx; return true;
        case UNW_X86_64_RBX: *value = r.rbx; return true;
        case UNW_X86_64_RSI: *value = r.rsi; return true;
        case UNW_X86_64_RDI: *value = r.rdi; return true;
        case UNW_X86_64_RBP: *value = r.rbp; return true;
        case UNW_X86_64_RSP: *value = r.rsp; return true;
        case UNW_X86_64_R8: *value = r.r8; return true;
        case UNW_X86_64_R9: *value = r.r9; return true;
        case UNW_X86_64_R10: *value = r.r10; return true;
        case UNW_X86_64_R11: *value = r.r11; return true;
        case UNW_X86_64_R12: *value = r.r12; return true;
        case UNW_X86_64_R13: *value = r.r13; return true;
        case UNW_X86_64_R14: *value = r.r14; return true;
        case UNW_X86_64_R15: *value = r.r15; return true;
        case UNW_X86_64_RIP: *value = r.rip; return true;
        default: return false;
    }
}

RemoteUnwinder::Walk RemoteUnwinder::walk(const user_regs_struct& regs, size_t max_frames)
{
    Walk result;
    regs_ = &regs;
    pages_.clear();  // the stack changed since the last walk
    unw_cursor_t cursor;
    result.error = address_space_ ? unw_init_remote(&cursor, static_cast<unw_addr_space_t>(address_space_), this) : -UNW_EINVAL;
    while (result.error >= 0 && result.ips.size() < max_frames) {
        unw_word_t ip = 0;
        unw_get_reg(&cursor, UNW_REG_IP, &ip);
        result.ips.push_back(ip);
        int step = unw_step(&cursor);
        if (step <= 0) {
            result.error = step;
            break;
        }
    }
    regs_ = nullptr;
    pages_.clear();
    return result;
}

}  // namespace memray::injector
