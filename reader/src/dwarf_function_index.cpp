#include "dwarf_function_index.h"

#include <dwarf.h>

#include <algorithm>

namespace memray::reader {

namespace {

// Subprograms with code, anywhere a compiler puts them at CU level (C++ nests them in
// namespaces and classes).
void collectFunctions(Dwarf_Die* parent, std::vector<Dwarf_Die>* out, int depth)
{
    Dwarf_Die child;
    if (depth > 16 || dwarf_child(parent, &child) != 0) {
        return;
    }
    do {
        switch (dwarf_tag(&child)) {
            case DW_TAG_subprogram:
                out->push_back(child);
                break;
            case DW_TAG_namespace:
            case DW_TAG_class_type:
            case DW_TAG_structure_type:
            case DW_TAG_union_type:
                collectFunctions(&child, out, depth + 1);
                break;
            default:
                break;
        }
    } while (dwarf_siblingof(&child, &child) == 0);
}

}  // namespace

const std::vector<DwarfFunctionIndex::FunctionRange>& DwarfFunctionIndex::functionsOf(Dwarf_Die* cu)
{
    auto [it, inserted] = by_cu_.try_emplace(dwarf_dieoffset(cu));
    if (inserted) {
        std::vector<Dwarf_Die> functions;
        collectFunctions(cu, &functions, 0);
        for (Dwarf_Die& function : functions) {
            // Hot/cold splitting gives one function several ranges.
            Dwarf_Addr base = 0, begin = 0, end = 0;
            for (ptrdiff_t offset = 0; (offset = dwarf_ranges(&function, offset, &base, &begin, &end)) > 0;) {
                if (end > begin) {
                    it->second.push_back(FunctionRange{begin, end, function});
                }
            }
        }
        std::sort(it->second.begin(), it->second.end(),
                  [](const FunctionRange& a, const FunctionRange& b) { return a.begin < b.begin; });
    }
    return it->second;
}

std::vector<Dwarf_Die> DwarfFunctionIndex::chainAt(Dwarf_Die* cu, Dwarf_Addr pc)
{
    std::vector<Dwarf_Die> chain;
    const std::vector<FunctionRange>& functions = functionsOf(cu);
    auto after = std::upper_bound(functions.begin(), functions.end(), pc,
                                  [](Dwarf_Addr value, const FunctionRange& range) { return value < range.begin; });
    if (after == functions.begin() || pc >= std::prev(after)->end) {
        return chain;
    }
    chain.push_back(std::prev(after)->die);
    // Down the function's own tree: lexical blocks and inlined calls that cover pc.
    Dwarf_Die current = chain.front();
    for (int depth = 0; depth < 256; ++depth) {
        Dwarf_Die child;
        bool found = false;
        if (dwarf_child(&current, &child) == 0) {
            do {
                const int tag = dwarf_tag(&child);
                if ((tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block) && dwarf_haspc(&child, pc) == 1) {
                    if (tag == DW_TAG_inlined_subroutine) {
                        chain.push_back(child);
                    }
                    current = child;
                    found = true;
                    break;
                }
            } while (dwarf_siblingof(&child, &child) == 0);
        }
        if (!found) {
            break;
        }
    }
    return chain;
}

}  // namespace memray::reader
