// What the LD_PRELOAD shim (shim/) uses from the runtime, and nothing else: the
// shim links libgreen.so, so a program has one runtime whether it links green,
// is run under greenrun, or both. These may throw (kill, Timeout); the shim
// catches at its extern "C" boundary and turns them into errno values.
#pragma once

#include <cstddef>
#include <exception>
#include <vector>

#include "child_wait.hpp"
#include "green/detail/config.hpp"

namespace green::detail::shim_api {

// Whether a hooked blocking call on this thread should park the running greenlet
// rather than block the thread: a hub exists, a greenlet (not the hub) is running,
// and some other greenlet could run meanwhile. Otherwise blocking the thread is
// the same thing, only cheaper.
GREEN_API bool cooperative() noexcept;

// Whether green calls that need a hub (the resolver) may run here: not in the
// hub's own fiber. Creates the thread's hub if needed.
GREEN_API bool can_use_runtime() noexcept;

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

// Parks for `seconds`, or until a signal handler runs on this thread (then
// returns false).
GREEN_API bool sleep_for(double seconds);

// Parks until a signal handler runs on this thread (pause, sigsuspend). The
// loop is held alive meanwhile: with nothing else armed, the hub waits for the
// signal instead of reporting a deadlock.
GREEN_API void wait_for_signal();

// Parks once until a child in `pid`'s set (waitpid's meaning) may have changed
// state, or a signal handler runs on this thread (see detail/child_wait.hpp).
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

// An interruption (kill, expired Timeout) caught at the shim's C boundary is
// delivered again at the next suspension point, after the C code returned.
GREEN_API void deliver_later(std::exception_ptr e) noexcept;

}  // namespace green::detail::shim_api
