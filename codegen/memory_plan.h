// Memory plan: arena offsets for intermediate buffers from their liveness, so that buffers whose
// lifetimes do not overlap share memory.
#pragma once
#include <cstdint>
#include <vector>

namespace pg {

struct BufferLifetime {
    int64_t bytes = 0;
    int first = 0;  // index of the step that writes it
    int last = 0;   // index of the last step that reads it (INT32_MAX: live to the end)
};

struct MemoryPlan {
    std::vector<int64_t> offsets;  // per lifetime, 64-byte aligned
    int64_t arena_bytes = 0;
    int64_t naive_bytes = 0;  // sum of all sizes: what the plan saves is reported against it
};

// Greedy first-fit in step order: at step p the buffers whose last use precedes p are freed, then
// the buffers written at p are placed at the lowest offset that fits.
MemoryPlan plan_memory(const std::vector<BufferLifetime>& buffers);

}  // namespace pg
