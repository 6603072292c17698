// Initialisations of the records that need a matrix decomposition (pgolf-spec §4.2), through
// LAPACK (LAPACKE over OpenBLAS): orthogonal init (torch.nn.init.orthogonal_: the Q of a Gaussian
// matrix's QR with R's diagonal signs folded in, times a gain) and Overtone's spectral reshaping
// (SVD E = U·diag(S)·Vᵀ, singular values replaced by S_1·k^(−1/2), k = 1, 2, ...).
#pragma once
#include <cstdint>
#include <random>
#include <vector>

namespace pg::nn {

// A rows × cols (row-major) orthogonal matrix (orthonormal rows or columns, whichever are fewer),
// times `gain`, from Gaussian draws of `rng`.
std::vector<double> orthogonal_matrix(int64_t rows, int64_t cols, double gain, std::mt19937_64& rng);

// Replaces the singular values of the rows × cols matrix m (row-major) by S_1·k^(−1/2).
void overtone_spectrum(std::vector<double>& m, int64_t rows, int64_t cols);

}  // namespace pg::nn
