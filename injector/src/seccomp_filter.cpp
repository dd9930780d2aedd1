#include "seccomp_filter.h"

#include <cstring>

namespace memray::injector {

namespace {

constexpr uint32_t kMisread = SECCOMP_RET_KILL_PROCESS;

// The 32-bit word of seccomp_data at byte `offset` (the only loads seccomp allows are these).
bool loadWord(const seccomp_data& call, uint32_t offset, uint32_t* value)
{
    if (offset % 4 != 0 || offset + 4 > sizeof(seccomp_data)) {
        return false;
    }
    std::memcpy(value, reinterpret_cast<const char*>(&call) + offset, 4);
    return true;
}

// Lower rank: more restrictive (the kernel's order of precedence).
int rank(uint32_t verdict)
{
    switch (verdict & SECCOMP_RET_ACTION_FULL) {
        case SECCOMP_RET_KILL_PROCESS:
            return 0;
        case SECCOMP_RET_KILL_THREAD:
            return 1;
        case SECCOMP_RET_TRAP:
            return 2;
        case SECCOMP_RET_ERRNO:
            return 3;
        case SECCOMP_RET_USER_NOTIF:
            return 4;
        case SECCOMP_RET_TRACE:
            return 5;
        case SECCOMP_RET_LOG:
            return 6;
        case SECCOMP_RET_ALLOW:
            return 7;
        default:
            return 0;  // unknown actions kill the process
    }
}

}  // namespace

uint32_t runSeccompFilter(const SeccompProgram& program, const seccomp_data& call)
{
    uint32_t a = 0, x = 0;
    uint32_t memory[BPF_MEMWORDS] = {};
    for (size_t pc = 0; pc < program.size(); ++pc) {
        const sock_filter& op = program[pc];
        const uint32_t k = op.k;
        switch (op.code) {
            case BPF_LD | BPF_W | BPF_ABS:
                if (!loadWord(call, k, &a)) {
                    return kMisread;
                }
                break;
            case BPF_LD | BPF_W | BPF_LEN:
                a = sizeof(seccomp_data);
                break;
            case BPF_LDX | BPF_W | BPF_LEN:
                x = sizeof(seccomp_data);
                break;
            case BPF_LD | BPF_IMM:
                a = k;
                break;
            case BPF_LDX | BPF_IMM:
                x = k;
                break;
            case BPF_LD | BPF_MEM:
            case BPF_LDX | BPF_MEM:
                if (k >= BPF_MEMWORDS) {
                    return kMisread;
                }
                (op.code == (BPF_LD | BPF_MEM) ? a : x) = memory[k];
                break;
            case BPF_ST:
            case BPF_STX:
                if (k >= BPF_MEMWORDS) {
                    return kMisread;
                }
                memory[k] = op.code == BPF_ST ? a : x;
                break;
            case BPF_MISC | BPF_TAX:
                x = a;
                break;
            case BPF_MISC | BPF_TXA:
                a = x;
                break;
            case BPF_RET | BPF_K:
                return k;
            case BPF_RET | BPF_A:
                return a;
            case BPF_JMP | BPF_JA:
                if (k >= program.size() - pc) {
                    return kMisread;
                }
                pc += k;
                break;
            default:
                if (BPF_CLASS(op.code) == BPF_JMP) {
                    const uint32_t operand = BPF_SRC(op.code) == BPF_X ? x : k;
                    bool taken;
                    switch (BPF_OP(op.code)) {
                        case BPF_JEQ:
                            taken = a == operand;
                            break;
                        case BPF_JGT:
                            taken = a > operand;
                            break;
                        case BPF_JGE:
                            taken = a >= operand;
                            break;
                        case BPF_JSET:
                            taken = (a & operand) != 0;
                            break;
                        default:
                            return kMisread;
                    }
                    pc += taken ? op.jt : op.jf;
                    if (pc >= program.size()) {
                        return kMisread;
                    }
                    break;
                }
                if (BPF_CLASS(op.code) == BPF_ALU) {
                    const uint32_t operand = BPF_SRC(op.code) == BPF_X ? x : k;
                    switch (BPF_OP(op.code)) {
                        case BPF_ADD: a += operand; break;
                        case BPF_SUB: a -= operand; break;
                        case BPF_MUL: a *= operand; break;
                        case BPF_DIV:
                            if (operand == 0) {
                                return kMisread;
                            }
                            a /= operand;
                            break;
                        case BPF_MOD:
                            if (operand == 0) {
                                return kMisread;
                            }
                            a %= operand;
                            break;
                        case BPF_AND: a &= operand; break;
                        case BPF_OR: a |= operand; break;
                        case BPF_XOR: a ^= operand; break;
                        case BPF_LSH: a = operand < 32 ? a << operand : 0; break;
                        case BPF_RSH: a = operand < 32 ? a >> operand : 0; break;
                        case BPF_NEG: a = 0u - a; break;
                        default:
                            return kMisread;
                    }
                    break;
                }
                return kMisread;
        }
    }
    return kMisread;  // ran off the end
}

uint32_t strictestVerdict(uint32_t a, uint32_t b)
{
    return rank(b) < rank(a) ? b : a;
}

}  // namespace memray::injector
