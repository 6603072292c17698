// PG_COMPUTE_DTYPE: auto resolves to bf16 for CUDA and f32 for the CPU; an explicit setting wins on
// either backend; the trainer's settings on this machine (no GPU: PG_BACKEND=cpu) stay f32.
#include <doctest/doctest.h>

#include "base/env.h"
#include "frontend/train/compute_dtype.h"
#include "frontend/train/hyperparams.h"

using namespace pg;

TEST_CASE("compute dtype: auto is bf16 on CUDA and f32 on the CPU; an explicit setting wins") {
    {
        env::ScopedOverride dtype("PG_COMPUTE_DTYPE", "auto");
        CHECK(compute_dtype_for("cuda") == DType::bf16);
        CHECK(compute_dtype_for("cpu") == DType::f32);
        env::ScopedOverride backend("PG_BACKEND", "cpu");
        CHECK(read_hyperparams().model.compute_dtype == DType::f32);
    }
    for (const char* setting : {"f32", "bf16"}) {
        env::ScopedOverride dtype("PG_COMPUTE_DTYPE", setting);
        DType want = std::string(setting) == "f32" ? DType::f32 : DType::bf16;
        CHECK(compute_dtype_for("cuda") == want);
        CHECK(compute_dtype_for("cpu") == want);
    }
}
