// The hub: one per OS thread, created on first use. It owns the thread's loop, its
// ready queue and its stacks, and runs the loop in a fiber of its own.
//
// Scheduling: a greenlet that parks hands the CPU straight to the next ready
// greenlet; it goes to the hub only when none is ready or when the current batch
// is used up. A batch is max(ready greenlets when it began, kMinBatch) switches,
// and the hub polls the loop (without blocking) between batches, so I/O and
// timers are never starved by greenlets that keep each other busy.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "base/raw_lock.hpp"
#include "core/fd_table.hpp"
#include "core/loop.hpp"
#include "core/stack.hpp"
#include "dns/dns_channel.hpp"
#include "green/detail/core.hpp"
#include "green/detail/time.hpp"

namespace green::detail {

namespace context_impl {
struct EhGlobals;
}

// Lets other threads run a callback in a hub (the thread pool's completions).
// Shared with the posters, so a post after the hub is gone is refused, not a crash.
class Inbox {
public:
    Inbox(Loop* loop, WatcherSlot* wakeup) : loop_(loop), wakeup_(wakeup) {}
    // Thread-safe. Returns false when the hub no longer exists.
    bool post(std::function<void()> fn);
    // In the hub: runs what was posted.
    void drain();
    // In the hub, as it goes away: refuses all later posts.
    void close() noexcept;

private:
    std::mutex mutex_;
    Loop* loop_;
    WatcherSlot* wakeup_;
    std::vector<std::function<void()>> posted_;
};

class Hub;

// What a descriptor of the runtime's that a program's dup2 aims at is
// (Hub::give_up_descriptor): a loop's epoll set or wake-up eventfd, a
// resolver's socket, or one that a parked call holds (wait_held_fd).
enum class RuntimeFdKind : std::uint8_t { epoll_set, eventfd, socket, held };

// A descriptor a parked call of a hub holds (Hub::wait_held_fd).
struct HeldFdTag;
struct HeldFd : ListLink<HeldFdTag> {
    int fd = -1;
};

// Work a hub does on its own thread for another thread or a signal handler
// (Hub::post): run(hub, work) is called in the hub, once; the sender keeps the
// record alive until then (or lets run free it). A hub that goes first (one
// that is no carrier) calls drop(work) instead, if set.
struct RemoteWork {
    RemoteWork* next = nullptr;
    void (*run)(Hub&, RemoteWork&) = nullptr;
    void (*drop)(RemoteWork&) = nullptr;
};

// A wake-up of one of a hub's greenlets sent from another thread or from a
// signal handler (Hub::post_wake). It lives with the sender's record of the
// wait (a parking-lot entry on the waiter's stack) until the hub delivered it.
struct RemoteWake : RemoteWork {
    GreenletCore* greenlet = nullptr;
    WakeReason reason = WakeReason::woken;
    bool delivered = false;  // set by the hub, on its thread, once it woke `greenlet`
};

// How a green thread's stack is made (Hub::start_thread).
struct ThreadStackSpec {
    std::size_t size = 0;          // bytes, a page multiple
    std::size_t guard = 0;         // bytes of guard below it (0: none)
    void* caller_lo = nullptr;     // non-null: the caller's own memory [caller_lo, caller_lo + size)
};

// Read on every switch and from the SIGSEGV handler: initial-exec TLS is a plain
// load, and safe in a signal handler.
extern constinit thread_local Hub* tls_hub [[gnu::tls_model("initial-exec")]];

class Hub {
public:
    // This thread's hub, created on first use; never fails silently (throws).
    static Hub& current() {
        if (Hub* h = tls_hub) [[likely]]
            return *h;
        return create_for_thread();
    }
    // This thread's hub if it exists; safe in a signal handler.
    static Hub* current_if_any() noexcept { return tls_hub; }

    Hub();
    ~Hub();
    // Whether the hub must stay when its thread ends (it is then left to the
    // process's end, not destroyed): the thread ends inside a greenlet (exit()
    // or pthread_exit), whose stack is in use; greenlets wait in the parking
    // lot, or the hub is a carrier, where another thread may still reach them.
    bool outlives_thread() const noexcept;
    Hub(const Hub&) = delete;
    Hub& operator=(const Hub&) = delete;

    // The running greenlet, or nullptr while the hub's own fiber runs.
    GreenletCore* running() const noexcept { return running_; }
    // Whether the running greenlet may park now: not while the hub makes its
    // own fiber (the first park of a thread's main greenlet), whose stack
    // allocation may wait on another thread (a function-local static being
    // initialised there) and must then block the thread, not park again.
    bool can_park() const noexcept { return !making_hub_fiber_; }
    GreenletCore& main_greenlet() noexcept { return *main_; }
    // The OS thread the hub runs on (pthread_self when it was made).
    pthread_t os_thread() const noexcept { return os_thread_; }
    Loop& loop() noexcept { return loop_; }
    FdTable& fds() noexcept { return fds_; }
    // The thread's DNS channel, created on first use.
    DnsChannel& dns();
    // On this hub's thread, outside the loop: gives up descriptor `fd` if it is
    // one of this hub's, so that a program's dup2 can have the number: its
    // loop's descriptors move, a socket of its resolver's is closed (its queries
    // asked again), a held one is closed (its wait returns).
    void give_up_descriptor(int fd, RuntimeFdKind kind) noexcept;
    // Parks the running greenlet until `fd`, a descriptor the runtime made for
    // this one wait (a waitpid's pidfd, a sigwait's signalfd), is readable,
    // `timeout` passes or a waiter on interruptible() is woken, and closes `fd`
    // before it returns or throws. A program's dup2 onto `fd` meanwhile closes
    // it at once (give_up_descriptor): the wait returns WakeReason::closed.
    WakeReason wait_held_fd(int fd, double timeout, const char* what);

    // Gives `g` (unstarted, with ctx prepared) a stack and queues its first run.
    void start(GreenletCore& g, std::size_t stack_size);
    // A green thread's stack as its attributes say, for this hub to run it on;
    // any thread may ask a carrier's hub (see become_carrier). Throws
    // std::system_error when the kernel refuses memory.
    Stack thread_stack(const ThreadStackSpec& spec);
    // On this hub's thread: start() for a green thread of the shim with its
    // thread_stack(); from now on every switch of this hub keeps errno, h_errno
    // and (once uselocale was used) the locale per fiber.
    void start_thread(GreenletCore& g, const Stack& stack) noexcept;
    // Queues an unstarted greenlet whose stack is ready (spawn_later's timer).
    void make_ready(GreenletCore& g) noexcept;

    // Parks the running greenlet, queued on `list` (if any) meanwhile; see core.hpp.
    WakeReason park(WaitList* list, double timeout, const char* what, const void* on, void* slot = nullptr);
    // park() inlined into the caller (core/park.hpp): for the hot waits.
    [[gnu::always_inline]] inline WakeReason park_inline(WaitList* list, double timeout, const char* what,
                                                         const void* on, void* slot = nullptr);
    // Inline: every primitive's wake-up is this, and it is almost always a
    // parked greenlet made ready.
    void wake(GreenletCore& g, WakeReason reason) noexcept {
        if (g.state == State::parked) [[likely]]
            wake_parked(g, reason);
        else
            wake_unparked(g, reason);
    }
    void wake_parked(GreenletCore& g, WakeReason reason) noexcept {
        g.state = State::ready;
        g.wake_reason = reason;
        push_ready(g);
    }
    void yield_now();
    // Lets every other ready greenlet, and what the loop's next poll wakes, run
    // before the running greenlet goes on (the shim, once the monitor says its
    // green thread has had its time slice). Not a suspension point: a pending
    // kill waits for the next one.
    void take_turn();

    // Ends a greenlet that never ran (killed before it started).
    void end_unstarted(GreenletCore& g, std::exception_ptr why, bool killed) noexcept;
    // Thread-safe and async-signal-safe: queues `w` and wakes the loop; the hub
    // runs it on its own thread, in the order posted.
    void post(RemoteWork& w) noexcept;
    // post() of a wake-up: the hub wakes w.greenlet with w.reason and sets w.delivered.
    void post_wake(RemoteWake& w) noexcept;
    // This hub runs green threads that other threads place on it (carriers.hpp):
    // its stack pool is shared from now on, and the hub lives until the process
    // ends (a thread may post to it at any time). Called on the hub's thread.
    void become_carrier() noexcept { carrier_ = true; }
    bool carrier() const noexcept { return carrier_; }
    // Green threads placed on this hub and not yet ended (any thread reads it).
    std::size_t green_threads() const noexcept { return green_threads_.load(std::memory_order_relaxed); }
    void add_green_thread() noexcept;
    // Returns how many are left in the whole process.
    std::size_t remove_green_thread() noexcept;
    // Set by the monitor while a greenlet keeps this hub busy past its threshold:
    // new green threads go to other carriers meanwhile.
    bool pinned() const noexcept { return pinned_.load(std::memory_order_relaxed); }
    void set_pinned(bool pinned) noexcept { pinned_.store(pinned, std::memory_order_relaxed); }
    // Set by the monitor once one greenlet has run a whole time slice without
    // switching (thread patching); cleared by the turn taken, or by the monitor
    // once the loop ran (the greenlet parked instead).
    bool turn_over() const noexcept { return turn_over_.load(std::memory_order_relaxed); }
    void end_turn() noexcept { turn_over_.store(true, std::memory_order_relaxed); }
    void clear_turn() noexcept { turn_over_.store(false, std::memory_order_relaxed); }
    // Greenlets parked in the parking lot, which another thread may wake: while
    // there are some, an idle hub waits for them instead of reporting a deadlock
    // if other threads exist.
    void add_lot_waiter() noexcept { ++lot_waiters_; }
    void remove_lot_waiter() noexcept { --lot_waiters_; }
    // uselocale was called: from now on each fiber keeps its own locale.
    void keep_locale_per_fiber() noexcept;
    // What the hub does when nothing can ever wake its greenlets (see on_deadlock):
    // with a handler installed (the shim, under thread patching) the handler runs
    // (it reports, once) and the hub goes on waiting, as the kernel would, for a
    // signal handler that may wake one; otherwise LoopExit is thrown in the main
    // greenlet.
    static void set_deadlock_handler(void (*handler)()) noexcept;
    // Called in a greenlet with pending_signal set as it leaves a park (the shim
    // raises the signals sent to that green thread, so their handlers run there).
    static void set_signal_taker(void (*taker)(GreenletCore&)) noexcept;

    // Runs `fn` in the hub after the current loop iteration (rawlink callbacks).
    void call_soon(std::function<void()> fn);
    // The inbox other threads post to, created on first use.
    std::shared_ptr<Inbox> inbox();

    // For the monitor thread (monitor.hpp): how many times the hub ran its loop,
    // and whether it is idle, waiting in it. Greenlets that keep switching among
    // themselves reach the loop at least every batch (kMinBatch switches or more),
    // so a count that stays put means one greenlet holds the thread.
    std::uint64_t loop_rounds() const noexcept { return loop_rounds_.load(std::memory_order_relaxed); }
    bool waiting_in_loop() const noexcept { return waiting_.load(std::memory_order_relaxed); }

    // Greenlets alive on this hub (the thread's main greenlet included).
    std::size_t live_greenlets() const noexcept { return live_.load(std::memory_order_relaxed); }
    // Whether anything but the running greenlet needs the hub: another greenlet,
    // an armed Timeout, a signal handler. If not, a blocking call may simply block
    // the thread.
    bool others_need_hub() const noexcept {
        return live_.load(std::memory_order_relaxed) > 1 || ready_count_ > 0 || hub_users_ > 0;
    }
    // Armed Timeouts and installed signal handlers count themselves here.
    void add_hub_user() noexcept { ++hub_users_; }
    void remove_hub_user() noexcept { --hub_users_; }

    // A signal handler ran on this thread (called from the handler: async-signal-
    // safe). Greenlets parked on interruptible() are woken soon after, and the
    // counters tell interrupted calls apart: `restart` is the handler's SA_RESTART.
    void note_signal(bool restart) noexcept;
    unsigned signals_seen() const noexcept { return signals_.load(std::memory_order_relaxed); }
    unsigned interrupting_signals_seen() const noexcept { return interrupting_.load(std::memory_order_relaxed); }
    WaitList& interruptible() noexcept { return interruptible_; }

    template <class Fn>
    void for_each_greenlet(Fn&& fn) {
        all_.for_each(fn);
    }
    std::size_t ready_count() const noexcept { return ready_count_; }

    // In a forked child (from a pthread_atfork handler): the loop and resolver
    // start afresh and only the forking greenlet goes on.
    void after_fork() noexcept;
    bool forked_child() const noexcept { return forked_child_; }

    // The context executing now (a greenlet's or the hub's own); for the overflow report.
    const FiberContext& running_context() const noexcept { return running_ ? running_->ctx : hub_ctx_; }

    // An interruption (kill, expired Timeout, LoopExit, cancellation) caught where
    // it could not be let through (a handover must be taken first; a C boundary):
    // it is thrown again in the running greenlet at its next suspension point.
    // Defined in interrupt.cpp with the rest of the interruptions' life.
    void interrupt_later(std::exception_ptr e) noexcept;

    // Hands `g` the signals sent to it (pending_signal), then throws the
    // interruption pending for `g` (kill, Timeout, LoopExit, or a cancellation
    // when inside a cancellation point) and clears it; returns when none is due.
    [[gnu::cold, gnu::noinline]] static void throw_pending(GreenletCore& g);

    // Minimum switches between two polls of the loop when greenlets stay ready.
    static constexpr std::size_t kMinBatch = 256;

private:
    [[gnu::cold, gnu::noinline]] static Hub& create_for_thread();
    [[noreturn]] static void greenlet_entry(FiberContext& ctx);
    [[noreturn]] static void hub_entry(FiberContext& ctx);
    void run();
    [[noreturn]] void finish(GreenletCore& g) noexcept;
    void settle(GreenletCore& g) noexcept;
    void adopt(GreenletCore& g, const Stack& stack) noexcept;
    // Defined in core/park.hpp, with park_inline.
    [[gnu::always_inline]] inline void switch_out(GreenletCore& self);
    [[gnu::always_inline]] inline void switch_to(FiberContext& from, GreenletCore* next) noexcept;
    inline void check_stack(const GreenletCore& g) const noexcept;
    [[noreturn, gnu::cold, gnu::noinline]] static void throw_blocking_in_hub(const char* what);
    [[gnu::cold, gnu::noinline]] static void throw_pending_if_due(GreenletCore& g);
    // Releases the stack of the greenlet that ended last, once off it. Inline:
    // every switch asks, and almost never finds one.
    void reap() noexcept {
        if (zombie_) [[unlikely]]
            reap_zombie();
    }
    void reap_zombie() noexcept;
    // The ready queue is first_ followed by ready_. A greenlet woken while none
    // is ready waits in first_, so the common case (one wakes another, then
    // parks) touches no list; the order stays first in, first out, as first_
    // is only filled when the list is empty (make_ready uses the list alone).
    void push_ready(GreenletCore& g) noexcept {
        if (ready_count_++ == 0)
            first_ = &g;
        else
            ready_.push_back(g);
    }
    GreenletCore& pop_ready() noexcept {
        --ready_count_;
        if (GreenletCore* g = first_) {
            first_ = nullptr;
            return *g;
        }
        return ready_.pop_front();
    }
    void remove_ready(GreenletCore& g) noexcept {
        --ready_count_;
        if (first_ == &g)
            first_ = nullptr;
        else
            List<GreenletCore, RunTag>::erase(g);
    }
    [[gnu::cold, gnu::noinline]] void wake_unparked(GreenletCore& g, WakeReason reason) noexcept;
    [[gnu::cold, gnu::noinline]] void park_timed(GreenletCore& self, double timeout);
    [[gnu::cold, gnu::noinline]] void make_hub_fiber();
    void on_deadlock() noexcept;
    bool others_may_wake() const noexcept;
    void run_callbacks() {
        if (!callbacks_.empty()) [[unlikely]]
            run_callbacks_now();
    }
    void run_callbacks_now();
    void drain_remote_work() noexcept;
    [[gnu::cold, gnu::noinline]] void swap_libc_state(FiberContext& from, const FiberContext& to) noexcept;
    // The pool is locked only once other threads may allocate from it (a carrier).
    Stack allocate_stack(std::size_t size, std::size_t guard) {
        if (!carrier_) [[likely]]
            return stacks_.allocate(size, guard);
        return allocate_stack_locked(size, guard);
    }
    void release_stack(const Stack& s) noexcept {
        if (!carrier_) [[likely]]
            return stacks_.release(s);
        release_stack_locked(s);
    }
    Stack allocate_stack_locked(std::size_t size, std::size_t guard);
    void release_stack_locked(const Stack& s) noexcept;

    Loop loop_;
    FdTable fds_{loop_};
    StackPool stacks_;
    GreenletCore* running_ = nullptr;
    GreenletCore* main_ = nullptr;
    GreenletCore* zombie_ = nullptr;  // finished greenlet whose stack awaits release
    GreenletCore* first_ = nullptr;
    List<GreenletCore, RunTag> ready_;
    std::size_t ready_count_ = 0;
    std::size_t budget_ = 0;
    List<GreenletCore, AllTag> all_;
    FiberContext hub_ctx_;
    bool making_hub_fiber_ = false;
    Stack hub_stack_;
    std::vector<std::function<void()>> callbacks_;
    std::shared_ptr<Inbox> inbox_;
    WatcherSlot inbox_wakeup_;
    std::atomic<unsigned> signals_{0};
    std::atomic<unsigned> interrupting_{0};
    WatcherSlot signal_wakeup_;
    WaitList interruptible_;
    std::unique_ptr<DnsChannel> dns_;
    List<HeldFd, HeldFdTag> held_fds_;
    std::atomic<std::size_t> live_{1};  // written by this thread only; the monitor reads it
    std::size_t hub_users_ = 0;
    std::atomic<std::uint64_t> loop_rounds_{0};  // written by this thread only
    std::atomic<bool> waiting_{false};
    std::uint64_t next_id_ = 1;
    bool forked_child_ = false;
    std::atomic<RemoteWork*> remote_work_{nullptr};
    // Senders inside post(): once their work is queued, the hub may drain it and
    // its thread end, while they still have the loop's wake-up to send.
    std::atomic<int> posting_{0};
    std::atomic<bool> pinned_{false};
    std::atomic<bool> turn_over_{false};
    GreenletCore* behind_poll_ = nullptr;  // take_turn's greenlet: requeued behind what the next poll wakes
    bool carrier_ = false;
    pthread_t os_thread_{};
    RawLock stacks_lock_;  // held around stacks_ once carrier_
    std::atomic<std::size_t> green_threads_{0};
    WatcherSlot remote_wakeup_;
    std::size_t lot_waiters_ = 0;
    bool keep_libc_state_ = false;  // green threads run here: errno & co. per fiber
    bool keep_locale_ = false;
    int* errno_slot_;
    int* h_errno_slot_;
    context_impl::EhGlobals* exception_globals_;  // this thread's, for every switch
};

// A wake-up from code running on this thread (the primitives of libgreen):
// detail::wake() inlined, refusing a greenlet of another thread as it does.
[[noreturn, gnu::cold, gnu::noinline]] void fail_foreign_wake() noexcept;

inline void wake_here(GreenletCore& g, WakeReason reason) noexcept {
    if (g.hub != tls_hub) [[unlikely]]
        fail_foreign_wake();
    g.hub->wake(g, reason);
}

inline void deliver_here(Waiter& w, WakeReason reason) noexcept {
    if (w.notify)
        w.notify(w, reason);
    else
        wake_here(*w.greenlet, reason);
}

inline void wake_one_here(WaitList& list, WakeReason reason) noexcept { deliver_here(list.pop_front(), reason); }

// Out of line: wake_all_here from the first waiter that is not a parked
// greenlet of this thread on.
[[gnu::cold, gnu::noinline]] void wake_all_here_slowly(WaitList& list, WakeReason reason) noexcept;

// Inline and without a call while every waiter is a parked greenlet of this
// thread, as Event::set's almost always are.
inline void wake_all_here(WaitList& list, WakeReason reason) noexcept {
    while (!list.empty()) {
        Waiter& w = list.front();
        GreenletCore* g = w.greenlet;
        if (w.notify || g->hub != tls_hub || g->state != State::parked) [[unlikely]]
            return wake_all_here_slowly(list, reason);
        list.pop_front();
        g->hub->wake_parked(*g, reason);
    }
}

}  // namespace green::detail
