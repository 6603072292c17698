// Non-finite checks of device buffers: the PG_NAN_CHECK setting (what the trainer checks every
// step), a scan for the first NaN or infinity in an array of any float dtype, and the error a
// checked executable throws naming the kernel whose output went non-finite.
//
// PG_NAN_CHECK:
//   off   nothing is checked;
//   loss  the step's loss (read back anyway) is checked (default: costs nothing);
//   grad  also the global gradient norm, read with the last micro-step's loss (no extra sync);
//   full  also every kernel output of every graph: a scan per kernel, for hunting the first kernel
//         that produces a NaN; the error names it. On CUDA each checked step runs launch by launch
//         and copies every kernel output to the host (slow: a debugging mode).
#pragma once
#include <cstdint>
#include <string>

#include "base/error.h"
#include "graph/dtype.h"
#include "graph/tensor_data.h"

namespace pg {

enum class NanCheck { Off, Loss, Grad, Full };

// The PG_NAN_CHECK setting.
NanCheck nan_check_mode();

// Index of the first NaN or infinity among `count` elements of `dtype` at `data`, or -1 (integer
// and boolean dtypes are always finite).
int64_t find_non_finite(const void* data, DType dtype, int64_t count);
inline int64_t find_non_finite(const HostTensor& t) { return find_non_finite(t.data(), t.dtype, t.numel()); }

// "nan", "inf" or "-inf": the non-finite value at element `index`.
std::string non_finite_text(const void* data, DType dtype, int64_t index);

// Thrown by an executable checking its kernel outputs (PG_NAN_CHECK=full): `kernel` names the
// plan step ("k012 loop exp [4, 32]").
class NonFiniteError : public Error {
public:
    NonFiniteError(std::string kernel, const std::string& what) : Error(what), kernel_(std::move(kernel)) {}
    const std::string& kernel() const { return kernel_; }

private:
    std::string kernel_;
};

// Throws NonFiniteError when the output of the kernel `kernel` (a plan step, "k012 loop exp [4, 32]";
// `step` its plan name, "k012_exp"), held in host memory at `data`, has a NaN or an infinity.
void check_kernel_output(const std::string& kernel, const std::string& step, const void* data, DType dtype,
                         const Shape& shape);

}  // namespace pg
