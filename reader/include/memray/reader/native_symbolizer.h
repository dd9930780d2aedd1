// Turns the return addresses of a native capture into functions, files and lines, at report
// time (the tracked process only recorded addresses and its map of loaded objects).
//
// Each loaded object is opened once, on first need, with elfutils (libdwfl, reported offline
// at its recorded load bias; separate debug info is found the standard ways: .gnu_debuglink,
// /usr/lib/debug/.build-id). Per address, in order of preference:
//   1. DWARF: the function (demangled), source file and line, with inlined calls expanded
//      into frames of their own;
//   2. the ELF symbol table: the function name alone. Where the object's full symbol table was
//      stripped, its .dynsym and, if it has one, its MiniDebugInfo (.gnu_debugdata: an
//      xz-compressed ELF holding the symbols of local functions, as Fedora's find-debuginfo
//      makes it) are the symbol table; libdwfl reads both, decompressing with liblzma;
//   3. the object and offset: "libfoo.so+0x1234" (SymbolizedFrame::unnamed).
// The objects must still be on disk, as they were when the capture was made: an object whose
// build id differs from the recorded one gets the object+offset form only.
#pragma once

#include "memray/reader/capture_reader.h"

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace memray::reader {

struct SymbolizedFrame
{
    std::string_view function;  // never empty
    std::string_view file;      // source file; "" when unknown
    uint64_t line = 0;          // 0 when unknown
    std::string_view image;     // path of the object; "" when no recorded object maps the address
    bool inlined = false;       // inlined into the frame that follows it (the next outer one)
    bool unnamed = false;       // no symbol or debug info: `function` is "object+0xoffset"
};

class NativeSymbolizer
{
  public:
    // `capture` must outlive the symbolizer. Views it returns stay valid as long as it lives.
    explicit NativeSymbolizer(const CaptureReader& capture);
    ~NativeSymbolizer();
    NativeSymbolizer(const NativeSymbolizer&) = delete;
    NativeSymbolizer& operator=(const NativeSymbolizer&) = delete;

    // The frames of native frame node `native_frame_id`, innermost first: one per inlined call
    // plus the real function; at least one for a defined node, none for an unknown id.
    const std::vector<SymbolizedFrame>& frames(uint64_t native_frame_id);

    // The same for an address in a known object (no generation: the latest mapping wins).
    std::vector<SymbolizedFrame> symbolizeAddress(uint64_t address, const LoadedImage* image);

    // Addresses symbolized so far (distinct, not counting cache hits).
    size_t addressesSymbolized() const { return addresses_symbolized_; }

  private:
    struct ObjectDebugInfo;
    ObjectDebugInfo* debugInfo(const LoadedImage& image);
    void symbolize(uint64_t address, const LoadedImage* image, std::vector<SymbolizedFrame>* out);
    std::string_view intern(std::string_view text);

    const CaptureReader& capture_;
    std::unordered_map<const LoadedImage*, std::unique_ptr<ObjectDebugInfo>> objects_;
    // Native frame id -> its address's entry in by_address_ (whose nodes never move).
    std::vector<const std::vector<SymbolizedFrame>*> by_native_id_;
    // (image, address) -> frames: several trie nodes share an address (same call site,
    // different callers).
    struct AddressKey
    {
        const LoadedImage* image;
        uint64_t address;
        bool operator==(const AddressKey&) const = default;
    };
    struct AddressKeyHash
    {
        size_t operator()(const AddressKey& key) const
        {
            return std::hash<uint64_t>()(key.address * 0x9e3779b97f4a7c15ull ^ reinterpret_cast<uintptr_t>(key.image));
        }
    };
    std::unordered_map<AddressKey, std::vector<SymbolizedFrame>, AddressKeyHash> by_address_;
    std::unordered_set<std::string> strings_;
    std::vector<SymbolizedFrame> empty_;
    size_t addresses_symbolized_ = 0;
};

}  // namespace memray::reader
