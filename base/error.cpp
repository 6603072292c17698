// Out-of-line helpers of error.h.
#include "base/error.h"

namespace pg {

void throw_internal(const char* cond, const char* file, int line, const std::string& msg) {
    throw InternalError(fmt::format("internal error: {} ({}:{}){}{}", cond, file, line,
                                    msg.empty() ? "" : ": ", msg));
}

}  // namespace pg
