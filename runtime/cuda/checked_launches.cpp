// Checked one-by-one launches (see checked_launches.h).
#include "runtime/cuda/checked_launches.h"

#include <fmt/format.h>

#include "base/error.h"

namespace pg {

void run_checked(size_t count, const CheckedLaunches& launches) {
    for (size_t i = 0; i < count; ++i) {
        try {
            launches.enqueue(i);
            launches.wait();
        } catch (const Error& e) {
            throw Error(fmt::format("GPU fault in launch {} of {} ({}): {}. A fault leaves the CUDA context unusable: "
                                    "restart the process; PG_DUMP_DIR=<dir> writes every kernel's source to read",
                                    i + 1, count, launches.describe(i), e.what()));
        }
        if (launches.after) launches.after(i);
    }
}

}  // namespace pg
