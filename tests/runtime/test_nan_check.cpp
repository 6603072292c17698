// find_non_finite over every float dtype against std::isfinite on the decoded values, and the
// text of each kind of non-finite value; integers are always finite.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "runtime/nan_check.h"

namespace pg {

TEST_CASE("nan check: the first NaN or infinity in f32, bf16 and f16 arrays") {
    const double inf = std::numeric_limits<double>::infinity();
    for (DType t : {DType::f32, DType::bf16, DType::f16}) {
        INFO(dtype_name(t));
        HostTensor x = HostTensor::from_doubles(t, {6}, {0.5, -2, 65000.0 * (t == DType::f16 ? 1 : 100), 0, -0.0, 1e-3});
        CHECK(find_non_finite(x) == -1);
        for (double bad : {std::nan(""), inf, -inf}) {
            HostTensor y = x;
            y.set(4, bad);
            y.set(5, inf);
            CHECK(find_non_finite(y) == 4);
            CHECK(non_finite_text(y.data(), t, 4) == (std::isnan(bad) ? "nan" : bad > 0 ? "inf" : "-inf"));
        }
    }
    HostTensor ints = HostTensor::from_doubles(DType::i32, {3}, {-1, 0x7f800000, 7});
    CHECK(find_non_finite(ints) == -1);
}

}  // namespace pg
