#include "diag/monitor.hpp"

#include <execinfo.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
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
    pid_t tid;
    std::uint64_t last_rounds = 0;
    std::chrono::steady_clock::time_point since{};       // the loop's last round
    std::chrono::steady_clock::time_point busy_since{};  // its last round not forced by a preemption
    bool over_limit = false;
    bool pinned = false;
    bool turn_ended = false;
    bool preempted = false;  // a preemption was sent since the loop's last round
};

// The calling thread's `hub`, as the monitor starts watching it.
Watched watch(Hub& hub) {
    const auto now = std::chrono::steady_clock::now();
    return Watched{&hub, pthread_self(), gettid(), hub.loop_rounds(), now, now};
}

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

// The signal that preempts a green thread computing past its time slice
// without a hooked call (the shim's, monitor_preempt_with); 0: none.
std::atomic<int> preempt_signal{0};
std::atomic<const void*> preempt_mark{nullptr};

bool preempt(pid_t tid) {
    const int sig = preempt_signal.load(std::memory_order_acquire);
    if (sig == 0) return false;
    siginfo_t info{};
    info.si_signo = sig;
    info.si_code = SI_QUEUE;
    info.si_pid = ::getpid();
    info.si_uid = ::getuid();
    info.si_value.sival_ptr = const_cast<void*>(preempt_mark.load(std::memory_order_relaxed));
    return ::syscall(SYS_rt_tgsigqueueinfo, ::getpid(), tid, sig, &info) == 0;
}

// Whether thread `tid` is on a CPU or ready for one (state R), not asleep in
// the kernel, where the signal would only make a call the shim does not reach
// fail with EINTR.
bool computing(pid_t tid) {
    char path[48], stat[256];
    std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", static_cast<int>(tid));
    const TransientFds opening;
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const ssize_t n = ::read(fd, stat, sizeof stat - 1);
    ::close(fd);
    if (n <= 0) return false;
    stat[n] = 0;
    const char* end_of_name = std::strrchr(stat, ')');  // the name may hold spaces and parentheses
    return end_of_name && end_of_name[1] == ' ' && end_of_name[2] == 'R';
}


const int kReportSignal = SIGRTMAX - 1;

// On the busy thread: who is running, and where. The shim's hooks the
// backtrace's writes reach make plain calls here (the runtime's scope).
void report(int) {
    const RuntimeScope ours;
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
            const bool idle = w.hub->waiting_in_loop() || w.hub->live_greenlets() < 2;
            if (s != w.last_rounds || idle) {
                // A thread that is only preempted is still busy: its carrier stays pinned.
                if (idle || !w.preempted) {
                    w.busy_since = now;
                    if (w.pinned) w.hub->set_pinned(false);
                    w.pinned = false;
                }
                w.last_rounds = s;
                w.since = now;
                w.over_limit = false;
                w.preempted = false;
                if (w.turn_ended) w.hub->clear_turn();
                w.turn_ended = false;
                continue;
            }
            if (slices && !w.turn_ended && now - w.since >= kTimeSlice) {
                w.turn_ended = true;  // once per stretch: the flag stays until the loop runs
                w.hub->end_turn();
            } else if (w.turn_ended && now - w.since >= 2 * kTimeSlice) {
                // No hooked call took the turn for a whole slice more: the
                // thread computes. Preempt it, as Go's sysmon does, each tick
                // until it switched (the shim declines where it may not).
                if (computing(w.tid) && preempt(w.tid)) w.preempted = true;
            }
            if (!w.pinned && now - w.busy_since > limit) {
                w.pinned = true;
                w.hub->set_pinned(true);  // new green threads go to other carriers meanwhile
            }
            if (!w.over_limit && now - w.since > limit) {
                w.over_limit = true;  // once per stretch
                if (reports) pthread_kill(w.thread, kReportSignal);
            }
        }
    }
}

void install_report_handler() {
    void* warm[1];
    backtrace(warm, 1);  // loads libgcc's unwinder now, not inside the signal handler
    // In the runtime's scope the shim's sigaction hook installs it as it is:
    // wrapped like a program's handler, it made the carrier's parked polls,
    // selects and sleeps fail with EINTR, as a program's signal would.
    const RuntimeScope ours;
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

void monitor_preempt_with(int signal, const void* mark) noexcept {
    preempt_mark.store(mark, std::memory_order_relaxed);
    preempt_signal.store(signal, std::memory_order_release);
}

unsigned monitor_threads() noexcept { return thread_state.load(std::memory_order_relaxed) == kRunning ? 1 : 0; }

void monitor_hub(Hub& hub) {
    if (!watching()) return;
    static std::once_flag handler;
    if (threshold_ms() > 0) std::call_once(handler, install_report_handler);
    ensure_thread();
    RawLockGuard lock(watched_mutex);
    watched().push_back(watch(hub));
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
    if (w.pinned) here->set_pinned(false);
    w = watch(*here);
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
