// Tensor: the user's handle on a graph value. Operators intern nodes in the graph (equal
// subexpressions collapse); nothing is computed until the graph is compiled and run.
#pragma once
#include <string>
#include <vector>

#include "graph/build.h"
#include "graph/graph.h"

namespace pg {

class Tensor {
public:
    Tensor() = default;
    Tensor(Graph* g, NodeId id) : g_(g), id_(id) {}

    Graph& graph() const { return *g_; }
    NodeId id() const { return id_; }
    const Shape& shape() const { return (*g_)[id_].shape; }
    DType dtype() const { return (*g_)[id_].dtype; }
    int64_t dim(int64_t axis) const;
    bool defined() const { return g_ != nullptr; }

    Tensor reshape(const Shape& s) const;
    Tensor permute(const std::vector<int64_t>& perm) const;
    Tensor transpose(int64_t a, int64_t b) const;
    Tensor broadcast_to(const Shape& s) const;
    Tensor slice(int64_t axis, int64_t start, int64_t end, int64_t step = 1) const;
    Tensor cast(DType t) const;

    Tensor sum(std::vector<int64_t> axes) const;
    Tensor mean(std::vector<int64_t> axes) const;
    Tensor max(std::vector<int64_t> axes) const;
    Tensor sum_all() const;   // shape []
    Tensor mean_all() const;  // shape []

    Tensor exp() const;
    Tensor log() const;
    Tensor tanh() const;
    Tensor sigmoid() const;
    Tensor sqrt() const;
    Tensor rsqrt() const;
    Tensor relu() const;
    Tensor abs() const;
    Tensor square() const;

private:
    Graph* g_ = nullptr;
    NodeId id_ = kNoNode;
};

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, double exponent);

Tensor matmul(const Tensor& a, const Tensor& b);
Tensor gather(const Tensor& table, const Tensor& index);
Tensor softmax(const Tensor& x);
Tensor log_softmax(const Tensor& x);
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, double softcap = 0);  // per token
// Per token [N]: cross_entropy(x wᵀ, targets, softcap) for x [N, d], w [V, d] as one op, which a
// backend may run in tiles without the [N, V] logits (graph/op.h: LinearCrossEntropy).
Tensor linear_cross_entropy(const Tensor& x, const Tensor& w, const Tensor& targets, double softcap = 0);
Tensor rms_norm(const Tensor& x, double eps);
Tensor rope(const Tensor& x, int64_t rotated_dims, double base);
// doc_start: undefined (causal) or [B, T] i32, document masking at BOS (graph/op.h Attention).
Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale, const Tensor& doc_start = {});

// Leaves.
Tensor input(Graph& g, const std::string& name, const Shape& shape, DType dtype);
Tensor runtime_scalar(Graph& g, const std::string& name);

}  // namespace pg
