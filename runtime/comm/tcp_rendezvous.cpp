// The bootstrap rendezvous over TCP (see tcp_rendezvous.h). Protocol: a peer connects, sends its
// rank (4 bytes, little-endian) and reads the payload's size (4 bytes) and bytes.
#include "runtime/comm/tcp_rendezvous.h"

#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>
#include <thread>

#include "base/env.h"
#include "base/error.h"

namespace pg::comm {

PG_KNOB({.name = "PG_DIST_TIMEOUT", .kind = env::KnobKind::Float, .default_value = "300",
         .doc = "seconds a rank waits for its peers at the rendezvous before failing with an error"});

namespace {

using Clock = std::chrono::steady_clock;

// A socket closed on scope exit.
struct Socket {
    int fd = -1;
    explicit Socket(int f = -1) : fd(f) {}
    ~Socket() {
        if (fd >= 0) ::close(fd);
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
};

double seconds_left(Clock::time_point deadline) {
    return std::chrono::duration<double>(deadline - Clock::now()).count();
}

// Waits until `fd` is readable (or writable) or the deadline passes.
bool wait_ready(int fd, short events, Clock::time_point deadline) {
    pollfd p{fd, events, 0};
    const double left = seconds_left(deadline);
    return left > 0 && ::poll(&p, 1, static_cast<int>(left * 1000) + 1) == 1;
}

void send_all(int fd, const void* data, size_t n, Clock::time_point deadline, const std::string& what) {
    const auto* p = static_cast<const uint8_t*>(data);
    while (n > 0) {
        PG_CHECK(wait_ready(fd, POLLOUT, deadline), "rendezvous: timed out sending {}", what);
        ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
        PG_CHECK(k > 0, "rendezvous: sending {} failed: {}", what, std::strerror(errno));
        p += k;
        n -= static_cast<size_t>(k);
    }
}

void recv_all(int fd, void* data, size_t n, Clock::time_point deadline, const std::string& what) {
    auto* p = static_cast<uint8_t*>(data);
    while (n > 0) {
        PG_CHECK(wait_ready(fd, POLLIN, deadline), "rendezvous: timed out waiting for {}", what);
        ssize_t k = ::recv(fd, p, n, 0);
        PG_CHECK(k > 0, "rendezvous: the connection closed while reading {}", what);
        p += k;
        n -= static_cast<size_t>(k);
    }
}

std::string missing_ranks(const std::set<int>& arrived, int world) {
    std::string out;
    for (int r = 1; r < world; ++r)
        if (!arrived.count(r)) out += (out.empty() ? "" : ",") + std::to_string(r);
    return out;
}

std::vector<uint8_t> serve(const LaunchEnv& env, const std::vector<uint8_t>& payload, Clock::time_point deadline) {
    const int port = rendezvous_port(env);
    Socket listener(::socket(AF_INET6, SOCK_STREAM, 0));
    PG_CHECK(listener.fd >= 0, "rendezvous: cannot open a socket: {}", std::strerror(errno));
    int yes = 1, no = 0;
    ::setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    ::setsockopt(listener.fd, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof(no));  // IPv4 peers too
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_addr = in6addr_any;
    addr.sin6_port = htons(static_cast<uint16_t>(port));
    PG_CHECK(::bind(listener.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 && ::listen(listener.fd, 128) == 0,
             "rendezvous: rank 0 cannot listen on port {} (MASTER_PORT={} + 1): {}; pick another MASTER_PORT", port,
             env.master_port, std::strerror(errno));
    std::set<int> arrived;
    const auto size = static_cast<uint32_t>(payload.size());
    while (static_cast<int>(arrived.size()) < env.world_size - 1) {
        PG_CHECK(wait_ready(listener.fd, POLLIN, deadline),
                 "rendezvous: rank 0 waited {:.0f}s on port {} and rank(s) {} of {} never arrived; start every rank with "
                 "the same MASTER_ADDR/MASTER_PORT/WORLD_SIZE, or raise PG_DIST_TIMEOUT",
                 peer_timeout_seconds(), port, missing_ranks(arrived, env.world_size), env.world_size);
        Socket peer(::accept(listener.fd, nullptr, nullptr));
        if (peer.fd < 0) continue;
        uint32_t rank = 0;
        recv_all(peer.fd, &rank, sizeof(rank), deadline, "a peer's rank");
        PG_CHECK(rank >= 1 && static_cast<int>(rank) < env.world_size && !arrived.count(static_cast<int>(rank)),
                 "rendezvous: a peer announced rank {} (world size {}, arrived: {}): two ranks share a RANK, or "
                 "another run uses MASTER_PORT={}", rank, env.world_size, arrived.size(), env.master_port);
        send_all(peer.fd, &size, sizeof(size), deadline, "the payload size");
        send_all(peer.fd, payload.data(), payload.size(), deadline, "the payload");
        arrived.insert(static_cast<int>(rank));
    }
    return payload;
}

// Connects to rank 0, retrying while it is not listening yet.
int connect_to_root(const LaunchEnv& env, Clock::time_point deadline) {
    const std::string port = std::to_string(rendezvous_port(env));
    std::string last_error = "no attempt";
    while (seconds_left(deadline) > 0) {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* found = nullptr;
        int rc = ::getaddrinfo(env.master_addr.c_str(), port.c_str(), &hints, &found);
        if (rc != 0) {
            last_error = ::gai_strerror(rc);
        } else {
            for (addrinfo* a = found; a; a = a->ai_next) {
                int fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
                if (fd >= 0 && ::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
                    ::freeaddrinfo(found);
                    return fd;
                }
                last_error = std::strerror(errno);
                if (fd >= 0) ::close(fd);
            }
            ::freeaddrinfo(found);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw Error(fmt::format("rendezvous: rank {} could not reach rank 0 at {}:{} within {:.0f}s ({}); check MASTER_ADDR "
                            "and MASTER_PORT, that rank 0 runs, or raise PG_DIST_TIMEOUT",
                            env.rank, env.master_addr, port, peer_timeout_seconds(), last_error));
}

std::vector<uint8_t> join(const LaunchEnv& env, Clock::time_point deadline) {
    Socket s(connect_to_root(env, deadline));
    const auto rank = static_cast<uint32_t>(env.rank);
    send_all(s.fd, &rank, sizeof(rank), deadline, "this rank");
    uint32_t size = 0;
    recv_all(s.fd, &size, sizeof(size), deadline, "the payload size from rank 0");
    PG_CHECK(size <= (1u << 20), "rendezvous: rank 0 announced a payload of {} bytes; another program answers at {}:{}",
             size, env.master_addr, rendezvous_port(env));
    std::vector<uint8_t> payload(size);
    recv_all(s.fd, payload.data(), size, deadline, "the payload from rank 0");
    return payload;
}

}  // namespace

int rendezvous_port(const LaunchEnv& env) { return env.master_port + 1; }

double peer_timeout_seconds() { return env::get_float("PG_DIST_TIMEOUT"); }

std::vector<uint8_t> rendezvous_broadcast(const LaunchEnv& env, const std::vector<uint8_t>& payload) {
    PG_CHECK(!env.master_addr.empty() && env.master_port > 0,
             "rank {} of {} was started without MASTER_ADDR and MASTER_PORT (the rendezvous of rank 0): set both, as "
             "torchrun and `pgolf launch` do", env.rank, env.world_size);
    auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(peer_timeout_seconds() * 1000));
    return env.rank == 0 ? serve(env, payload, deadline) : join(env, deadline);
}

}  // namespace pg::comm
