#include "frame_rules.h"

#include <cstring>
#include <dlfcn.h>

namespace memray::payload {

namespace {

// DWARF register numbers on x86-64.
constexpr uint64_t kRegRbp = 6;
constexpr uint64_t kRegRsp = 7;
constexpr uint64_t kRegReturnAddress = 16;

// Pointer encodings (DW_EH_PE_*).
constexpr uint8_t kEncOmit = 0xff;
constexpr uint8_t kEncPcrel = 0x10;
constexpr uint8_t kEncDatarel = 0x30;
constexpr uint8_t kEncIndirect = 0x80;

// A bounds-checked reader over one table entry: every read past `end` fails the entry.
struct Reader
{
    const uint8_t* at;
    const uint8_t* end;
    bool ok = true;

    template<typename T>
    T fixed()
    {
        if (static_cast<size_t>(end - at) < sizeof(T)) {
            ok = false;
            return T{};
        }
        T value;
        std::memcpy(&value, at, sizeof(T));
        at += sizeof(T);
        return value;
    }

    uint64_t uleb()
    {
        uint64_t value = 0;
        for (unsigned shift = 0; shift < 64; shift += 7) {
            const uint8_t byte = fixed<uint8_t>();
            value |= static_cast<uint64_t>(byte & 0x7f) << shift;
            if (!ok || !(byte & 0x80)) {
                return value;
            }
        }
        ok = false;
        return 0;
    }

    int64_t sleb()
    {
        int64_t value = 0;
        unsigned shift = 0;
        uint8_t byte;
        do {
            byte = fixed<uint8_t>();
            if (!ok || shift >= 64) {
                ok = false;
                return 0;
            }
            value |= static_cast<int64_t>(byte & 0x7f) << shift;
            shift += 7;
        } while (byte & 0x80);
        if (shift < 64 && (byte & 0x40)) {
            value |= -(static_cast<int64_t>(1) << shift);
        }
        return value;
    }

    // An encoded pointer. `data_base`: the base of datarel encodings (.eh_frame_hdr's start).
    uintptr_t pointer(uint8_t encoding, uintptr_t data_base = 0)
    {
        const auto here = reinterpret_cast<uintptr_t>(at);
        uint64_t value;
        switch (encoding & 0x0f) {
            case 0x00: value = fixed<uint64_t>(); break;
            case 0x01: value = uleb(); break;
            case 0x02: value = fixed<uint16_t>(); break;
            case 0x03: value = fixed<uint32_t>(); break;
            case 0x04: value = fixed<uint64_t>(); break;
            case 0x09: value = static_cast<uint64_t>(sleb()); break;
            case 0x0a: value = static_cast<uint64_t>(static_cast<int64_t>(fixed<int16_t>())); break;
            case 0x0b: value = static_cast<uint64_t>(static_cast<int64_t>(fixed<int32_t>())); break;
            case 0x0c: value = fixed<uint64_t>(); break;
            default: ok = false; return 0;
        }
        switch (encoding & 0x70) {
            case 0x00: break;
            case kEncPcrel: value += here; break;
            case kEncDatarel: value += data_base; break;
            default: ok = false; return 0;  // textrel, funcrel, aligned: not in x86-64 tables
        }
        if (encoding & kEncIndirect) {
            ok = false;  // only personality pointers are indirect, and those are skipped
            return 0;
        }
        return static_cast<uintptr_t>(value);
    }
};

// A register's rule, for the two registers besides the CFA that the walk needs.
struct RegisterRule
{
    enum Kind : uint8_t { kSame, kOffset, kUndefined, kOther } kind = kSame;
    int64_t offset = 0;
};

struct Row
{
    uint64_t cfa_register = kRegRsp;
    int64_t cfa_offset = 8;
    bool cfa_expression = false;
    RegisterRule rbp;
    RegisterRule return_address;
    bool other_rsp_rule = false;  // a rule for rsp itself: not the plain CFA
};

struct Cie
{
    uint64_t code_align = 1;
    int64_t data_align = -8;
    uint64_t return_register = kRegReturnAddress;
    uint8_t fde_encoding = 0;
    bool has_augmentation_data = false;
    bool signal_frame = false;
    const uint8_t* instructions = nullptr;
    const uint8_t* end = nullptr;
};

// Reads the length of a CIE or FDE at `at`; its body is [*body, *end). False for the 64-bit
// form's absurd lengths or a zero terminator.
bool entryBounds(const uint8_t* at, const uint8_t** body, const uint8_t** end)
{
    uint32_t length32;
    std::memcpy(&length32, at, 4);
    at += 4;
    uint64_t length = length32;
    if (length32 == 0xffffffffu) {
        std::memcpy(&length, at, 8);
        at += 8;
    }
    if (length == 0 || length > (1u << 30)) {
        return false;
    }
    *body = at;
    *end = at + length;
    return true;
}

bool parseCie(const uint8_t* at, Cie* cie)
{
    const uint8_t* body;
    const uint8_t* end;
    if (!entryBounds(at, &body, &end)) {
        return false;
    }
    Reader in{body, end};
    if (in.fixed<uint32_t>() != 0) {
        return false;  // not a CIE
    }
    const uint8_t version = in.fixed<uint8_t>();
    if (version != 1 && version != 3 && version != 4) {
        return false;
    }
    const char* augmentation = reinterpret_cast<const char*>(in.at);
    const size_t augmentation_length = strnlen(augmentation, static_cast<size_t>(end - in.at));
    in.at += augmentation_length + 1;
    if (version == 4) {
        in.fixed<uint8_t>();  // address size
        in.fixed<uint8_t>();  // segment selector size
    }
    cie->code_align = in.uleb();
    cie->data_align = in.sleb();
    cie->return_register = version == 1 ? in.fixed<uint8_t>() : in.uleb();
    if (augmentation_length > 0 && augmentation[0] == 'z') {
        cie->has_augmentation_data = true;
        const uint64_t data_length = in.uleb();
        const uint8_t* data_end = in.at + data_length;
        for (size_t i = 1; i < augmentation_length && in.ok; ++i) {
            switch (augmentation[i]) {
                case 'R': cie->fde_encoding = in.fixed<uint8_t>(); break;
                case 'L': in.fixed<uint8_t>(); break;
                case 'P': {
                    const uint8_t encoding = in.fixed<uint8_t>();
                    in.pointer(static_cast<uint8_t>(encoding & ~kEncIndirect));
                    break;
                }
                case 'S': cie->signal_frame = true; break;
                case 'B':
                case 'G': break;
                default: return false;
            }
        }
        in.at = data_end;
    } else if (augmentation_length > 0) {
        return false;  // "eh" and other pre-'z' augmentations
    }
    cie->instructions = in.at;
    cie->end = end;
    return in.ok && in.at <= end;
}

class CfaProgram
{
  public:
    CfaProgram(const Cie& cie, uintptr_t start, uintptr_t pc) : cie_(cie), location_(start), pc_(pc) {}

    // Runs instructions until the row covering pc is complete. False on anything not modelled.
    bool run(const uint8_t* at, const uint8_t* end, bool is_cie)
    {
        Reader in{at, end};
        while (in.at < in.end) {
            const uint8_t op = in.fixed<uint8_t>();
            const uint8_t high = op & 0xc0;
            const uint8_t low = op & 0x3f;
            if (high == 0x40) {
                if (!advance(low * cie_.code_align)) {
                    return true;
                }
                continue;
            }
            if (high == 0x80) {
                setOffset(low, static_cast<int64_t>(in.uleb()) * cie_.data_align);
                continue;
            }
            if (high == 0xc0) {
                restore(low);
                continue;
            }
            switch (op) {
                case 0x00: break;  // nop
                case 0x01: {  // set_loc
                    const uintptr_t target = in.pointer(cie_.fde_encoding);
                    if (target > pc_) {
                        return in.ok;
                    }
                    location_ = target;
                    break;
                }
                case 0x02: if (!advance(in.fixed<uint8_t>() * cie_.code_align)) return in.ok; break;
                case 0x03: if (!advance(in.fixed<uint16_t>() * cie_.code_align)) return in.ok; break;
                case 0x04: if (!advance(in.fixed<uint32_t>() * cie_.code_align)) return in.ok; break;
                case 0x05: {  // offset_extended
                    const uint64_t reg = in.uleb();
                    setOffset(reg, static_cast<int64_t>(in.uleb()) * cie_.data_align);
                    break;
                }
                case 0x06: restore(in.uleb()); break;  // restore_extended
                case 0x07: setKind(in.uleb(), RegisterRule::kUndefined); break;
                case 0x08: setKind(in.uleb(), RegisterRule::kSame); break;
                case 0x09: {  // register: in another register
                    const uint64_t reg = in.uleb();
                    in.uleb();
                    setKind(reg, RegisterRule::kOther);
                    break;
                }
                case 0x0a:  // remember_state
                    if (depth_ == kStackDepth) {
                        return false;
                    }
                    stack_[depth_++] = row_;
                    break;
                case 0x0b:  // restore_state
                {
                    if (depth_ == 0) {
                        return false;
                    }
                    const Row saved = stack_[--depth_];
                    row_.rbp = saved.rbp;
                    row_.return_address = saved.return_address;
                    row_.other_rsp_rule = saved.other_rsp_rule;
                    // The CFA too, as GCC's and libunwind's unwinders do (GCC's epilogues
                    // inside a function rely on it).
                    row_.cfa_register = saved.cfa_register;
                    row_.cfa_offset = saved.cfa_offset;
                    row_.cfa_expression = saved.cfa_expression;
                    break;
                }
                case 0x0c:  // def_cfa
                    row_.cfa_register = in.uleb();
                    row_.cfa_offset = static_cast<int64_t>(in.uleb());
                    row_.cfa_expression = false;
                    break;
                case 0x0d: row_.cfa_register = in.uleb(); row_.cfa_expression = false; break;
                case 0x0e: row_.cfa_offset = static_cast<int64_t>(in.uleb()); break;
                case 0x0f:  // def_cfa_expression
                    in.at += in.uleb();
                    row_.cfa_expression = true;
                    break;
                case 0x10:  // expression
                case 0x16: {  // val_expression
                    const uint64_t reg = in.uleb();
                    in.at += in.uleb();
                    setKind(reg, RegisterRule::kOther);
                    break;
                }
                case 0x11: {  // offset_extended_sf
                    const uint64_t reg = in.uleb();
                    setOffset(reg, in.sleb() * cie_.data_align);
                    break;
                }
                case 0x12:  // def_cfa_sf
                    row_.cfa_register = in.uleb();
                    row_.cfa_offset = in.sleb() * cie_.data_align;
                    row_.cfa_expression = false;
                    break;
                case 0x13: row_.cfa_offset = in.sleb() * cie_.data_align; break;
                case 0x14:  // val_offset
                case 0x15: {  // val_offset_sf
                    const uint64_t reg = in.uleb();
                    if (op == 0x14) {
                        in.uleb();
                    } else {
                        in.sleb();
                    }
                    setKind(reg, RegisterRule::kOther);
                    break;
                }
                case 0x2e: in.uleb(); break;  // GNU_args_size
                case 0x2f: {  // GNU_negative_offset_extended
                    const uint64_t reg = in.uleb();
                    setOffset(reg, -static_cast<int64_t>(in.uleb()) * cie_.data_align);
                    break;
                }
                default: return false;
            }
            if (!in.ok || in.at > in.end) {
                return false;
            }
        }
        if (is_cie) {
            initial_ = row_;
        }
        return in.ok;
    }

    void startFde() { initial_ = row_; }

    const Row& row() const { return row_; }

  private:
    static constexpr int kStackDepth = 8;

    // False once the next row starts after pc: the current row is the one.
    bool advance(uint64_t delta)
    {
        if (location_ + delta > pc_) {
            return false;
        }
        location_ += delta;
        return true;
    }

    RegisterRule* rule(uint64_t reg)
    {
        if (reg == kRegRbp) {
            return &row_.rbp;
        }
        if (reg == cie_.return_register) {
            return &row_.return_address;
        }
        return nullptr;
    }

    void setOffset(uint64_t reg, int64_t offset)
    {
        if (reg == kRegRsp) {
            row_.other_rsp_rule = true;
        } else if (RegisterRule* r = rule(reg)) {
            *r = RegisterRule{RegisterRule::kOffset, offset};
        }
    }

    void setKind(uint64_t reg, RegisterRule::Kind kind)
    {
        if (reg == kRegRsp) {
            row_.other_rsp_rule = kind != RegisterRule::kSame;
        } else if (RegisterRule* r = rule(reg)) {
            *r = RegisterRule{kind, 0};
        }
    }

    void restore(uint64_t reg)
    {
        if (reg == kRegRsp) {
            row_.other_rsp_rule = initial_.other_rsp_rule;
        } else if (reg == kRegRbp) {
            row_.rbp = initial_.rbp;
        } else if (reg == cie_.return_register) {
            row_.return_address = initial_.return_address;
        }
    }

    const Cie& cie_;
    uintptr_t location_;
    uintptr_t pc_;
    Row row_;
    Row initial_;
    Row stack_[kStackDepth];
    int depth_ = 0;
};

// The FDE covering pc in the module whose .eh_frame_hdr is `header`, or null.
const uint8_t* findFde(const uint8_t* header, uintptr_t pc)
{
    const uint8_t version = header[0];
    const uint8_t frame_pointer_encoding = header[1];
    const uint8_t count_encoding = header[2];
    const uint8_t table_encoding = header[3];
    // The binary search table: sorted (start, FDE) pairs of sdata4 offsets from the header,
    // which every linker in use writes.
    if (version != 1 || count_encoding == kEncOmit || table_encoding != (kEncDatarel | 0x0b)) {
        return nullptr;
    }
    const auto base = reinterpret_cast<uintptr_t>(header);
    Reader in{header + 4, header + 64};
    in.pointer(frame_pointer_encoding, base);
    const uint64_t count = in.pointer(count_encoding, base);
    if (!in.ok || count == 0) {
        return nullptr;
    }
    const auto* table = reinterpret_cast<const int32_t(*)[2]>(in.at);
    size_t low = 0, high = count;
    while (high - low > 1) {
        const size_t middle = low + (high - low) / 2;
        if (base + static_cast<intptr_t>(table[middle][0]) <= pc) {
            low = middle;
        } else {
            high = middle;
        }
    }
    if (base + static_cast<intptr_t>(table[low][0]) > pc) {
        return nullptr;
    }
    return reinterpret_cast<const uint8_t*>(base + static_cast<intptr_t>(table[low][1]));
}

}  // namespace

FrameRule frameRuleAt(uintptr_t pc)
{
    dl_find_object object;
    if (_dl_find_object(reinterpret_cast<void*>(pc), &object) != 0 || object.dlfo_eh_frame == nullptr) {
        return {};
    }
    const uint8_t* fde = findFde(static_cast<const uint8_t*>(object.dlfo_eh_frame), pc);
    if (fde == nullptr) {
        return {};
    }
    const uint8_t* body;
    const uint8_t* end;
    if (!entryBounds(fde, &body, &end)) {
        return {};
    }
    uint32_t cie_pointer;
    std::memcpy(&cie_pointer, body, 4);
    if (cie_pointer == 0) {
        return {};  // a CIE where an FDE should be
    }
    Cie cie;
    if (!parseCie(body - cie_pointer, &cie) || cie.signal_frame) {
        return {};
    }
    Reader in{body + 4, end};
    const uintptr_t start = in.pointer(cie.fde_encoding);
    const uintptr_t range = in.pointer(cie.fde_encoding & 0x0f);
    if (!in.ok || pc < start || pc - start >= range) {
        return {};
    }
    if (cie.has_augmentation_data) {
        in.at += in.uleb();
    }
    if (!in.ok || in.at > end) {
        return {};
    }
    CfaProgram program(cie, start, pc);
    if (!program.run(cie.instructions, cie.end, true)) {
        return {};
    }
    program.startFde();
    if (!program.run(in.at, end, false)) {
        return {};
    }
    const Row& row = program.row();
    if (row.cfa_expression || row.other_rsp_rule) {
        return {};
    }
    FrameRule rule;
    if (row.return_address.kind == RegisterRule::kUndefined) {
        rule.kind = FrameRule::kOutermost;
        return rule;
    }
    if (row.return_address.kind != RegisterRule::kOffset || row.return_address.offset != -8) {
        return {};
    }
    if (row.rbp.kind == RegisterRule::kOffset) {
        rule.rbp_offset = static_cast<int32_t>(row.rbp.offset);
        if (rule.rbp_offset == 0) {
            return {};
        }
    } else if (row.rbp.kind != RegisterRule::kSame) {
        return {};
    }
    if (row.cfa_register == kRegRsp) {
        rule.kind = FrameRule::kRspBased;
    } else if (row.cfa_register == kRegRbp) {
        rule.kind = FrameRule::kRbpBased;
    } else {
        return {};
    }
    rule.cfa_offset = static_cast<int32_t>(row.cfa_offset);
    return rule;
}

}  // namespace memray::payload
