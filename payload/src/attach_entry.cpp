// memray_attach_begin(): the one function `memray attach` calls inside the target, on a
// thread it hijacked at a verified safe point. It must stay that small: see attach_session.h.
#include "attach_session.h"

// `config`: the capture's key=value lines (payload_api.h) plus control_socket= and
// duration_s= (attach_config.h). Returns an AttachBeginResult: 0 when the session started.
extern "C" __attribute__((visibility("default"))) int memray_attach_begin(const char* config)
{
    return memray::payload::beginAttachSession(config);
}
