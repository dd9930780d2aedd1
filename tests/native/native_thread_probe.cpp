// A C++ std::thread that never touches Python and allocates in a loop (native-mode tests).
#include <cstddef>
#include <thread>
#include <vector>

namespace {

__attribute__((noinline)) void allocateInLoop(int count, std::size_t size)
{
    std::vector<char*> blocks;
    for (int i = 0; i < count; ++i) {
        blocks.push_back(new char[size]);  // LINE:allocateInLoop
    }
    for (char* block : blocks) {
        delete[] block;
    }
}

}  // namespace

extern "C" void run_native_thread(int count, std::size_t size)
{
    std::thread worker([count, size] { allocateInLoop(count, size); });
    worker.join();
}
