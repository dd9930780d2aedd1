// The exported entry points of libmemray_attach.so (see attach_module.h). Built into that
// library only, never into the executable.
#include "attach_module.h"
#include "commands.h"

extern "C" __attribute__((visibility("default"))) int memray_attach_command_v2(int argc, char** argv,
                                                                                const memray::cli::LiveViewHooks* hooks)
{
    return memray::cli::attachCommand(argc, argv, *hooks);
}

extern "C" __attribute__((visibility("default"))) int memray_detach_command(int argc, char** argv)
{
    return memray::cli::detachCommand(argc, argv);
}
