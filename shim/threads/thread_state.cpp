#include "thread_state.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "../state.hpp"

namespace shim::threads {
namespace {

std::atomic<int> mode{-1};  // -1 not read yet, 0 off, else the carriers wanted

int read_mode() noexcept {
    const char* v = green::detail::shim_api::env("GREEN_THREADS");
    if (!v || std::strcmp(v, "0") == 0) return 0;
    if (std::strcmp(v, "auto") == 0) {
        cpu_set_t cpus;
        return sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? std::max(1, CPU_COUNT(&cpus)) : 1;
    }
    // By hand, not strtol: this runs as early as a sanitizer runtime's own
    // initialisation (its pthread_getspecific), whose interceptors refuse calls then.
    long n = 0;
    for (const char* c = v; *c; ++c) {
        if (*c < '0' || *c > '9') return 1;  // "yes": one carrier
        n = std::min<long>(n * 10 + (*c - '0'), kMaxCarriers);
    }
    return n < 1 ? 1 : static_cast<int>(n);
}

thread_local int cached_tid [[gnu::tls_model("initial-exec")]] = 0;

[[gnu::constructor(102)]] void forget_tid_in_children() {
    pthread_atfork(nullptr, nullptr, [] { cached_tid = 0; });
}

}  // namespace

bool enabled() noexcept {
    int m = mode.load(std::memory_order_relaxed);
    if (m < 0) [[unlikely]] {
        m = read_mode();
        mode.store(m, std::memory_order_relaxed);
    }
    return m != 0;
}

int carriers_wanted() noexcept { return enabled() ? mode.load(std::memory_order_relaxed) : 0; }

GreenThread* current() noexcept {
    GreenletCore* g = api::running_greenlet();
    return g ? static_cast<GreenThread*>(g->thread) : nullptr;
}

int self_id() noexcept {
    if (GreenThread* t = current()) return t->id;
    if (cached_tid == 0) cached_tid = static_cast<int>(::syscall(SYS_gettid));
    return cached_tid;
}

// The runtime's own code (a stack pool's lock held, say) never parks: a futex
// it waits on there (a C++ static's guard) is the kernel's.
bool may_switch() noexcept {
    return state::plain_depth == 0 && !api::in_runtime_scope() && api::running_greenlet() != nullptr;
}

bool to_deadline(clockid_t clock, const timespec* abstime, Deadline& deadline) noexcept {
    if (!abstime || abstime->tv_nsec < 0 || abstime->tv_nsec >= 1000000000L) return false;  // a negative tv_sec is a past time
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) return false;
    const double at = green::detail::to_seconds(*abstime);
    if (clock == CLOCK_MONOTONIC) {
        deadline = Deadline::at_monotonic(at);
        return true;
    }
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    deadline = Deadline::at_monotonic(Deadline::now() + (at - green::detail::to_seconds(now)));
    return true;
}

}  // namespace shim::threads
