#include "diag/monitor.hpp"

#include <execinfo.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "base/env.hpp"
#include "base/raw_lock.hpp"
#include "base/sys.hpp"
#include "core/hub.hpp"
#include "core/runtime_fds.hpp"
#include "diag/report.hpp"

namespace green::detail {
namespace {

struct Watched {
    Hub* hub;
    pthread_t thread;
    std::uint64_t last_rounds = 0;
    std::chrono::steady_clock::time_point since{};
    bool over_limit = false;
    bool turn_ended = false;
};

RawLock watched_mutex;
// The monitor thread: none yet, being started, or running (set by itself).
enum : std::uint32_t { kNoThread, kStarting, kRunning };
std::atomic<std::uint32_t> thread_state{kNoThread};
std::atomic<bool> wanted_in_child{false};  // a forked child's hub is watched, the thread not yet started
std::vector<Watched>& watched() {
    // Never destroyed: the monitor thread reads it until the process is gone.
    static auto* w = new std::vector<Watched>;
    return *w;
}

bool thread_patching() {
    static const bool on = [] {
        const char* threads = env("GREEN_THREADS");
        return threads && std::strcmp(threads, "0") != 0;
    }();
    return on;
}

// Under thread patching (GREEN_THREADS) the monitor is on unless
// GREEN_MONITOR_MS says otherwise: a green thread that blocks its carrier
// outside the shim must be reported, never silent.
constexpr long kThreadPatchingDefaultMs = 200;
constexpr long kMaxThresholdMs = 3'600'000;  // an hour

long threshold_ms() {
    static const long ms = [] {
        if (auto v = env_long("GREEN_MONITOR_MS", 0, kMaxThresholdMs)) return *v;
        return thread_patching() ? kThreadPatchingDefaultMs : 0L;
    }();
    return ms;
}

// Under thread patching the kernel no longer time-slices the program's threads,
// so the monitor does, as Go's sysmon does: a green thread that has run this
// long without switching is asked to let the others run at its next hooked call
// (Hub::end_turn; the shim takes the turn). A writer whose sends never fill the
// socket would otherwise keep its carrier for as long as it writes.
// GREEN_MONITOR_MS=0 turns the reports off, not the time slices: without them
// a thread whose polls always find something ready keeps its carrier for good.
constexpr auto kTimeSlice = std::chrono::milliseconds(10);  // Go's forcePreemptNS

// Whether the monitor watches hubs: for its reports, or for the time slices.
bool watching() { return threshold_ms() > 0 || thread_patching(); }


const int kReportSignal = SIGRTMAX - 1;

// On the busy thread: who is running, and where.
void report(int) {
    const int saved = errno;
    ReportLine line;
    line << "green: monitor: greenlet ";
    Hub* hub = Hub::current_if_any();
    if (const GreenletCore* g = hub ? hub->running() : nullptr)
        line << *g;
    else
        line << "(the hub)";
    line << " has kept its hub busy for more than " << std::uint64_t(threshold_ms()) << " ms without switching:\n";
    line.write();
    void* frames[64];
    backtrace_symbols_fd(frames, backtrace(frames, 64), STDERR_FILENO);
    errno = saved;
}

void run() {
    // The shim leaves this thread alone for its whole life: even with
    // GREEN_SHIM_COOPERATE=always its sleeps stay libc's, and it never gets a hub.
    RuntimeScope ours;
    thread_state.store(kRunning, std::memory_order_release);
    sys::futex_wake(&thread_state, INT32_MAX);
    // Past the limit a busy hub is reported, and a carrier gets no new green
    // threads (Hub::set_pinned); the latter also with the reports off.
    const bool reports = threshold_ms() > 0;
    const auto limit = std::chrono::milliseconds(reports ? threshold_ms() : kThreadPatchingDefaultMs);
    const bool slices = thread_patching();
    auto tick = std::max(limit / 4, std::chrono::milliseconds(1));
    if (slices) tick = std::min<std::chrono::milliseconds>(tick, kTimeSlice);
    for (;;) {
        std::this_thread::sleep_for(tick);
        const auto now = std::chrono::steady_clock::now();
        RawLockGuard lock(watched_mutex);
        for (Watched& w : watched()) {
            const std::uint64_t s = w.hub->loop_rounds();
            // A lone greenlet that blocks its thread keeps nothing else from running.
            if (s != w.last_rounds || w.hub->waiting_in_loop() || w.hub->live_greenlets() < 2) {
                w.last_rounds = s;
                w.since = now;
                if (w.over_limit) w.hub->set_pinned(false);
                w.over_limit = false;
                if (w.turn_ended) w.hub->clear_turn();
                w.turn_ended = false;
                continue;
            }
            if (slices && !w.turn_ended && now - w.since >= kTimeSlice) {
                w.turn_ended = true;  // once per stretch: the flag stays until the loop runs
                w.hub->end_turn();
            }
            if (!w.over_limit && now - w.since > limit) {
                w.over_limit = true;  // once per stretch
                w.hub->set_pinned(true);  // new green threads go to other carriers meanwhile
                if (reports) pthread_kill(w.thread, kReportSignal);
            }
        }
    }
}

void install_report_handler() {
    void* warm[1];
    backtrace(warm, 1);  // loads libgcc's unwinder now, not inside the signal handler
    // Under greenrun the shim's sigaction hook wraps it like any handler: it then
    // runs as a signal handler of the shim's, where greenlets never switch.
    struct sigaction sa {};
    sa.sa_handler = report;
    sa.sa_flags = SA_RESTART | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(kReportSignal, &sa, nullptr);
}

void start_thread() {
    RuntimeScope ours;  // the shim leaves this thread alone
    // The program's signals are for the program's threads, not this one.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    try {
        std::thread(run).detach();
    } catch (...) {
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        thread_state.store(kNoThread, std::memory_order_release);
        sys::futex_wake(&thread_state, INT32_MAX);
        throw;
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

// Starts the monitor thread unless it runs; returns once it runs. The caller
// goes on only then: a fork while it is still starting (its sanitizer's
// start-up code inside the allocator; GCC 12's AddressSanitizer does not lock
// its allocator around fork) would leave the child a lock nobody releases.
void ensure_thread() {
    for (;;) {
        std::uint32_t s = thread_state.load(std::memory_order_acquire);
        if (s == kRunning) return;
        if (s == kNoThread) {
            if (thread_state.compare_exchange_strong(s, kStarting, std::memory_order_acquire)) start_thread();
            continue;
        }
        sys::futex_wait(&thread_state, kStarting, nullptr);
    }
}

}  // namespace

unsigned monitor_threads() noexcept { return thread_state.load(std::memory_order_relaxed) == kRunning ? 1 : 0; }

void monitor_hub(Hub& hub) {
    if (!watching()) return;
    static std::once_flag handler;
    if (threshold_ms() > 0) std::call_once(handler, install_report_handler);
    ensure_thread();
    RawLockGuard lock(watched_mutex);
    watched().push_back(Watched{&hub, pthread_self(), hub.loop_rounds(), std::chrono::steady_clock::now()});
}

void monitor_after_fork() noexcept {
    wanted_in_child.store(false, std::memory_order_relaxed);
    if (thread_state.load(std::memory_order_relaxed) == kNoThread) return;
    // The monitor thread stayed in the parent, perhaps holding the lock; so did
    // every hub but the forking thread's, which is watched on as a new one.
    thread_state.store(kNoThread, std::memory_order_relaxed);
    watched_mutex.reset();
    Hub* here = Hub::current_if_any();
    std::erase_if(watched(), [here](const Watched& w) { return w.hub != here; });
    if (watched().empty()) return;  // the thread starts with the child's first hub
    Watched& w = watched().front();
    if (w.over_limit) here->set_pinned(false);
    w = Watched{here, pthread_self(), here->loop_rounds(), std::chrono::steady_clock::now()};
    // Not now: a child that only execs, or never has a second thread, has no
    // other thread to show (in /proc/self/task), as without green.
    wanted_in_child.store(true, std::memory_order_relaxed);
}

void monitor_green_thread_started() noexcept {
    if (!wanted_in_child.load(std::memory_order_relaxed)) [[likely]]
        return;
    wanted_in_child.store(false, std::memory_order_relaxed);
    try {
        ensure_thread();
    } catch (...) {
        // No thread to be had: the child runs without time slices and reports.
    }
}

void unmonitor_hub(Hub& hub) {
    if (!watching()) return;
    RawLockGuard lock(watched_mutex);
    auto& w = watched();
    for (auto it = w.begin(); it != w.end(); ++it)
        if (it->hub == &hub) {
            w.erase(it);
            break;
        }
}

}  // namespace green::detail
