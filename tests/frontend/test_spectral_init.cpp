// Orthogonal and Overtone init (frontend/nn/spectral_init.h) by their defining properties:
// orthogonal matrices have orthonormal rows (wide) or columns (tall) — checked by a plain product,
// to 1e-12 (LAPACK's QR in fp64 is backward stable, error ~n·2^-52) — and Overtone's result has
// singular values S_1·k^(−1/2), checked with NumPy's SVD (an independent implementation), to 1e-9
// relative; a ParamSet with ORTHO_INIT / OVERTONE_INIT initialises through them.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "frontend/models/gpt.h"
#include "frontend/nn/spectral_init.h"
#include "tests/support/skip.h"

namespace pg {

TEST_CASE("spectral init: orthogonal matrices, tall and wide, times the gain") {
    std::mt19937_64 rng(5);
    for (auto [rows, cols] : {std::pair<int64_t, int64_t>{96, 64}, {64, 96}, {48, 48}}) {
        std::vector<double> q = nn::orthogonal_matrix(rows, cols, 2.0, rng);
        const int64_t n = std::min(rows, cols);
        double worst = 0;
        for (int64_t a = 0; a < n; ++a)
            for (int64_t b = 0; b < n; ++b) {
                double dot = 0;
                for (int64_t k = 0; k < std::max(rows, cols); ++k)
                    dot += rows >= cols ? q[k * cols + a] * q[k * cols + b] : q[a * cols + k] * q[b * cols + k];
                worst = std::max(worst, std::fabs(dot - (a == b ? 4.0 : 0.0)));
            }
        INFO(rows, "x", cols);
        CHECK(worst <= 1e-12);
    }
}

TEST_CASE("spectral init: Overtone's singular values are S_1 / sqrt(k) (NumPy SVD)") {
    if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0)
        PG_SKIP("/usr/bin/python3 cannot import numpy");
    const int64_t rows = 40, cols = 24;
    std::mt19937_64 rng(9);
    std::normal_distribution<double> d(0, 0.005);
    std::vector<double> m(rows * cols);
    for (double& v : m) v = d(rng);
    nn::overtone_spectrum(m, rows, cols);
    auto path = std::filesystem::temp_directory_path() / fmt::format("pgolf_overtone_{}.txt", ::getpid());
    {
        std::ofstream out(path);
        for (double v : m) out << fmt::format("{:.17g}\n", v);
    }
    std::string cmd = fmt::format(
        "/usr/bin/python3 -c \"import numpy as np; s = np.linalg.svd(np.loadtxt('{}').reshape({}, {}), "
        "compute_uv=False); w = s[0] / np.sqrt(np.arange(1, len(s) + 1)); "
        "raise SystemExit(0 if np.max(np.abs(s - w)) <= 1e-9 * s[0] else 1)\"",
        path.string(), rows, cols);
    CHECK(std::system(cmd.c_str()) == 0);
    std::filesystem::remove(path);
}

TEST_CASE("spectral init: ORTHO_INIT and OVERTONE_INIT pick the schemes for the right parameters") {
    GptConfig c;
    c.vocab_size = 96;
    c.num_layers = 2;
    c.model_dim = 64;
    c.num_heads = 4;
    c.num_kv_heads = 2;
    c.variant.ortho_init = true;
    c.variant.overtone_init = true;
    Graph g;
    ParamSet ps(g);
    Tensor ids = input(g, "ids", {1, 8}, DType::i64);
    gpt_loss(ps, c, ids, ids);
    for (const ParamSpec& p : ps.specs()) {
        INFO(p.name);
        if (p.name == "tok_emb.weight") CHECK(p.init.kind == Init::Kind::Overtone);
        else if (p.name.ends_with("c_q.weight") || p.name.ends_with("mlp.fc.weight")) CHECK(p.init.kind == Init::Kind::Orthogonal);
        else if (p.name.ends_with("c_k.weight")) CHECK(p.init.kind == Init::Kind::Uniform);  // [32, 64]: a dim < 64
        else if (p.name.ends_with("proj.weight")) CHECK(p.init.kind == Init::Kind::Zeros);
    }
    CHECK(ps.initialize(1).at("tok_emb.weight").numel() == 96 * 64);
}

}  // namespace pg
