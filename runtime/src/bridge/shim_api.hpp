// The boundary between the runtime and the LD_PRELOAD shim: everything shim/
// uses of the runtime is declared here (besides green's public headers), and
// the shim's build sees no other runtime header. The shim links libgreen.so, so
// a program has one runtime whether it links green, is run under greenrun, or
// both. Calls that park may throw (kill, Timeout); the shim catches at its
// extern "C" boundary and turns them into errno values.
#pragma once

#include <cstddef>
#include <exception>
#include <vector>

#include "green/detail/config.hpp"
#include "green/dns.hpp"

namespace green::detail {

// One wait for a child process, between its looks (see wait_for_child).
struct ChildWait {
    unsigned round = 0;         // looks so far: the pause between them grows with each
    bool pidfd_failed = false;  // the pidfd said "exited" yet the look found nothing
};

}  // namespace green::detail

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

// An interruption (kill, expired Timeout) caught at the shim's C boundary is
// delivered again at the next suspension point, after the C code returned.
GREEN_API void deliver_later(std::exception_ptr e) noexcept;

}  // namespace green::detail::shim_api
