/* TEST FIXTURE: a small library that the attach stress test loads and unloads in a loop
 * (ctypes.CDLL + dlclose), so that the dynamic loader is busy while memray attaches. Its
 * constructor and destructor allocate, as many real libraries' do. */
#include <stdlib.h>
#include <string.h>

static char* buffer;

__attribute__((constructor)) static void loaded(void)
{
    buffer = malloc(4096);
    if (buffer) {
        memset(buffer, 1, 4096);
    }
}

__attribute__((destructor)) static void unloaded(void)
{
    free(buffer);
    buffer = NULL;
}

__attribute__((visibility("default"))) int attach_loadable_answer(void)
{
    return buffer ? buffer[0] + 41 : -1;
}
