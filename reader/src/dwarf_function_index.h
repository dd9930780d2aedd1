// Which function (and which inlined calls inside it) a pc is in, from DWARF, in time that does
// not grow with the size of its compilation unit.
//
// dwarf_getscopes() walks a CU's whole DIE tree for every address, which on one-CU giants
// (CPython's ceval.c, generated code) cost milliseconds per address. Instead each CU's
// subprograms are indexed by address range once, on first use; a lookup is a binary search
// plus a walk down the one function's own DIE subtree.
#pragma once

#include <elfutils/libdw.h>

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace memray::reader {

class DwarfFunctionIndex
{
  public:
    // The DIEs containing `pc` (a DWARF address, module bias removed) in `cu`, outermost first:
    // the subprogram, then each inlined subroutine down to the innermost. Empty when no
    // subprogram of the CU covers pc.
    std::vector<Dwarf_Die> chainAt(Dwarf_Die* cu, Dwarf_Addr pc);

  private:
    struct FunctionRange
    {
        Dwarf_Addr begin;
        Dwarf_Addr end;
        Dwarf_Die die;
    };
    const std::vector<FunctionRange>& functionsOf(Dwarf_Die* cu);

    std::unordered_map<Dwarf_Off, std::vector<FunctionRange>> by_cu_;
};

}  // namespace memray::reader
