// Candidate timing (see timer.h).
#include "runtime/tuning/timer.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <vector>

namespace pg {
namespace {

// Twice the last-level cache, at most 64 MiB: a virtual machine reports the whole package's L3
// (320 MiB on this 2-core EPYC slice) while a core reaches only its CCX's share (32 MiB on every
// EPYC generation without V-cache), and each flush costs ~10 ms per 64 MiB.
size_t flush_bytes() {
    constexpr size_t kMax = size_t{64} << 20;
    long llc = sysconf(_SC_LEVEL3_CACHE_SIZE);
    if (llc <= 0) llc = sysconf(_SC_LEVEL2_CACHE_SIZE);
    return llc > 0 ? std::min(kMax, 2 * static_cast<size_t>(llc)) : kMax;
}

double seconds(const std::function<void()>& fn) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

void flush_caches() {
    static std::vector<char> buffer(flush_bytes());
    static volatile char sink = 0;
    std::memset(buffer.data(), static_cast<int>(sink) + 1, buffer.size());
    char acc = 0;
    for (size_t i = 0; i < buffer.size(); i += 64) acc = static_cast<char>(acc ^ buffer[i]);
    sink = acc;
}

std::vector<double> time_candidates(const std::vector<std::function<void()>>& fns, const TimingOptions& options) {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    std::vector<std::vector<double>> times(fns.size());
    std::vector<bool> failed(fns.size(), false);
    for (int round = 0; round < options.warmup + options.reps; ++round) {
        for (size_t c = 0; c < fns.size(); ++c) {
            if (failed[c]) continue;
            if (options.flush) flush_caches();
            try {
                double s = seconds(fns[c]);
                failed[c] = s > options.timeout_s;
                if (round >= options.warmup) times[c].push_back(s);
            } catch (const std::exception&) {
                failed[c] = true;
            }
        }
    }
    std::vector<double> medians(fns.size(), kInf);
    for (size_t c = 0; c < fns.size(); ++c) {
        if (failed[c] || times[c].empty()) continue;
        std::nth_element(times[c].begin(), times[c].begin() + static_cast<long>(times[c].size() / 2), times[c].end());
        medians[c] = times[c][times[c].size() / 2];
    }
    return medians;
}

}  // namespace pg
