// Parameters: a ParamSet holds every named parameter of a model (and optimizer state) in one
// graph, with its init scheme and optimizer group, and materialises initial values from a seed.
// Names follow the challenge's PyTorch state_dict names so that weights move both ways.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "frontend/tensor.h"
#include "graph/tensor_data.h"

namespace pg {

struct Init {
    enum class Kind { Zeros, Constant, Normal, Uniform, RowPattern, Orthogonal, Overtone } kind = Kind::Zeros;
    double a = 0;                   // constant value, normal std, uniform bound, orthogonal gain, Overtone std
    std::vector<double> rows;       // RowPattern: row r of a 2-D param is filled with rows[r]

    static Init zeros() { return {}; }
    static Init ones() { return {Kind::Constant, 1.0, {}}; }
    static Init constant(double v) { return {Kind::Constant, v, {}}; }
    static Init normal(double std) { return {Kind::Normal, std, {}}; }
    static Init uniform(double bound) { return {Kind::Uniform, bound, {}}; }  // U(-bound, bound)
    static Init row_pattern(std::vector<double> r) { return {Kind::RowPattern, 0, std::move(r)}; }
    // 2-D only (frontend/nn/spectral_init.h): orthogonal × gain; N(0, std) with Overtone's spectrum.
    static Init orthogonal(double gain) { return {Kind::Orthogonal, gain, {}}; }
    static Init overtone(double std) { return {Kind::Overtone, std, {}}; }
};

struct ParamSpec {
    std::string name;
    Shape shape;
    DType dtype = DType::f32;
    Init init;
    std::string group;  // optimizer group: "matrix", "scalar", "embed", or "state" for optimizer state
    NodeId node = kNoNode;
};

class ParamSet {
public:
    explicit ParamSet(Graph& g) : g_(&g) {}

    // Declares a parameter; declaring the same name twice is a pg::Error.
    Tensor add(const std::string& name, const Shape& shape, Init init, const std::string& group,
               DType dtype = DType::f32);
    // Declares a parameter, or returns the one already declared under `name` (weights shared by
    // looped layers); a different shape, dtype or group under the same name is a pg::Error.
    Tensor use(const std::string& name, const Shape& shape, Init init, const std::string& group,
               DType dtype = DType::f32);
    Tensor get(const std::string& name) const;
    // Replaces the init scheme of a declared parameter (init variants chosen after the model is built).
    void set_init(const std::string& name, Init init);
    const std::vector<ParamSpec>& specs() const { return specs_; }
    Graph& graph() const { return *g_; }

    // Initial values of every parameter. Each parameter's generator is seeded from (seed, name),
    // so values do not depend on declaration order.
    std::map<std::string, HostTensor> initialize(uint64_t seed) const;

    int64_t count(const std::string& group = "") const;  // elements, all non-state params if ""

private:
    Graph* g_;
    std::vector<ParamSpec> specs_;
};

}  // namespace pg
