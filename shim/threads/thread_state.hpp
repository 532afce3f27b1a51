// Thread patching (GREEN_THREADS): the state every pthread hook shares.
//
// With thread patching on, a thread the program creates from a greenlet of a
// hub (the main thread always has one) is a green thread: a greenlet whose
// record below stands in for glibc's struct pthread. Its pthread_t is the
// record's address; a record starts with kMagic, which no glibc thread
// descriptor can (that word is glibc's pointer to itself), so every hook that
// takes a pthread_t tells the two kinds apart and gives a real thread glibc's
// own behaviour.
//
// The pthread objects (mutex, cond, rwlock, semaphore, barrier, once) keep
// glibc's layouts and static initialisers; their waiters live in the runtime's
// parking lot, so a green thread parks, a real thread (one created before, by
// an excluded library, by glibc itself) sleeps in the kernel, and each wakes
// the other. Process-shared objects are
// left to glibc.
#pragma once

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unwind.h>

#include <atomic>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "shim_api.hpp"

namespace shim::threads {

namespace api = green::detail::shim_api;
using green::detail::Deadline;
using green::detail::GreenletCore;

// Whether thread patching is on: GREEN_THREADS set and not "0" (ignored in a
// privileged process), decided at the first call, however early.
bool enabled() noexcept;
// The carriers green threads spread over: GREEN_THREADS=N (at most
// kMaxCarriers), "auto" for the CPUs the process may run on, 1 for any other
// value that turns thread patching on; 0 when it is off.
constexpr int kMaxCarriers = 256;
int carriers_wanted() noexcept;

// glibc's struct pthread_unwind_buf (nptl/descr.h): the public
// __pthread_unwind_buf_t with its private words named.
struct UnwindBuf {
    struct {
        __jmp_buf jmp_buf;
        int mask_was_saved;
    } cancel_jmp_buf[1];
    union {
        void* pad[4];
        struct {
            UnwindBuf* prev;                     // the cleanup buffer registered before this one
            _pthread_cleanup_buffer* cleanup;    // the old-style chain when this one was registered
            int canceltype;
        } data;
    } priv;
};
static_assert(sizeof(UnwindBuf) == sizeof(__pthread_unwind_buf_t), "glibc's cleanup buffer layout");

struct KeyValue {
    std::uint64_t seq = 0;  // the key's generation when the value was set
    void* value = nullptr;
};

constexpr std::uint64_t kMagic = 0x7268747265657267ull;  // "greenthr": never a glibc descriptor's self pointer

struct GreenThread {
    std::uint64_t magic = kMagic;
    GreenletCore* greenlet = nullptr;  // our reference to the greenlet; other threads look through a GreenletPin
    std::atomic<int> pins{0};          // GreenletPins held now
    void* (*start)(void*) = nullptr;
    void* arg = nullptr;
    void* result = nullptr;
    int id = 0;         // the owner id in mutexes and rwlocks: never a TID (but the main thread's)
    bool main = false;  // the program's main thread (its greenlet is the hub's own), under thread patching
    pthread_t carrier{};  // the OS thread the green thread runs on

    // Life: what joiners park on (LifeBits); whoever sees both kExited and
    // kDetached, or the joiner, frees the record.
    std::atomic<std::uint32_t> life{0};

    char name[16] = {};

    // Cancellation, as glibc's cancelhandling: asked for (from any thread),
    // allowed, acting.
    std::atomic<bool> cancel_requested{false};
    bool cancel_enabled = true;
    bool cancel_async = false;  // asked for; acted on at cancellation points only
    bool canceling = false;

    // Unwinding (pthread_exit, cancellation): the chain of cleanup buffers,
    // whose bottom is the frame that started the thread.
    UnwindBuf start_frame;
    UnwindBuf* cleanup_jmp_buf = nullptr;
    _pthread_cleanup_buffer* cleanup = nullptr;  // old-style _pthread_cleanup_push
    _Unwind_Exception exception{};

    std::vector<KeyValue> keys;
    sigset_t sigmask{};
    sigset_t pending{};  // sent to it with pthread_kill while it blocks them: for its sigwait
    std::atomic<std::uint64_t> sent{0};  // sent from any thread (bit s - 1), not yet looked at by it
    pthread_mutex_t* robust = nullptr;  // robust mutexes held, linked through __list.__next

    // What pthread_getattr_np reports.
    void* stack_lo = nullptr;
    std::size_t stack_size = 0;
    std::size_t guard_size = 0;
    bool caller_stack = false;
    int sched_policy = SCHED_OTHER;  // stored, not acted on: green threads have no priority
    int sched_priority = 0;
};

enum LifeBits : std::uint32_t {
    kExited = 1,    // the start routine returned or the thread was unwound
    kDetached = 2,  // nobody will join it
    kJoining = 4,   // a joiner claimed the result
};

// pthread_t of a green thread, and back.
inline pthread_t handle(GreenThread* t) noexcept { return reinterpret_cast<pthread_t>(t); }
// Holds `lock` for a scope, spinning while another thread has it: for the
// shim's own tables, whose critical sections make no call (a pthread mutex
// would reach the shim's own hooks).
class SpinGuard {
public:
    explicit SpinGuard(std::atomic_flag& lock) noexcept : lock_(lock) {
        while (lock_.test_and_set(std::memory_order_acquire)) {
        }
    }
    ~SpinGuard() { lock_.clear(std::memory_order_release); }
    SpinGuard(const SpinGuard&) = delete;
    SpinGuard& operator=(const SpinGuard&) = delete;

private:
    std::atomic_flag& lock_;
};

// Another thread's look at a green thread's greenlet (pthread_kill,
// pthread_cancel...): null once the thread has ended, and otherwise kept alive
// until the pin goes (free_record waits for that). Nothing done under a pin
// may switch greenlets.
class GreenletPin {
public:
    explicit GreenletPin(GreenThread& t) noexcept : t_(t) {
        t_.pins.fetch_add(1, std::memory_order_seq_cst);
        greenlet_ = std::atomic_ref<GreenletCore*>(t_.greenlet).load(std::memory_order_seq_cst);
    }
    ~GreenletPin() { t_.pins.fetch_sub(1, std::memory_order_release); }
    GreenletPin(const GreenletPin&) = delete;
    GreenletPin& operator=(const GreenletPin&) = delete;

    explicit operator bool() const noexcept { return greenlet_ != nullptr; }
    GreenletCore& operator*() const noexcept { return *greenlet_; }

private:
    GreenThread& t_;
    GreenletCore* greenlet_;
};

inline GreenThread* green_thread(pthread_t t) noexcept {
    auto* g = reinterpret_cast<GreenThread*>(t);
    return g && g->magic == kMagic ? g : nullptr;
}

// The green thread running now, or null (the main thread, another greenlet, a
// real thread, thread patching off).
GreenThread* current() noexcept;

// Who owns a mutex or rwlock: the green thread's id, or the OS thread's TID.
int self_id() noexcept;

// Whether the caller may park (a greenlet, not inside a signal handler) rather
// than sleep in the kernel.
bool may_switch() noexcept;

// An absolute time on `clock` (CLOCK_REALTIME or CLOCK_MONOTONIC) as a
// Deadline; false for a timespec glibc calls invalid.
bool to_deadline(clockid_t clock, const timespec* abstime, Deadline& deadline) noexcept;

// Cancellation (cancel.cpp). At the entry and the end of a cancellation point,
// a pending cancellation of the calling green thread that it allows unwinds it
// (never returns then).
void act_on_cancel(GreenThread& t);
// Ends the calling green thread with `result`: cleanup handlers and C++
// destructors run as the stack unwinds, then key destructors. For the main
// thread the process then lives on until every other thread of the program has
// ended, and exits with status 0, as with glibc.
[[noreturn]] void exit_thread(GreenThread& t, void* result);
// __pthread_unwind_next: the unwinding goes on from cleanup buffer `from`.
[[noreturn]] void continue_unwind(GreenThread& t, UnwindBuf* from);

// Runs `body` (a hook's work, which does not throw) as a POSIX cancellation
// point of the calling green thread: a pending cancellation acts at its entry,
// while it waits (the runtime throws api::ThreadCancel at the park, the hook
// returns ECANCELED) and before it returns. With `keep_success`, for a call
// whose success has an effect the program must see (an open descriptor, a
// message taken, a lock held), one that arrives as the call succeeds acts at
// the next cancellation point instead, as glibc 2.34's do.
template <bool keep_success = false, class Body>
auto cancellation_point(Body&& body) -> decltype(body()) {
    GreenThread* t = enabled() ? current() : nullptr;
    if (!t) return body();
    act_on_cancel(*t);
    ++t->greenlet->cancel_point;
    auto result = body();
    --t->greenlet->cancel_point;
    if constexpr (keep_success) {
        if (result < 0) act_on_cancel(*t);
    } else {
        act_on_cancel(*t);
    }
    return result;
}

template <class Body>
auto cancellation_point_keeping_success(Body&& body) -> decltype(body()) {
    return cancellation_point<true>(std::forward<Body>(body));
}

// The record of the calling OS thread's own identity (its hub's main greenlet),
// made when first needed; null when the caller is not that greenlet.
GreenThread* os_thread_record() noexcept;
// The record behind `t`: a green thread's, or an OS thread's own; null for any
// other real thread.
GreenThread* record_of(pthread_t t) noexcept;

// The carrier's signal mask as the intersection of its identities' masks
// (signal_hooks.cpp): a green thread's mask joins at its start and leaves at its end.
void add_mask(GreenThread& t) noexcept;
void remove_mask(GreenThread& t) noexcept;
// pthread_kill of a green thread other than the caller (signal_hooks.cpp).
int send_signal(GreenThread& t, GreenletCore& g, int sig) noexcept;

// Preemption of a green thread computing past its turn (preempt.cpp), by
// SIGURG, as Go does it: its default action is to ignore it, so one that comes
// after an exec harms nobody. start_preemption installs the handler, once, as
// the first green thread starts, unless the program has a SIGURG handler of
// its own or GREEN_PREEMPT=0. While it is on, the program's sigaction of
// SIGURG to SIG_DFL or SIG_IGN, or a look at it, is only recorded
// (program_disposition); one that installs a handler stops it (the program
// then gets its signal alone). is_preemption: whether a SIGURG is the monitor's.
constexpr int kPreemptSignal = SIGURG;
// The handler `a` installs (sa_sigaction or sa_handler), or SIG_DFL / SIG_IGN.
inline void* handler_of(const struct sigaction& a) noexcept {
    return (a.sa_flags & SA_SIGINFO) ? reinterpret_cast<void*>(a.sa_sigaction) : reinterpret_cast<void*>(a.sa_handler);
}
void start_preemption() noexcept;
bool preempting() noexcept;
int program_disposition(const struct sigaction* act, struct sigaction* old) noexcept;
void stop_preemption() noexcept;
bool is_preemption(const siginfo_t* info) noexcept;

// The file name of the object that holds `address` ("libc.so.6"), or "".
std::string_view library_of(const void* address) noexcept;
// Whether `library` (a file name) is a sanitizer runtime (libasan.so.8, ...):
// preloaded before the shim in a sanitized build, it intercepts pthread_create
// and calls the shim's on the program's behalf.
bool in_sanitizer_runtime(std::string_view library) noexcept;

// Key destructors of a green thread that ends (key_hooks.cpp).
void run_key_destructors(GreenThread& t);
// Robust mutexes held by a thread that ends (mutex_hooks.cpp).
void release_robust_mutexes(pthread_mutex_t*& head) noexcept;

}  // namespace shim::threads
