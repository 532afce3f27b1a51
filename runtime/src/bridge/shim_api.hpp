// The boundary between the runtime and the LD_PRELOAD shim: everything shim/
// uses of the runtime is declared here (besides green's public headers), and
// the shim's build sees no other runtime header. The shim links libgreen.so, so
// a program has one runtime whether it links green, is run under greenrun, or
// both. Calls that park may throw (kill, Timeout); the shim catches at its
// extern "C" boundary and turns them into errno values.
#pragma once

#include <pthread.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <vector>

#include "green/detail/config.hpp"
#include "green/detail/core.hpp"
#include "green/dns.hpp"

namespace green::detail {

// One wait for a child process, between its looks (see wait_for_child).
struct ChildWait {
    unsigned round = 0;         // looks so far: the pause between them grows with each
    bool pidfd_failed = false;  // the pidfd said "exited" yet the look found nothing
};

}  // namespace green::detail

namespace green::detail::shim_api {

// A variable that configures green (base/env.hpp): null when it is unset or
// empty, or when the process runs with AT_SECURE (setuid, setgid, capabilities).
GREEN_API const char* env(const char* name) noexcept;
// A whole number from min to max in variable `name`, else `fallback` (after
// one message naming the variable and the range when it is set but not that).
GREEN_API long env_long(const char* name, long min, long max, long fallback) noexcept;

// Whether a hooked blocking call on this thread should park the running greenlet
// rather than block the thread: a hub exists, a greenlet (not the hub) is running,
// some other greenlet could run meanwhile, and the call is not the runtime's own
// (RuntimeScope). Otherwise blocking the thread is the same thing, only cheaper.
GREEN_API bool cooperative() noexcept;

// Called after a hooked call that did not need to wait (cooperative() was true):
// if the monitor says the running green thread has had its time slice, lets the
// others run first (Go's preemption at a safe point). errno is kept.
GREEN_API void take_turn_if_over() noexcept;

// The signal the monitor sends to preempt a green thread that computes past
// its turn (diag/monitor.hpp), queued with `mark` as its value; the shim's
// handler calls take_turn_if_over. 0: no more preemptions.
GREEN_API void preempt_with(int signal, const void* mark) noexcept;

// Whether green calls that need a hub (the resolver) may run here: not in the
// hub's own fiber, not in the runtime's own scope (its monitor thread).
// Creates the thread's hub if needed.
GREEN_API bool can_use_runtime() noexcept;
// The same for the resolver, without creating the hub: it is made only when a
// lookup asks DNS, so a name from the hosts file or a numeric one leaves the
// thread without one (and without its descriptors).
GREEN_API bool can_resolve() noexcept;

struct FdInterest {
    int fd;  // negative: ignored
    bool write;
};

enum class Woke {
    ready,      // an fd may be ready (or a waiter was simply woken)
    timed_out,  // `timeout` passed
    closed,     // one of the fds was closed through the runtime meanwhile
};

// Parks until one of `fds` is ready, `timeout` seconds pass, an fd is closed, or
// a signal handler runs on this thread (check signals()).
GREEN_API Woke wait_fds(const FdInterest* fds, std::size_t n, double timeout);
// wait_fds for one descriptor of the runtime's (marked), made for this wait
// (a signalfd), until it is readable; closes it before it returns or throws. A
// program's dup2 onto it meanwhile closes it at once: Woke::closed.
GREEN_API Woke wait_held_fd(int fd, double timeout);

// Parks for `seconds`, or until a signal handler runs on this thread (then
// returns false).
GREEN_API bool sleep_for(double seconds);

// Parks until a signal handler runs on this thread (pause, sigsuspend). The
// loop is held alive meanwhile: with nothing else armed, the hub waits for the
// signal instead of reporting a deadlock.
GREEN_API void wait_for_signal();

// Parks once until a child in `pid`'s set (waitpid's meaning) may have changed
// state, or a signal handler runs on this thread (see process/child_wait.hpp).
GREEN_API void wait_for_child(int pid, ChildWait& wait);

// Signal handlers run on this thread so far: all of them, and those installed
// without SA_RESTART. The shim's handler trampoline reports each with note_signal
// (async-signal-safe; a thread without a hub ignores it).
struct SignalCount {
    unsigned all = 0;
    unsigned interrupting = 0;
};
GREEN_API SignalCount signals() noexcept;
GREEN_API void note_signal(bool restart) noexcept;

// Before the program closes (or dup2s over) descriptors: wakes greenlets of this
// thread waiting on them with EBADF and forgets their watchers.
GREEN_API void forget_fd(int fd) noexcept;
GREEN_API void forget_fds(unsigned first, unsigned last) noexcept;

// The runtime's own descriptors (each loop's epoll and eventfd, the resolver's
// sockets, pidfds): the program never opened them, so its close and close_range
// must leave them alone. is_runtime_fd takes no lock and is async-signal-safe.
GREEN_API bool is_runtime_fd(int fd) noexcept;
GREEN_API std::vector<int> runtime_fds_between(unsigned first, unsigned last);
// Whether the runtime is calling libc for itself on this thread right now
// (libev's epoll_create1, eventfd and close, the monitor's thread and signal
// handler): the shim's hooks then record descriptors created as the runtime's
// (mark) or forget them (unmark), create plain threads and leave handlers as
// they are.
GREEN_API bool in_runtime_scope() noexcept;
GREEN_API void mark_runtime_fd(int fd) noexcept;
GREEN_API void unmark_runtime_fd(int fd) noexcept;
// Moves a descriptor the runtime opened to a high number and marks it (see
// runtime/src/core/runtime_fds.hpp); returns its new number.
GREEN_API int own_runtime_fd(int fd) noexcept;
// An epoll set made inside a runtime scope (libev's, once own_runtime_fd moved
// it): its loop learns its number (note_made_epoll in runtime_fds.hpp).
GREEN_API void note_runtime_epoll(int fd) noexcept;
// Inside a runtime scope, before closing `fd`: true if the close is libev's of
// an epoll set another thread took from its loop (closes_lost_fd in
// runtime_fds.hpp), which must not close what has the number now.
GREEN_API bool closes_lost_fd(int fd) noexcept;
// Before a program's dup2/dup3 onto `fd`: if it is the runtime's, the hub that
// holds it (this thread's, or another's) gives it up (Hub::give_up_descriptor:
// its loop's descriptors move, a resolver's socket closes, the pidfd or
// signalfd of a parked call closes); a loop's own descriptor is taken from a
// loop whose thread is away from it (Loop::give_up_while_away). Whether `fd`
// is free of the runtime now: false when it is a resolver socket or a held
// descriptor of the hub of another thread, no carrier, that did not run its
// loop within half a second. Not from a signal handler.
GREEN_API bool free_runtime_fd(int fd) noexcept;
// Until stop_avoiding_runtime_fd(the result), no descriptor the runtime opens
// (on any thread) gets number `fd`: between free_runtime_fd and the dup2.
GREEN_API int avoid_runtime_fd(int fd) noexcept;
GREEN_API void stop_avoiding_runtime_fd(int slot) noexcept;
// Held while a descriptor of the runtime is made and moved up (libev's, through
// the shim's hooks) and around a program's dup2: see make_runtime_fd.
GREEN_API void lock_runtime_fd_creation() noexcept;
GREEN_API void unlock_runtime_fd_creation() noexcept;
// That lock, for a scope, when `held`.
class RuntimeFdCreationLock {
public:
    explicit RuntimeFdCreationLock(bool held = true) noexcept : held_(held) {
        if (held_) lock_runtime_fd_creation();
    }
    ~RuntimeFdCreationLock() {
        if (held_) unlock_runtime_fd_creation();
    }
    RuntimeFdCreationLock(const RuntimeFdCreationLock&) = delete;
    RuntimeFdCreationLock& operator=(const RuntimeFdCreationLock&) = delete;

private:
    const bool held_;
};

// getaddrinfo with C's arguments, where NULL and "" differ. Throws dns::Error.
GREEN_API std::vector<dns::AddrInfo> getaddrinfo(const char* node, const char* service, const dns::Hints& hints);
// gethostbyaddr asking DNS only (glibc's hosts file matches no address passed
// with more bytes than its family has).
GREEN_API dns::HostEntry gethostbyaddr_dns(const Address& address);

// res_query / res_search through the thread's resolver: 0 and the answer
// message, or an EAI_* status. Parks; may throw.
GREEN_API int raw_query(const char* name, int dns_class, int type, bool search, std::vector<unsigned char>& answer);

// glibc's gethostbyname*_r (`address` null) and gethostbyaddr_r fail with ERANGE
// before any lookup when the caller's buffer cannot hold what they read into it:
// the address-shaped name (digits and dots), or a line of the hosts file.
GREEN_API bool host_buffer_too_small(const char* name, const void* address, unsigned address_len, int family,
                                     const void* buffer, std::size_t buflen);

// Whether glibc answers gethostbyname2(name, AF_INET) without a lookup, from the
// name's shape alone (an address, or HOST_NOT_FOUND).
GREEN_API bool shaped_like_address(const char* name) noexcept;

// Whether `e`, caught at the shim's C boundary, is an interruption of the running
// greenlet (a kill, an expired Timeout, LoopExit) rather than an error. If it
// is, it is delivered again at the greenlet's next suspension point, after the
// C code has returned.
GREEN_API bool deliver_later(const std::exception_ptr& e) noexcept;

// ---- Thread patching: green threads and what they wait on ---------------------

// Thrown at a green thread's suspension point once pthread_cancel was requested
// for it (request_cancel), but only while it is inside a cancellation point
// (GreenletCore::cancel_point > 0, which the shim's hooks count): the shim then
// unwinds the thread from the hook's own frame. Not an std::exception.
class GREEN_API ThreadCancel {};

// The parking lot (runtime/src/core/parking_lot.hpp): waiting on an address,
// for greenlets (which park) and plain threads (which sleep on a futex) alike.
enum class ParkResult : std::uint8_t {
    unparked,     // an unpark took this waiter; the token is what it handed over
    invalid,      // validate() said no: the caller never waited
    timed_out,    // the deadline passed first
    interrupted,  // a greenlet woken by something else (pthread_cancel outside a cancellation point)
};
struct Parked {
    ParkResult result;
    std::uintptr_t token;
};
// Queues the caller on `address` if validate(context) says so under the
// bucket's lock, runs before_sleep(context) (may be null), and waits until an
// unpark, `deadline` (Deadline(): none) or an
// interruption (with `signals_interrupt`, a signal handler that ran on the
// thread is one). `may_switch` false: even a greenlet sleeps on a futex. A kill
// or a green::Timeout waits for the next suspension point outside; throws
// ThreadCancel (inside a cancellation point) after leaving the queue.
GREEN_API Parked park(const void* address, bool (*validate)(void*), void (*before_sleep)(void*), void* context,
                      Deadline deadline, const char* what, bool may_switch, bool signals_interrupt = false);
// Unparks the longest waiter on `address`; decide(context, found, more) runs
// under the bucket lock either way and returns the token handed over.
GREEN_API bool unpark_one(const void* address, std::uintptr_t (*decide)(void*, bool found, bool more),
                          void* context);
// Unparks up to `count` waiters (SIZE_MAX: all), handing each `token`; returns
// how many. Async-signal-safe with `from_signal_handler` (sem_post).
GREEN_API std::size_t unpark(const void* address, std::size_t count, std::uintptr_t token,
                             bool from_signal_handler);

// How a green thread's stack is made: `size` bytes with `guard` bytes of guard
// below (0: none), or the caller's own memory when caller_lo is set.
struct ThreadStack {
    std::size_t size = 0;
    std::size_t guard = 0;
    void* caller_lo = nullptr;
};
// A green thread in two steps, so that the shim's record is complete before
// it runs: make_thread makes a greenlet that will run entry(record) and end,
// then call gone(record) on its hub once it no longer runs on its stack
// (record is what GreenletCore::thread holds meanwhile), on this thread's hub
// (made if needed) or, once there are several carriers (start_carriers), on
// the least loaded one; launch_thread queues its first run there. From then on
// that hub keeps errno, h_errno and the locale per fiber. make_thread returns
// a reference to the greenlet (release_greenlet), which only the thread of its
// hub may look into, and where it runs; it throws std::system_error when there
// is no memory for the stack.
struct StartedThread {
    GreenletCore* greenlet;
    void* stack_lo;
    std::size_t stack_size;
    pthread_t carrier;  // the OS thread that runs it
};
GREEN_API StartedThread make_thread(void (*entry)(void*), void (*gone)(void*), void* record, const ThreadStack& stack);
GREEN_API void launch_thread(GreenletCore* g) noexcept;
// Starts carriers until there are `n` (the calling thread's hub is the first):
// OS threads of the runtime's own whose hubs run green threads. Returns how
// many there are; throws std::system_error when an OS thread cannot be made.
GREEN_API std::size_t start_carriers(std::size_t n);
GREEN_API void release_greenlet(GreenletCore* g) noexcept;
// The greenlet running on this thread, or null (the hub's fiber, no hub).
GREEN_API GreenletCore* running_greenlet() noexcept;
// This thread's own greenlet (the context it ran in before its hub existed),
// or null without a hub.
GREEN_API GreenletCore* main_greenlet() noexcept;
// The name dump(), the monitor and the stack-overflow report show.
GREEN_API void set_greenlet_name(GreenletCore& g, const char* name);
// pthread_cancel, from any thread: on the carrier of `g`, if the filter (set
// once) says that `g` wants it now, marks the cancellation pending and wakes
// `g` if it is parked inside a cancellation point; clear_cancel (on that
// carrier) takes it back (cancellation disabled).
GREEN_API void request_cancel(GreenletCore& g) noexcept;
GREEN_API void set_cancel_filter(bool (*wanted)(GreenletCore& g)) noexcept;
GREEN_API void clear_cancel(GreenletCore& g) noexcept;
// pthread_kill of a green thread that is not running, from any thread:
// `take(g)` runs in `g` (on its stack, on its carrier) as soon as it leaves a
// park; `g` is woken if it is parked.
GREEN_API void set_signal_taker(void (*take)(GreenletCore&)) noexcept;
GREEN_API void request_signal(GreenletCore& g) noexcept;
// Lets every other ready greenlet run once (sched_yield).
GREEN_API void yield();
// uselocale was called: from now on this hub keeps the locale per fiber.
GREEN_API void keep_locale_per_fiber() noexcept;
// Called (in the hub) when no greenlet of the thread can ever be woken but by a
// signal handler; the hub then waits for one (as the kernel would) and calls it
// again about once a second. Without one, LoopExit is thrown in the thread's
// main greenlet.
GREEN_API void set_deadlock_handler(void (*handler)()) noexcept;
// Other greenlets alive on this thread's hub (0 without a hub).
GREEN_API std::size_t other_greenlets() noexcept;
// OS threads of the program besides this one (the runtime's own not counted),
// or -1 if unknown.
GREEN_API long other_os_threads() noexcept;

}  // namespace green::detail::shim_api
