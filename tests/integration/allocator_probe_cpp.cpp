// C++ allocations: operator new/delete reach malloc/free inside libstdc++, through its GOT.
#include <cstddef>

extern "C" void* probe_new(size_t size)
{
    return new char[size];
}

extern "C" void probe_delete(void* ptr)
{
    delete[] static_cast<char*>(ptr);
}
