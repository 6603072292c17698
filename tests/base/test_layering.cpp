// The include-direction rule of DESIGN.md, enforced: base <- graph <- ops <- codegen <- runtime <-
// frontend, each folder including only itself and folders to its left; LLVM headers only in the
// LLVM renderer, the ORC compiler and the digests; no CUDA header in graph/, ops/ or codegen/. The checker is
// run on a synthetic tree (it must see an upward include) and on the real one (it must see none).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/test_files.h"

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kLayers = {"base", "graph", "ops", "codegen", "runtime", "frontend"};

int layer_rank(const std::string& folder) {
    for (size_t i = 0; i < kLayers.size(); ++i)
        if (kLayers[i] == folder) return static_cast<int>(i);
    return -1;
}

// The digests use LLVM Support's SHA-256 and xxHash64 (two small ADT headers, not the IR headers
// that cost seconds per translation unit).
bool llvm_allowed(const std::string& rel) {
    return rel.rfind("codegen/llvm/", 0) == 0 || rel.rfind("runtime/cpu_jit", 0) == 0 || rel == "base/digest.cpp";
}

// Every rule broken by one source file, as "path:line: what".
void check_file(const fs::path& root, const fs::path& file, std::vector<std::string>& out) {
    std::string rel = fs::relative(file, root).generic_string();
    std::string folder = rel.substr(0, rel.find('/'));
    int rank = layer_rank(folder);
    std::ifstream in(file);
    static const std::regex include_re(R"(^\s*#\s*include\s*[<"]([^">]+)[">])");
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        std::smatch m;
        if (!std::regex_search(line, m, include_re)) continue;
        std::string target = m[1];
        std::string where = rel + ":" + std::to_string(n) + ": ";
        int target_rank = layer_rank(target.substr(0, target.find('/')));
        if (target.find('/') != std::string::npos && target_rank > rank)
            out.push_back(where + folder + "/ includes " + target + " from a layer above it");
        if (target.rfind("llvm/", 0) == 0 && !llvm_allowed(rel))
            out.push_back(where + "LLVM header " + target + " outside the LLVM renderer and the ORC compiler");
        bool cuda_header = target == "cuda.h" || target == "nvrtc.h" || target.rfind("cuda_runtime", 0) == 0;
        if (cuda_header && rank <= layer_rank("codegen"))
            out.push_back(where + "CUDA header " + target + " in " + folder + "/");
    }
}

std::vector<std::string> layering_violations(const fs::path& root) {
    std::vector<std::string> out;
    for (const std::string& layer : kLayers) {
        if (!fs::exists(root / layer)) continue;
        for (const auto& e : fs::recursive_directory_iterator(root / layer)) {
            std::string ext = e.path().extension().string();
            if (e.is_regular_file() && (ext == ".h" || ext == ".cpp" || ext == ".cuh")) check_file(root, e.path(), out);
        }
    }
    return out;
}

void write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

std::string joined(const std::vector<std::string>& v) {
    std::ostringstream s;
    for (const std::string& x : v) s << x << "\n";
    return s.str();
}

}  // namespace

TEST_CASE("layering: the checker reports an upward include, a stray LLVM header and a CUDA header in codegen") {
    pg::testing::TempDir dir("pgolf-layering");
    write(dir / "graph/ok.cpp", "#include \"base/error.h\"\n#include \"graph/graph.h\"\n#include <vector>\n");
    write(dir / "graph/bad.cpp", "#include \"graph/graph.h\"\n#include \"runtime/env.h\"\n");
    write(dir / "codegen/kir.cpp", "#include <llvm/IR/Module.h>\n#include <cuda.h>\n");
    write(dir / "codegen/llvm/llvm_renderer.cpp", "#include <llvm/IR/Module.h>\n#include \"ops/gemm/gemm.h\"\n");
    std::vector<std::string> v = layering_violations(dir.path());
    INFO(joined(v));
    REQUIRE(v.size() == 3);
    CHECK(joined(v).find("graph/bad.cpp:2: graph/ includes runtime/env.h from a layer above it") != std::string::npos);
    CHECK(joined(v).find("codegen/kir.cpp:1: LLVM header") != std::string::npos);
    CHECK(joined(v).find("codegen/kir.cpp:2: CUDA header cuda.h in codegen/") != std::string::npos);
}

TEST_CASE("layering: every include of the source tree points down or sideways") {
    std::vector<std::string> v = layering_violations(PG_SOURCE_DIR);
    INFO(joined(v));
    CHECK(v.empty());
}
