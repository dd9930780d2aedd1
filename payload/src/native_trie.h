// Interning of native stacks into the capture's native frame trie (native mode).
//
// A node is (parent node, return address), written once as a kRecordNativeFrame the first time
// an allocation needs it; an allocation names its innermost node. Like the Python stack trie,
// a loop allocating from one place costs a few bytes per allocation whatever its depth, and
// each thread keeps the previous allocation's path so that only the frames that changed are
// looked up.
#pragma once

#include "native_unwinder.h"
#include "thread_state.h"

#include <cstdint>
#include <unordered_map>

namespace memray::payload {

class NativeFrameSink
{
  public:
    virtual void writeNativeFrame(uint32_t parent_id, uintptr_t address) = 0;

  protected:
    ~NativeFrameSink() = default;
};

class NativeTrie
{
  public:
    // Forgets every id (a new capture, a forked child's new file, or after a dlclose: the same
    // address may now be another function). Threads notice through the epoch.
    void reset();

    // The native stack id of `stack` (the thread's latest unwind) for `thread`, writing new
    // nodes through `sink`. 0 for an empty stack. Call with the tracker's lock held.
    uint32_t intern(ThreadState* thread, const native_unwinder::NativeStack& stack, NativeFrameSink& sink);

  private:
    struct Key
    {
        uint32_t parent;
        uintptr_t address;
        bool operator==(const Key&) const = default;
    };
    struct KeyHash
    {
        size_t operator()(const Key& key) const
        {
            uint64_t h = (static_cast<uint64_t>(key.address) ^ (static_cast<uint64_t>(key.parent) << 47))
                         * 0x9e3779b97f4a7c15ull;
            return static_cast<size_t>(h ^ (h >> 32));
        }
    };

    std::unordered_map<Key, uint32_t, KeyHash> ids_;
    uint32_t next_id_ = 1;
    uint64_t epoch_ = 1;
};

}  // namespace memray::payload
