// Orthogonal and Overtone initialisation (see spectral_init.h).
#include "frontend/nn/spectral_init.h"

#include <lapacke.h>

#include <algorithm>
#include <cmath>

#include "base/error.h"

namespace pg::nn {

std::vector<double> orthogonal_matrix(int64_t rows, int64_t cols, double gain, std::mt19937_64& rng) {
    // QR of the tall orientation (m >= n), as orthogonal_ does by transposing a wide matrix.
    const int64_t m = std::max(rows, cols), n = std::min(rows, cols);
    std::normal_distribution<double> d(0.0, 1.0);
    std::vector<double> a(static_cast<size_t>(m * n)), tau(static_cast<size_t>(n));
    for (double& v : a) v = d(rng);
    const auto lm = static_cast<lapack_int>(m), ln = static_cast<lapack_int>(n);
    lapack_int info = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, lm, ln, a.data(), ln, tau.data());
    std::vector<double> sign(static_cast<size_t>(n));
    for (int64_t j = 0; j < n; ++j) sign[j] = a[j * n + j] < 0 ? -1.0 : 1.0;
    if (info == 0) info = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, lm, ln, ln, a.data(), ln, tau.data());
    PG_CHECK(info == 0, "orthogonal init of a {}x{} matrix failed (LAPACK info {})", rows, cols, info);
    std::vector<double> out(static_cast<size_t>(rows * cols));
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            double q = gain * a[i * n + j] * sign[j];
            if (rows >= cols) out[i * cols + j] = q;
            else out[j * cols + i] = q;
        }
    return out;
}

void overtone_spectrum(std::vector<double>& mat, int64_t rows, int64_t cols) {
    const int64_t k = std::min(rows, cols);
    std::vector<double> s(static_cast<size_t>(k)), u(static_cast<size_t>(rows * k)), vt(static_cast<size_t>(k * cols)),
        superb(static_cast<size_t>(std::max<int64_t>(k - 1, 1)));
    std::vector<double> a = mat;
    lapack_int info = LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'S', 'S', static_cast<lapack_int>(rows),
                                     static_cast<lapack_int>(cols), a.data(), static_cast<lapack_int>(cols), s.data(),
                                     u.data(), static_cast<lapack_int>(k), vt.data(), static_cast<lapack_int>(cols),
                                     superb.data());
    PG_CHECK(info == 0, "Overtone init: the SVD of a {}x{} matrix did not converge (LAPACK info {})", rows, cols, info);
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) {
            double v = 0;
            for (int64_t j = 0; j < k; ++j) v += u[r * k + j] * (s[0] / std::sqrt(static_cast<double>(j + 1))) * vt[j * cols + c];
            mat[r * cols + c] = v;
        }
}

}  // namespace pg::nn
