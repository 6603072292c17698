// Persistent tensors by name and transfer counting (see session.h).
#include "runtime/session.h"

#include <fmt/format.h>

#include "base/error.h"

namespace pg {

int64_t TransferStats::total() const {
    int64_t t = 0;
    for (int k = 0; k < kTransferKinds; ++k) t += to_device[k] + to_host[k];
    return t;
}

TransferStats TransferStats::operator-(const TransferStats& before) const {
    TransferStats d;
    for (int k = 0; k < kTransferKinds; ++k) {
        d.to_device[k] = to_device[k] - before.to_device[k];
        d.to_host[k] = to_host[k] - before.to_host[k];
    }
    return d;
}

std::string TransferStats::to_string() const {
    static constexpr const char* kNames[kTransferKinds] = {"state", "batch", "scalars", "outputs"};
    std::string s;
    for (int k : {1, 2, 3, 0})
        s += fmt::format("{}{} {} B", s.empty() ? "" : ", ", kNames[k], to_device[k] + to_host[k]);
    return s;
}

void check_value(const std::string& name, const HostTensor& value, DType dtype, const Shape& shape) {
    PG_CHECK(value.dtype == dtype && value.shape == shape, "value for '{}' is {} {}, expected {} {}", name,
             dtype_name(value.dtype), shape_str(value.shape), dtype_name(dtype), shape_str(shape));
}

Session::Session(std::unique_ptr<Device> device) : device_(std::move(device)) {}

Session::~Session() {
    try {
        device_->synchronize();
    } catch (const Error&) {
        // Nothing to recover at teardown; the memory is released below either way.
    }
    for (auto& [name, t] : tensors_) device_->free(t.address);
}

const SessionTensor& Session::bind(const std::string& name, DType dtype, const Shape& shape) {
    auto it = tensors_.find(name);
    if (it != tensors_.end()) {
        const SessionTensor& t = it->second;
        PG_CHECK(t.dtype == dtype && t.shape == shape,
                 "the session's tensor '{}' is {} {}, but a graph declares it as {} {}: two graphs of one session "
                 "must agree on every shared parameter",
                 name, dtype_name(t.dtype), shape_str(t.shape), dtype_name(dtype), shape_str(shape));
        return t;
    }
    int64_t bytes = numel(shape) * static_cast<int64_t>(dtype_size(dtype));
    SessionTensor t{name, dtype, shape, device_->alloc(static_cast<size_t>(bytes)), bytes};
    return tensors_.emplace(name, std::move(t)).first->second;
}

const SessionTensor* Session::find(const std::string& name) const {
    auto it = tensors_.find(name);
    return it == tensors_.end() ? nullptr : &it->second;
}

const SessionTensor& Session::at(const std::string& name) const {
    const SessionTensor* t = find(name);
    PG_CHECK(t != nullptr, "the session has no tensor named '{}' (no graph compiled in it declares it)", name);
    return *t;
}

void Session::set(const std::string& name, const HostTensor& value) {
    const SessionTensor& t = at(name);
    check_value(name, value, t.dtype, t.shape);
    device_->upload(t.address, value.data(), static_cast<size_t>(t.bytes));
    count(Transfer::State, true, t.bytes);
}

HostTensor Session::get(const std::string& name) const {
    const SessionTensor& t = at(name);
    HostTensor out(t.dtype, t.shape);
    device_->download(out.data(), t.address, static_cast<size_t>(t.bytes));
    count(Transfer::State, false, t.bytes);
    return out;
}

void Session::fill_zero(const std::string& name) {
    const SessionTensor& t = at(name);
    device_->fill_zero(t.address, static_cast<size_t>(t.bytes));
}

std::vector<std::string> Session::names() const {
    std::vector<std::string> out;
    for (const auto& [name, t] : tensors_) out.push_back(name);
    return out;
}

int64_t Session::bytes() const {
    int64_t b = 0;
    for (const auto& [name, t] : tensors_) b += t.bytes;
    return b;
}

void Session::count(Transfer what, bool to_device, int64_t bytes) const {
    (to_device ? transfers_.to_device : transfers_.to_host)[static_cast<size_t>(what)] += bytes;
}

}  // namespace pg
