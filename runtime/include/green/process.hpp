// Processes and signals in a green program: fork(), waitpid() and signal_handler().
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <functional>
#include <memory>

#include "green/detail/config.hpp"

namespace green {

// fork(2) for a green program (gevent.fork). In the child only the calling
// greenlet goes on: the others end as killed without running again, the loop
// gets a new epoll set and the DNS resolver starts afresh. (The same happens for
// any fork of the process, done through this function or not.) When the calling
// greenlet was not the thread's main greenlet, the child exits once it ends.
// Returns what fork(2) returns; throws std::system_error when it fails.
GREEN_API pid_t fork();

// waitpid(2) that parks the calling greenlet instead of the thread
// (gevent.os.waitpid). `pid`, `status` (may be null) and `options` (WNOHANG,
// WUNTRACED, WCONTINUED) mean what they mean to waitpid(2); returns the pid of
// the child that changed state, or 0 under WNOHANG when none has. It looks
// again after 1 ms, then 2, 4... up to every 50 ms (nothing else tells of stops,
// continues, any child or a process group); waiting for one child, a pidfd
// wakes it at once when that child exits. Throws std::system_error: ECHILD
// when there is no such child, EINVAL for bad options. A kill or an expired
// Timeout throws here.
GREEN_API pid_t waitpid(pid_t pid, int* status, int options = 0);

// Runs `fn` in a new greenlet each time `signum` arrives, until the handler is
// cancelled or destroyed (then the signal's previous disposition comes back).
// A signal may be handled by the hub of one thread only; installing it in a
// second thread throws std::logic_error. An invalid signal number, SIGKILL,
// SIGSTOP and the signals of a fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE: they must
// be handled in the faulting thread, at once) throw std::invalid_argument. It
// does not keep the loop alive.
class GREEN_API SignalHandler {
public:
    SignalHandler(int signum, std::function<void()> fn);
    ~SignalHandler();
    SignalHandler(SignalHandler&&) noexcept;
    SignalHandler& operator=(SignalHandler&&) noexcept;

    void cancel() noexcept;
    int signum() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

[[nodiscard]] inline SignalHandler signal_handler(int signum, std::function<void()> fn) {
    return SignalHandler(signum, std::move(fn));
}

}  // namespace green
