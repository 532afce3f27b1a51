// The greenlet control block and the wait/wake contract every blocking primitive
// is built on. Public only because the spawn templates construct typed bodies;
// user code goes through green::Greenlet and the primitives.
//
// The contract, in gevent's words for its Waiter:
//   - only a greenlet (never the hub) may park; park() may switch;
//   - anyone on the same thread may wake a parked greenlet; waking never switches;
//   - a kill or an expired Timeout is delivered at the next suspension point, except
//     that a wake-up which handed over data or ownership (WakeReason::handoff) is
//     always returned first, so nothing handed over is ever lost.
#pragma once

#include <cstdint>
#include <exception>
#include <string>

#include "green/detail/config.hpp"
#include "green/detail/list.hpp"

namespace green {
class Timeout;
}

namespace green::detail {

class Hub;
struct GreenletCore;
struct RunTag;
struct AllTag;
struct WaiterTag;

// Why a parked greenlet was resumed. Ordered: a later wake-up that arrives before
// the greenlet runs again may only raise the reason (data beats a deadline).
enum class WakeReason : std::uint8_t {
    deadline,  // the wait's own timeout passed
    woken,     // a primitive woke it; nothing was handed over (Event::set, join)
    closed,    // the object waited on was closed or destroyed
    handoff,   // a primitive handed it an item or ownership; must not be lost
};

// Lifecycle of a greenlet; transitions are checked in the hub.
enum class State : std::uint8_t {
    unstarted,  // spawned, has not run yet (queued, or behind spawn_later's timer)
    ready,      // in the hub's ready queue; will resume at its suspension point
    running,    // the current greenlet of its hub
    parked,     // suspended until a wake-up, its deadline, a kill or a Timeout
    dead,       // finished with a value, an exception, or killed; stack released
};

// Interruptions waiting to be thrown at the next suspension point (bit set).
// Posted, thrown and withdrawn only by core/interrupt.cpp.
enum PendingBits : std::uint8_t {
    pending_kill = 1,       // the exception in `interruption`
    pending_timeout = 2,    // TimeoutError for expired_timeout
    pending_loop_exit = 4,  // LoopExit: nothing can ever wake this greenlet
    pending_cancel = 8,     // pthread_cancel of a green thread: thrown only inside a cancellation point
    pending_signal = 16,    // signals sent to this green thread (pthread_kill): the shim raises them when it runs
};

// One entry of a wait list: lives on the waiting greenlet's stack (or inside a
// subscriber such as iwait), and unlinks itself when destroyed.
struct Waiter : ListLink<WaiterTag> {
    explicit Waiter(GreenletCore* g = nullptr) noexcept : greenlet(g) {}
    ~Waiter() {
        if (linked()) unlink(*this);
    }
    Waiter(const Waiter&) = delete;
    Waiter& operator=(const Waiter&) = delete;

    GreenletCore* greenlet;                           // woken by wake() ...
    void (*notify)(Waiter&, WakeReason) = nullptr;   // ... unless this is set; must not block
    void* slot = nullptr;                             // where a handoff puts its data
};

GREEN_API void wake(GreenletCore& g, WakeReason reason) noexcept;

inline void deliver(Waiter& w, WakeReason reason) noexcept {
    if (w.notify)
        w.notify(w, reason);
    else
        wake(*w.greenlet, reason);
}

// FIFO of waiters. Destroying a list that still has waiters wakes them with
// WakeReason::closed, so a destroyed primitive never leaves a greenlet hanging.
class WaitList {
public:
    WaitList() = default;
    ~WaitList() { wake_all(WakeReason::closed); }
    WaitList(const WaitList&) = delete;
    WaitList& operator=(const WaitList&) = delete;

    bool empty() const noexcept { return list_.empty(); }
    void push_back(Waiter& w) noexcept { list_.push_back(w); }
    Waiter& front() noexcept { return list_.front(); }
    Waiter& pop_front() noexcept { return list_.pop_front(); }

    void wake_one(WakeReason reason) noexcept { deliver(list_.pop_front(), reason); }
    void wake_all(WakeReason reason) noexcept {
        while (!list_.empty()) deliver(list_.pop_front(), reason);
    }
    template <class Fn>
    void for_each(Fn&& fn) {
        list_.for_each(fn);
    }

private:
    List<Waiter, WaiterTag> list_;
};

// A suspended or running execution context; only context.cpp and hub.cpp use it.
struct FiberContext {
    // The saved continuation, null until make_context. On x86-64 (core/context.hpp)
    // the suspended stack pointer, with where it resumes, its frame pointer and
    // its floating-point control words: a switch keeps these four, the compiler
    // spills every other live register around it. Elsewhere Boost.Context's
    // fcontext_t, and the four after it are unused.
    void* sp = nullptr;
    void* pc = nullptr;
    void* frame = nullptr;
    std::uint32_t mxcsr = 0;          // rounding mode and exception masks are per fiber,
    std::uint16_t x87_cw = 0;         // as they are per thread
    void (*entry)(FiberContext&) = nullptr;
    GreenletCore* owner = nullptr;    // nullptr for the hub's own fiber
    void* stack_lo = nullptr;         // lowest usable byte of the stack
    std::size_t stack_size = 0;
    std::uint8_t stack_kind = 0;      // see stack.hpp
    std::size_t stack_guard = 0;      // the guard asked for (stack.hpp's Stack::guard)
    union {                           // a sanitizer's per-fiber state (never both)
        void* asan_fake_stack = nullptr;  // AddressSanitizer's fake stack
        void* tsan_fiber;                 // ThreadSanitizer's fiber
    };
    void* eh_state[2] = {};           // this fiber's C++ exception globals while switched out
    // libc's per-thread state while switched out, kept per fiber once its hub
    // runs green threads (Hub::keep_libc_state): errno, h_errno, uselocale's locale.
    int saved_errno = 0;
    int saved_h_errno = 0;
    void* locale = reinterpret_cast<void*>(-1L);  // LC_GLOBAL_LOCALE, what a new thread starts with
};

struct LocalSlot;
struct LinkCallbacks;
struct WatcherSlot;

// The control block of one greenlet, shared by its handles (non-atomic count:
// a greenlet and its handles belong to one thread). The typed result and the
// callable live in the derived Body (greenlet.hpp).
struct GREEN_API GreenletCore : ListLink<RunTag>, ListLink<AllTag> {
    GreenletCore() noexcept = default;
    GreenletCore(const GreenletCore&) = delete;
    GreenletCore& operator=(const GreenletCore&) = delete;
    virtual ~GreenletCore();

    virtual void run() = 0;                 // runs the callable, stores the result (may throw)
    virtual void drop_body() noexcept = 0;  // destroys the callable without running it
    virtual void left_stack() noexcept {}   // once it ended and no longer runs on its stack

    Hub* hub = nullptr;
    FiberContext ctx;
    State state = State::unstarted;
    WakeReason wake_reason = WakeReason::woken;
    std::uint8_t pending = 0;  // PendingBits
    std::uint8_t cancel_point = 0;  // depth of the shim's cancellation points this greenlet is in
    std::uint8_t thrown = 0;   // the PendingBits value of the interruption thrown last
    bool killed = false;       // ended by GreenletExit (or killed before it started)
    std::uint32_t refs = 1;
    std::uint64_t id = 0;
    std::string name;                       // empty means "Greenlet-<id>"
    std::exception_ptr error;               // what it ended with (GreenletExit if killed)
    std::exception_ptr interruption;        // a pending kill's exception; once thrown, the last thrown (interrupt.hpp)
    const Timeout* expired_timeout = nullptr;  // pending Timeout
    WaitList exit_waiters;                  // joiners and completion subscribers
    const char* wait_what = nullptr;        // what it is parked in, for dump()
    const void* wait_on = nullptr;
    LocalSlot* locals = nullptr;
    LinkCallbacks* links = nullptr;
    WatcherSlot* start_timer = nullptr;       // spawn_later's timer while pending
    void* thread = nullptr;                   // the shim's record when this greenlet is a green thread
};

inline void retain(GreenletCore* g) noexcept { ++g->refs; }
inline void release(GreenletCore* g) noexcept {
    if (--g->refs == 0) delete g;
}

// The running greenlet; throws std::logic_error when called from the hub.
GREEN_API GreenletCore& current();

// Suspends the current greenlet until it is woken or `timeout` seconds pass
// (kForever: no deadline). `what`/`on` describe the wait for dump(). Returns the
// wake reason; throws a pending kill, an expired Timeout or LoopExit; throws
// std::logic_error from the hub.
GREEN_API WakeReason park(double timeout, const char* what, const void* on);

// park(), queued on `list` with a Waiter whose slot is `slot` for the time of
// the wait (the Waiter unlinks itself however the wait ends).
GREEN_API WakeReason wait_on(WaitList& list, double timeout, const char* what, const void* on,
                             void* slot = nullptr);

}  // namespace green::detail
