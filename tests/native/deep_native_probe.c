// A native recursion of any depth with a Python callback at its bottom, for ctypes: native
// stacks deeper than any Python recursion makes, under and over Python frames.

typedef int (*callback_t)(int);

__attribute__((visibility("default"), noinline)) int descend_natively(int depth, callback_t callback)
{
    // Used after the call, so the recursion stays a chain of real frames (no loop, no tail call).
    volatile int level = depth;
    if (depth == 0) {
        return callback(0);
    }
    return descend_natively(depth - 1, callback) + level;
}
