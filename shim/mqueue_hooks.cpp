// mq_send, mq_receive, mq_timedsend, mq_timedreceive: a POSIX message queue
// is a descriptor that poll sees (readable when it holds a message, writable
// when it has room), so the greenlet parks on it as on a socket. Each try is
// the timed call with a deadline already past: the kernel's checks (EBADF,
// EMSGSIZE, EINVAL, a queue set O_NONBLOCK: EAGAIN) are its own, and a queue
// that would wait says ETIMEDOUT. The program's deadline is on CLOCK_REALTIME;
// a handler without SA_RESTART ends the wait with EINTR (signal(7)); all four
// are cancellation points, as in glibc. Green threads of one carrier that
// hand each other messages through a queue waited for each other forever
// when the kernel's wait stopped the carrier.
#include <fcntl.h>
#include <mqueue.h>

#include <cerrno>

#include "cooperate.hpp"
#include "real.hpp"
#include "threads/thread_state.hpp"

namespace shim {
namespace {

namespace api = green::detail::shim_api;

// try_once(past) is the timed call with a deadline already gone.
template <class Try>
auto queue_wait(mqd_t q, bool send, const timespec* abstime, Try&& try_once) -> decltype(try_once(nullptr)) {
    static constexpr timespec past{};
    Deadline deadline;
    if (abstime && !threads::to_deadline(CLOCK_REALTIME, abstime, deadline)) return try_once(abstime);  // EINVAL
    if (!may_park()) return try_once(abstime);
    return threads::cancellation_point_keeping_success([&] {
        const SignalCheck signals(Restart::if_sa_restart);
        for (;;) {
            const auto r = try_once(&past);
            if (r >= 0 || errno != ETIMEDOUT) return r;
            if (deadline.passed()) return r;  // ETIMEDOUT, as the kernel's
            if (signals.interrupted()) {
                errno = EINTR;
                return decltype(r)(-1);
            }
            const api::FdInterest interest{q, send};
            try {
                api::wait_fds(&interest, 1, deadline.remaining());
            } catch (...) {
                return decltype(r)(at_boundary(std::current_exception()));
            }
        }
    });
}

// The two timed calls are declared with a nonnull deadline, which a null one
// (mq_send, mq_receive: no deadline) must not let the compiler assume.
int send(mqd_t q, const char* message, size_t size, unsigned int priority, const timespec* abstime) {
    return queue_wait(q, true, abstime, [&](const timespec* t) {
        return real::mq_timedsend(q, message, size, priority, t);
    });
}

ssize_t receive(mqd_t q, char* message, size_t size, unsigned int* priority, const timespec* abstime) {
    return queue_wait(q, false, abstime, [&](const timespec* t) {
        return real::mq_timedreceive(q, message, size, priority, t);
    });
}

}  // namespace
}  // namespace shim

GREEN_HOOK int mq_timedsend(mqd_t q, const char* message, size_t size, unsigned int priority,
                            const timespec* abstime) {
    const timespec* volatile given = abstime;
    return shim::send(q, message, size, priority, given);
}

GREEN_HOOK int mq_send(mqd_t q, const char* message, size_t size, unsigned int priority) {
    return shim::send(q, message, size, priority, nullptr);
}

GREEN_HOOK ssize_t mq_timedreceive(mqd_t q, char* __restrict message, size_t size, unsigned int* __restrict priority,
                                   const timespec* __restrict abstime) {
    const timespec* volatile given = abstime;
    return shim::receive(q, message, size, priority, given);
}

GREEN_HOOK ssize_t mq_receive(mqd_t q, char* message, size_t size, unsigned int* priority) {
    return shim::receive(q, message, size, priority, nullptr);
}
