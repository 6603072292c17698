// Static shapes: a list of extents, row-major, with helpers for element counts and strides.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace pg {

using Shape = std::vector<int64_t>;

int64_t numel(const Shape& s);
std::vector<int64_t> contiguous_strides(const Shape& s);
std::string shape_str(const Shape& s);  // "[2,3,4]"

}  // namespace pg
