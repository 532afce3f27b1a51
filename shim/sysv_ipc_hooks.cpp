// semop, semtimedop, msgsnd and msgrcv: System V semaphores and message
// queues, waited for by asking again (retry_wait.hpp). Green threads of one
// carrier that hand each other a System V semaphore or message would
// otherwise wait forever (the kernel's wait stopped the one that would post),
// and one waiting for another process would stop its carrier meanwhile.
//
// The first ask is the kernel's answer to the arguments (EINVAL, EFAULT, E2BIG,
// EACCES, EIDRM); a set or queue removed while the call waited is EIDRM, as
// the kernel's wait says. A semop waits on copies of its operations marked
// IPC_NOWAIT; when the program marked some itself, whether the one that
// cannot go on is among them decides between EAGAIN and a wait, as in the
// kernel (read from the set's values: nowait_decides). A handler ends the wait with EINTR whatever
// SA_RESTART says (signal(7): these are never restarted); msgsnd and msgrcv
// are cancellation points, as in glibc. Lost: the kernel's order among
// waiters, its wake-up the moment another process changes the set (the pause
// grows to 50 ms), and a zero that a wait-for-zero operation would have seen
// but another process undid before the next ask.
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>

#include <cerrno>
#include <ctime>
#include <vector>

#include "cooperate.hpp"
#include "real.hpp"
#include "retry_wait.hpp"
#include "threads/thread_state.hpp"

namespace shim {
namespace {

// Asks try_once until it would no longer wait (`busy` is the errno of "would
// wait"). Once the call has found that it would wait (`waited`), an id that
// turns invalid was removed: EIDRM, as the kernel's wait says.
template <class Try>
auto ipc_wait(const char* what, Deadline deadline, int busy, bool waited, Try&& try_once) -> decltype(try_once()) {
    return retry::wait(what, Restart::never, deadline, EAGAIN, [&] {
        const auto result = try_once();
        if (result < 0 && errno == busy) waited = true;
        if (result < 0 && errno == EINVAL && waited) errno = EIDRM;
        return result;
    }, [busy](int error) { return error == busy; });
}

// Whether any sembuf of the operation says IPC_NOWAIT. Read only after the
// kernel took the array, so a bad pointer is its EFAULT.
bool any_nowait(const sembuf* ops, size_t n) noexcept {
    for (size_t i = 0; i < n; ++i)
        if (ops[i].sem_flg & IPC_NOWAIT) return true;
    return false;
}

// For an operation that cannot go on now: whether the kernel fails it with
// EAGAIN rather than waits. It goes through the operations in order, and the
// first that cannot go on decides by its IPC_NOWAIT; so here, on the set's
// values now. Unknown values (no read permission): it waits.
bool nowait_decides(int id, const sembuf* ops, size_t n) {
    semid_ds ds{};
    if (semctl(id, 0, IPC_STAT, &ds) != 0) return false;
    std::vector<unsigned short> values(ds.sem_nsems);
    if (semctl(id, 0, GETALL, values.data()) != 0) return false;
    std::vector<int> value(values.begin(), values.end());
    for (size_t i = 0; i < n; ++i) {
        if (ops[i].sem_num >= value.size()) return false;
        int& v = value[ops[i].sem_num];
        const bool blocks = ops[i].sem_op < 0 ? v + ops[i].sem_op < 0 : ops[i].sem_op == 0 && v != 0;
        if (blocks) return ops[i].sem_flg & IPC_NOWAIT;
        v += ops[i].sem_op;
    }
    return false;
}

int semaphore_op(int id, sembuf* ops, size_t n, const timespec* timeout) {
    static constexpr timespec zero{};
    if (!may_park() || !valid_or_none(timeout)) return real::semtimedop(id, ops, n, timeout);
    // The first ask with a timeout already over: the kernel checks the
    // arguments and reads the operations.
    const int first = real::semtimedop(id, ops, n, &zero);
    if (first == 0 || errno != EAGAIN) return first;
    const bool mixed = any_nowait(ops, n);
    std::vector<sembuf> nowait(ops, ops + n);
    for (sembuf& op : nowait) op.sem_flg |= IPC_NOWAIT;
    // EINPROGRESS, which semop never says, marks "would wait" apart from the
    // EAGAIN of an IPC_NOWAIT operation that cannot go on (which ends the wait
    // at its first ask when the program's own IPC_NOWAIT decides).
    const auto ask = [&] {
        const int r = real::semop(id, nowait.data(), n);
        if (r < 0 && errno == EAGAIN) errno = mixed && nowait_decides(id, ops, n) ? EAGAIN : EINPROGRESS;
        return r;
    };
    const Deadline deadline = timeout ? Deadline::after(green::detail::to_seconds(*timeout)) : Deadline();
    return ipc_wait("semop", deadline, EINPROGRESS, true, ask);
}

}  // namespace
}  // namespace shim

using shim::retry::told;

GREEN_HOOK int semop(int id, sembuf* ops, size_t n) { return told(shim::semaphore_op(id, ops, n, nullptr)); }

GREEN_HOOK int semtimedop(int id, sembuf* ops, size_t n, const timespec* timeout) {
    return told(shim::semaphore_op(id, ops, n, timeout));
}

GREEN_HOOK int msgsnd(int id, const void* message, size_t size, int flags) {
    if ((flags & IPC_NOWAIT) || !shim::may_park()) return told(shim::real::msgsnd(id, message, size, flags));
    return told(shim::threads::cancellation_point_keeping_success([&] {
        return shim::ipc_wait("msgsnd", shim::Deadline(), EAGAIN, false,
                              [&] { return shim::real::msgsnd(id, message, size, flags | IPC_NOWAIT); });
    }));
}

GREEN_HOOK ssize_t msgrcv(int id, void* message, size_t size, long type, int flags) {
    // MSG_COPY without IPC_NOWAIT is the kernel's EINVAL.
    if ((flags & (IPC_NOWAIT | MSG_COPY)) || !shim::may_park())
        return told(shim::real::msgrcv(id, message, size, type, flags));
    return told(shim::threads::cancellation_point_keeping_success([&] {
        return shim::ipc_wait("msgrcv", shim::Deadline(), ENOMSG, false,
                              [&] { return shim::real::msgrcv(id, message, size, type, flags | IPC_NOWAIT); });
    }));
}
