// syscall(SYS_futex, ...): C++20's atomic::wait/notify, counting_semaphore,
// latch and barrier, and function-local statics whose initialiser blocks
// (__cxa_guard_acquire), all wait through libc's syscall(). Under thread
// patching a green thread's FUTEX_WAIT parks on the address in the parking lot,
// and every FUTEX_WAKE wakes the parked greenlets first, then the kernel's
// waiters (real threads) for what is left of its count. Every other system call
// and futex operation goes to the kernel unchanged.
#include <linux/futex.h>
#include <stdarg.h>
#include <sys/syscall.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>

#include "../fd_facts.hpp"
#include "../real.hpp"
#include "../state.hpp"
#include "thread_state.hpp"

namespace shim::threads {
namespace {

struct Expect {
    const std::uint32_t* word;
    std::uint32_t value;
};

// A wait deadline from futex's timeout: relative for FUTEX_WAIT, absolute for
// FUTEX_WAIT_BITSET (on CLOCK_REALTIME with FUTEX_CLOCK_REALTIME).
bool deadline_of(int op, const timespec* timeout, Deadline& deadline) noexcept {
    deadline = Deadline();
    if (!timeout) return true;
    if (!green::detail::valid(*timeout)) return false;
    if ((op & FUTEX_CMD_MASK) == FUTEX_WAIT) {
        deadline = Deadline::after(green::detail::to_seconds(*timeout));
        return true;
    }
    return to_deadline((op & FUTEX_CLOCK_REALTIME) ? CLOCK_REALTIME : CLOCK_MONOTONIC, timeout, deadline);
}

long fail(int error) noexcept {
    errno = error;
    return -1;
}

// A green thread's FUTEX_WAIT or FUTEX_WAIT_BITSET (any bitset wakes it: a
// futex waiter must cope with spurious wake-ups anyway). A shared futex may be
// woken from another process, which reaches only the kernel's waiters: such a
// wait also looks at the word every 5 ms and ends once it changed.
long wait(std::uint32_t* word, int op, std::uint32_t value, const timespec* timeout) {
    Deadline asked;
    if (!deadline_of(op, timeout, asked)) return fail(EINVAL);
    const bool shared = !(op & FUTEX_PRIVATE_FLAG);
    Expect e{word, value};
    for (bool first = true;; first = false) {
        const Deadline deadline = shared ? earliest(asked, Deadline::after(0.005)) : asked;
        const api::Parked p = api::park(
            word,
            [](void* c) {
                auto& x = *static_cast<Expect*>(c);
                return std::atomic_ref<const std::uint32_t>(*x.word).load() == x.value;
            },
            nullptr, &e, deadline, "futex", true);
        switch (p.result) {
        case api::ParkResult::unparked: return 0;
        case api::ParkResult::invalid: return first ? fail(EAGAIN) : 0;  // later: it changed while we looked away
        case api::ParkResult::timed_out:
            if (asked.passed()) return fail(ETIMEDOUT);
            break;  // a shared futex's look: wait on
        default: return fail(EINTR);
        }
    }
}

long wake(long n, std::uint32_t* word, int op, long a3, long a4, long a5) {
    const std::size_t count = n < 0 ? 0 : static_cast<std::size_t>(n);
    const std::size_t woken = api::unpark(word, count, 0, state::plain_depth != 0);
    if (woken >= count) return static_cast<long>(woken);
    const long kernel = real::syscall(SYS_futex, reinterpret_cast<long>(word), op, static_cast<long>(count - woken),
                                      a3, a4, a5);
    return kernel < 0 ? static_cast<long>(woken) : static_cast<long>(woken) + kernel;
}

long futex(long a0, long a1, long a2, long a3, long a4, long a5) {
    auto* word = reinterpret_cast<std::uint32_t*>(a0);
    const int op = static_cast<int>(a1);
    const int cmd = op & FUTEX_CMD_MASK;
    const bool waits = cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET;
    const bool wakes = cmd == FUTEX_WAKE || cmd == FUTEX_WAKE_BITSET;
    if ((waits || wakes) && !word) return fail(EFAULT);
    if ((waits || wakes) && (reinterpret_cast<std::uintptr_t>(word) & 3)) return fail(EINVAL);
    // As the kernel: a bitset that matches no waiter is an error.
    if ((cmd == FUTEX_WAIT_BITSET || cmd == FUTEX_WAKE_BITSET) && static_cast<std::uint32_t>(a5) == 0) return fail(EINVAL);
    if (wakes) return wake(static_cast<int>(a2), word, op, a3, a4, a5);
    if (waits && may_switch()) return wait(word, op, static_cast<std::uint32_t>(a2), reinterpret_cast<const timespec*>(a3));
    return real::syscall(SYS_futex, a0, a1, a2, a3, a4, a5);
}

}  // namespace
}  // namespace shim::threads

// libc's syscall() reads six argument words whatever the call; so does this.
GREEN_HOOK long syscall(long number, ...) noexcept {
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (long& x : a) x = va_arg(ap, long);
    va_end(ap);
    if (number == SYS_futex && shim::threads::enabled()) {
        try {
            return shim::threads::futex(a[0], a[1], a[2], a[3], a[4], a[5]);
        } catch (...) {  // a cancellation cannot reach here (no cancellation point); nothing else throws
            errno = EINTR;
            return -1;
        }
    }
    const long r = shim::real::syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
    shim::fd_facts::after_system_call(number, a, r);
    return r;
}
