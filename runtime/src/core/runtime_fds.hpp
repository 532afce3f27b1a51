// Descriptors the runtime opened for itself: each loop's epoll and eventfd, the
// DNS resolver's sockets, pidfds. The program never opened them, so the
// LD_PRELOAD shim keeps a program's close / close_range from closing them under
// the hub.
//
// c-ares sockets and pidfds are marked where they are opened. libev opens its
// descriptors itself, through libc: the loop marks the scope of each libev call
// that may open one (RuntimeScope), and the shim's epoll_create1 / eventfd /
// pipe2 hooks mark what they create inside such a scope.
//
// They live at high numbers (own_runtime_fd): a program that dup2s onto a low
// number it never opened, as shells do for `exec 3<>file`, finds it free, and
// the numbers the kernel hands the program are those it would get without the
// runtime.
//
// The registry is a bitmap in pages allocated on first use and never freed, so
// reading it takes no lock and is async-signal-safe: every close() of the
// program asks it.
#pragma once

#include <atomic>
#include <vector>

namespace green::detail {

void mark_runtime_fd(int fd) noexcept;
void unmark_runtime_fd(int fd) noexcept;
bool is_runtime_fd(int fd) noexcept;
// The runtime takes `fd` as its own: moves it to a free number at or above
// runtime_fd_floor(), close-on-exec, marks it and returns its new number (`fd`
// itself, marked, when no number up there is free). A negative `fd` is returned
// as it is.
int own_runtime_fd(int fd) noexcept;
// The kernel gives a new descriptor the lowest free number, where it stays
// until own_runtime_fd moves it up. This lock is held while a runtime
// descriptor is made and moved, and around a program's dup2 (the shim takes
// it), so that the dup2 never replaces a new descriptor of the runtime's there.
// Held for a few system calls; never while switching greenlets. A thread may
// take it again while it holds it.
void lock_runtime_fd_creation() noexcept;
void unlock_runtime_fd_creation() noexcept;

// Unmarks and closes the runtime's `fd` under that lock: a program's dup2
// between the two would get the number, and the runtime's close would then
// close the program's descriptor.
int close_runtime_fd(int fd) noexcept;

// libev does not name its epoll set: the shim's epoll_create hooks tell
// (note_made_epoll) of each made inside a runtime scope. After
// learn_made_epoll(into), until it is called again, the next one made on this
// thread is stored `into` (null: nowhere).
void learn_made_epoll(std::atomic<int>* into) noexcept;
void note_made_epoll(int fd) noexcept;

// An epoll set another thread took from a loop for a program's dup2
// (Loop::give_up_while_away) is still libev's backend number, and libev
// closes it when it makes a new one, on the loop's thread. By then the number
// may be the program's, or a new descriptor of the runtime's: that one close
// is passed over (expect_lost_close(fd) before the libev call that makes it,
// closes_lost_fd(fd) in the shim's close hook: true, once, for `fd`).
void expect_lost_close(int fd) noexcept;
bool closes_lost_fd(int fd) noexcept;

// `create()`'s descriptor, taken as the runtime's own (own_runtime_fd) under
// that lock.
template <class Create>
int make_runtime_fd(Create&& create) noexcept {
    lock_runtime_fd_creation();
    const int fd = own_runtime_fd(create());
    unlock_runtime_fd_creation();
    return fd;
}

// Until stop_avoiding_runtime_fd(the result), own_runtime_fd (on any thread)
// never returns `fd`: the number a program's dup2 wants, which the runtime is
// giving up. A few at once.
int avoid_runtime_fd(int fd) noexcept;
void stop_avoiding_runtime_fd(int slot) noexcept;
// Three quarters of the soft RLIMIT_NOFILE, and at most 256: above the numbers
// programs use (bash reads its script on 255), low enough that libev's
// per-descriptor table (16 bytes a number) stays small and the kernel's table
// grows to 512 entries at most: select() ignores a descriptor beyond the
// kernel's table, and a program selecting on a high number it never opened
// sees that as without green.
int runtime_fd_floor() noexcept;
// The marked descriptors from `first` to `last`, in order.
std::vector<int> runtime_fds_between(unsigned first, unsigned last);

// How many RuntimeScopes the thread is inside. Initial-exec, as the hub pointer
// is: every loop poll opens a scope.
extern constinit thread_local int runtime_scope_depth [[gnu::tls_model("initial-exec")]];

// While one exists on a thread, the runtime is calling libc for itself there:
// descriptors the shim sees opened belong to the runtime (libev's), threads
// created are plain OS threads even under thread patching (the monitor, the
// thread pool's workers), and signal handlers installed are not wrapped.
class RuntimeScope {
public:
    RuntimeScope() noexcept { ++runtime_scope_depth; }
    ~RuntimeScope() { --runtime_scope_depth; }
    RuntimeScope(const RuntimeScope&) = delete;
    RuntimeScope& operator=(const RuntimeScope&) = delete;
    static bool active() noexcept { return runtime_scope_depth > 0; }
};

// While one exists, the runtime opens descriptors it closes again before the
// guard goes (the resolver's configuration files, the address sort's probe
// sockets, c-ares's start-up). They sit at the lowest free numbers meanwhile,
// which a program's dup2 on another thread may aim at: it waits instead (the
// creation lock), as it would never meet them without the runtime. Nothing
// inside may switch greenlets (a RuntimeScope too: the hooks make plain calls).
class TransientFds {
public:
    TransientFds() noexcept { lock_runtime_fd_creation(); }
    ~TransientFds() { unlock_runtime_fd_creation(); }
    TransientFds(const TransientFds&) = delete;
    TransientFds& operator=(const TransientFds&) = delete;

private:
    RuntimeScope scope_;
};

}  // namespace green::detail
