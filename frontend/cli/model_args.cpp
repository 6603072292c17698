// Model-file command helpers (see model_args.h).
#include "frontend/cli/model_args.h"

#include <fmt/format.h>

#include "base/env.h"
#include "base/error.h"
#include "frontend/export/checkpoint.h"
#include "frontend/export/model_file.h"
#include "frontend/train/hyperparams.h"

namespace pg::cli {

std::map<std::string, std::string> parse_options(const std::vector<std::string>& args,
                                                 const std::vector<std::string>& keys, const std::string& command) {
    std::map<std::string, std::string> out;
    auto known = [&](const std::string& k) { return std::find(keys.begin(), keys.end(), k) != keys.end(); };
    std::string accepted;
    for (const std::string& k : keys) accepted += (accepted.empty() ? "--" : ", --") + k;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        PG_CHECK(a.rfind("--", 0) == 0, "pgolf {}: unexpected argument '{}' (options: {})", command, a, accepted);
        std::string key = a.substr(2), value;
        if (auto eq = key.find('='); eq != std::string::npos) {
            value = key.substr(eq + 1);
            key = key.substr(0, eq);
        } else {
            PG_CHECK(i + 1 < args.size(), "pgolf {}: option --{} needs a value", command, key);
            value = args[++i];
        }
        PG_CHECK(known(key), "pgolf {}: unknown option --{} (options: {}; settings: `pgolf env`)", command, key,
                 accepted);
        out[key] = value;
    }
    return out;
}

int apply_checkpoint_model_settings(const std::string& path) {
    if (io::detect_model_file(path) != io::ModelFileKind::checkpoint) return 0;
    io::Checkpoint ck = io::load_checkpoint(path);
    std::map<std::string, std::string> config = ck.config();
    int n = 0;
    for (const std::string& name : model_knob_names()) {
        auto it = config.find(name);
        if (it == config.end()) continue;
        env::set_override(name, it->second);
        ++n;
    }
    return n;
}

}  // namespace pg::cli
