#include "real.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace shim::real {
namespace {

// One libc symbol, looked up once.
struct Symbol {
    const char* name;
    std::atomic<void*> address{nullptr};
};

thread_local int resolving [[gnu::tls_model("initial-exec")]] = 0;

void* lookup(Symbol& s) noexcept {
    void* p = s.address.load(std::memory_order_acquire);
    if (p) [[likely]]
        return p;
    if (resolving) return nullptr;  // dlsym is running on this thread: use the fallback
    ++resolving;
    p = dlsym(RTLD_NEXT, s.name);
    --resolving;
    s.address.store(p, std::memory_order_release);
    return p;
}

template <class F>
F* next(Symbol& s) noexcept {
    return reinterpret_cast<F*>(lookup(s));
}

int no_symbol() noexcept {
    errno = ENOSYS;
    return -1;
}

Symbol socket_{"socket"}, socketpair_{"socketpair"}, accept4_{"accept4"}, connect_{"connect"}, read_{"read"},
    readv_{"readv"}, write_{"write"}, writev_{"writev"}, recvfrom_{"recvfrom"}, recvmsg_{"recvmsg"},
    recvmmsg_{"recvmmsg"}, sendto_{"sendto"}, sendmsg_{"sendmsg"}, sendmmsg_{"sendmmsg"}, sendfile_{"sendfile"},
    splice_{"splice"}, tee_{"tee"},
    poll_{"poll"}, ppoll_{"ppoll"}, select_{"select"}, pselect_{"pselect"}, epoll_wait_{"epoll_wait"},
    epoll_pwait_{"epoll_pwait"}, epoll_pwait2_{"epoll_pwait2"}, sleep_{"sleep"}, pause_{"pause"},
    sigsuspend_{"sigsuspend"}, usleep_{"usleep"}, nanosleep_{"nanosleep"}, clock_nanosleep_{"clock_nanosleep"}, close_{"close"}, close_range_{"close_range"},
    dup_{"dup"}, dup2_{"dup2"}, dup3_{"dup3"}, fcntl_{"fcntl"}, ioctl_{"ioctl"}, setsockopt_{"setsockopt"},
    getsockopt_{"getsockopt"}, epoll_create_{"epoll_create"}, epoll_create1_{"epoll_create1"}, eventfd_{"eventfd"},
    pipe_{"pipe"}, pipe2_{"pipe2"}, fork_{"fork"}, waitpid_{"waitpid"}, wait4_{"wait4"}, waitid_{"waitid"},
    sigaction_{"sigaction"}, getaddrinfo_{"getaddrinfo"}, freeaddrinfo_{"freeaddrinfo"}, getnameinfo_{"getnameinfo"}, gethostbyname_{"gethostbyname"},
    gethostbyname2_{"gethostbyname2"}, gethostbyaddr_{"gethostbyaddr"}, gethostbyname_r_{"gethostbyname_r"},
    gethostbyname2_r_{"gethostbyname2_r"}, gethostbyaddr_r_{"gethostbyaddr_r"}, res_query_{"res_query"},
    res_search_{"res_search"};

Symbol* const all[] = {
    &socket_, &socketpair_, &accept4_, &connect_, &read_, &readv_, &write_, &writev_, &recvfrom_, &recvmsg_, &recvmmsg_,
    &sendto_, &sendmsg_, &sendmmsg_, &sendfile_, &splice_, &tee_, &poll_, &ppoll_, &select_, &pselect_, &epoll_wait_,
    &epoll_pwait_, &epoll_pwait2_, &sleep_, &pause_, &sigsuspend_, &usleep_, &nanosleep_, &clock_nanosleep_, &close_,
    &close_range_, &dup_, &dup2_, &dup3_, &fcntl_, &ioctl_, &setsockopt_, &getsockopt_, &epoll_create_, &epoll_create1_,
    &eventfd_, &pipe_, &pipe2_, &fork_, &waitpid_, &wait4_, &waitid_, &sigaction_, &getaddrinfo_, &freeaddrinfo_,
    &getnameinfo_, &gethostbyname_, &gethostbyname2_, &gethostbyaddr_, &gethostbyname_r_, &gethostbyname2_r_,
    &gethostbyaddr_r_, &res_query_, &res_search_};

}  // namespace

void resolve_all() noexcept {
    for (Symbol* s : all) lookup(*s);
}

// Each forwards to libc; while its symbol is being resolved on this thread, a
// system call does the same job (or the call fails with ENOSYS where there is
// no system call: nothing calls those from inside dlsym).

int socket(int d, int t, int p) {
    if (auto f = next<decltype(::socket)>(socket_)) return f(d, t, p);
    return static_cast<int>(::syscall(SYS_socket, d, t, p));
}
int socketpair(int d, int t, int p, int sv[2]) {
    if (auto f = next<decltype(::socketpair)>(socketpair_)) return f(d, t, p, sv);
    return static_cast<int>(::syscall(SYS_socketpair, d, t, p, sv));
}
int accept4(int fd, sockaddr* a, socklen_t* l, int fl) {
    if (auto f = next<decltype(::accept4)>(accept4_)) return f(fd, a, l, fl);
    return static_cast<int>(::syscall(SYS_accept4, fd, a, l, fl));
}
int connect(int fd, const sockaddr* a, socklen_t l) {
    if (auto f = next<decltype(::connect)>(connect_)) return f(fd, a, l);
    return static_cast<int>(::syscall(SYS_connect, fd, a, l));
}
ssize_t read(int fd, void* b, size_t n) {
    if (auto f = next<decltype(::read)>(read_)) return f(fd, b, n);
    return ::syscall(SYS_read, fd, b, n);
}
ssize_t readv(int fd, const iovec* v, int n) {
    if (auto f = next<decltype(::readv)>(readv_)) return f(fd, v, n);
    return ::syscall(SYS_readv, fd, v, n);
}
ssize_t write(int fd, const void* b, size_t n) {
    if (auto f = next<decltype(::write)>(write_)) return f(fd, b, n);
    return ::syscall(SYS_write, fd, b, n);
}
ssize_t writev(int fd, const iovec* v, int n) {
    if (auto f = next<decltype(::writev)>(writev_)) return f(fd, v, n);
    return ::syscall(SYS_writev, fd, v, n);
}
ssize_t recvfrom(int fd, void* b, size_t n, int fl, sockaddr* a, socklen_t* l) {
    if (auto f = next<decltype(::recvfrom)>(recvfrom_)) return f(fd, b, n, fl, a, l);
    return ::syscall(SYS_recvfrom, fd, b, n, fl, a, l);
}
ssize_t recvmsg(int fd, msghdr* m, int fl) {
    if (auto f = next<decltype(::recvmsg)>(recvmsg_)) return f(fd, m, fl);
    return ::syscall(SYS_recvmsg, fd, m, fl);
}
int recvmmsg(int fd, mmsghdr* v, unsigned int n, int fl, timespec* t) {
    if (auto f = next<decltype(::recvmmsg)>(recvmmsg_)) return f(fd, v, n, fl, t);
    return static_cast<int>(::syscall(SYS_recvmmsg, fd, v, n, fl, t));
}
ssize_t sendto(int fd, const void* b, size_t n, int fl, const sockaddr* a, socklen_t l) {
    if (auto f = next<decltype(::sendto)>(sendto_)) return f(fd, b, n, fl, a, l);
    return ::syscall(SYS_sendto, fd, b, n, fl, a, l);
}
ssize_t sendmsg(int fd, const msghdr* m, int fl) {
    if (auto f = next<decltype(::sendmsg)>(sendmsg_)) return f(fd, m, fl);
    return ::syscall(SYS_sendmsg, fd, m, fl);
}
int sendmmsg(int fd, mmsghdr* v, unsigned int n, int fl) {
    if (auto f = next<decltype(::sendmmsg)>(sendmmsg_)) return f(fd, v, n, fl);
    return static_cast<int>(::syscall(SYS_sendmmsg, fd, v, n, fl));
}
ssize_t sendfile(int out, int in, off_t* off, size_t count) {
    if (auto f = next<decltype(::sendfile)>(sendfile_)) return f(out, in, off, count);
    return ::syscall(SYS_sendfile, out, in, off, count);
}
ssize_t splice(int in, loff_t* in_off, int out, loff_t* out_off, size_t len, unsigned int fl) {
    if (auto f = next<decltype(::splice)>(splice_)) return f(in, in_off, out, out_off, len, fl);
    return ::syscall(SYS_splice, in, in_off, out, out_off, len, fl);
}
ssize_t tee(int in, int out, size_t len, unsigned int fl) {
    if (auto f = next<decltype(::tee)>(tee_)) return f(in, out, len, fl);
    return ::syscall(SYS_tee, in, out, len, fl);
}
int poll(pollfd* fds, nfds_t n, int t) {
    if (auto f = next<decltype(::poll)>(poll_)) return f(fds, n, t);
    return static_cast<int>(::syscall(SYS_poll, fds, n, t));
}
int ppoll(pollfd* fds, nfds_t n, const timespec* t, const sigset_t* m) {
    if (auto f = next<decltype(::ppoll)>(ppoll_)) return f(fds, n, t, m);
    return static_cast<int>(::syscall(SYS_ppoll, fds, n, t, m, _NSIG / 8));
}
int select(int n, fd_set* r, fd_set* w, fd_set* e, timeval* t) {
    if (auto f = next<decltype(::select)>(select_)) return f(n, r, w, e, t);
    return static_cast<int>(::syscall(SYS_select, n, r, w, e, t));
}
int pselect(int n, fd_set* r, fd_set* w, fd_set* e, const timespec* t, const sigset_t* m) {
    if (auto f = next<decltype(::pselect)>(pselect_)) return f(n, r, w, e, t, m);
    return no_symbol();
}
int epoll_wait(int ep, epoll_event* ev, int max, int t) {
    if (auto f = next<decltype(::epoll_wait)>(epoll_wait_)) return f(ep, ev, max, t);
    return static_cast<int>(::syscall(SYS_epoll_wait, ep, ev, max, t));
}
int epoll_pwait(int ep, epoll_event* ev, int max, int t, const sigset_t* m) {
    if (auto f = next<decltype(::epoll_pwait)>(epoll_pwait_)) return f(ep, ev, max, t, m);
    return static_cast<int>(::syscall(SYS_epoll_pwait, ep, ev, max, t, m, _NSIG / 8));
}
int epoll_pwait2(int ep, epoll_event* ev, int max, const timespec* t, const sigset_t* m) {
    using Fn = int(int, epoll_event*, int, const timespec*, const sigset_t*);
    if (auto f = next<Fn>(epoll_pwait2_)) return f(ep, ev, max, t, m);
    return static_cast<int>(::syscall(SYS_epoll_pwait2, ep, ev, max, t, m, _NSIG / 8));
}
unsigned int sleep(unsigned int s) {
    if (auto f = next<decltype(::sleep)>(sleep_)) return f(s);
    timespec ts{static_cast<time_t>(s), 0};
    return ::syscall(SYS_nanosleep, &ts, &ts) == 0 ? 0 : static_cast<unsigned>(ts.tv_sec);
}
int pause() {
    if (auto f = next<decltype(::pause)>(pause_)) return f();
    return no_symbol();
}
int sigsuspend(const sigset_t* mask) {
    if (auto f = next<decltype(::sigsuspend)>(sigsuspend_)) return f(mask);
    return no_symbol();
}
int usleep(useconds_t us) {
    if (auto f = next<decltype(::usleep)>(usleep_)) return f(us);
    timespec ts{static_cast<time_t>(us / 1000000), static_cast<long>(us % 1000000) * 1000};
    return static_cast<int>(::syscall(SYS_nanosleep, &ts, nullptr));
}
int nanosleep(const timespec* req, timespec* rem) {
    if (auto f = next<decltype(::nanosleep)>(nanosleep_)) return f(req, rem);
    return static_cast<int>(::syscall(SYS_nanosleep, req, rem));
}
int clock_nanosleep(clockid_t c, int fl, const timespec* req, timespec* rem) {
    if (auto f = next<decltype(::clock_nanosleep)>(clock_nanosleep_)) return f(c, fl, req, rem);
    return ::syscall(SYS_clock_nanosleep, c, fl, req, rem) == 0 ? 0 : errno;
}
int close(int fd) {
    if (auto f = next<decltype(::close)>(close_)) return f(fd);
    return static_cast<int>(::syscall(SYS_close, fd));
}
int close_range(unsigned int first, unsigned int last, int fl) {
    using Fn = int(unsigned int, unsigned int, int);
    if (auto f = next<Fn>(close_range_)) return f(first, last, fl);
    return static_cast<int>(::syscall(SYS_close_range, first, last, fl));
}
int dup(int fd) {
    if (auto f = next<decltype(::dup)>(dup_)) return f(fd);
    return static_cast<int>(::syscall(SYS_dup, fd));
}
int dup2(int fd, int fd2) {
    if (auto f = next<decltype(::dup2)>(dup2_)) return f(fd, fd2);
    return static_cast<int>(::syscall(SYS_dup2, fd, fd2));
}
int dup3(int fd, int fd2, int fl) {
    if (auto f = next<decltype(::dup3)>(dup3_)) return f(fd, fd2, fl);
    return static_cast<int>(::syscall(SYS_dup3, fd, fd2, fl));
}
int fcntl(int fd, int cmd, void* arg) {
    using Fn = int(int, int, ...);
    if (auto f = next<Fn>(fcntl_)) return f(fd, cmd, arg);
    return static_cast<int>(::syscall(SYS_fcntl, fd, cmd, arg));
}
int ioctl(int fd, unsigned long req, void* arg) {
    using Fn = int(int, unsigned long, ...);
    if (auto f = next<Fn>(ioctl_)) return f(fd, req, arg);
    return static_cast<int>(::syscall(SYS_ioctl, fd, req, arg));
}
int setsockopt(int fd, int lv, int nm, const void* v, socklen_t l) {
    if (auto f = next<decltype(::setsockopt)>(setsockopt_)) return f(fd, lv, nm, v, l);
    return static_cast<int>(::syscall(SYS_setsockopt, fd, lv, nm, v, l));
}
int getsockopt(int fd, int lv, int nm, void* v, socklen_t* l) {
    if (auto f = next<decltype(::getsockopt)>(getsockopt_)) return f(fd, lv, nm, v, l);
    return static_cast<int>(::syscall(SYS_getsockopt, fd, lv, nm, v, l));
}
int epoll_create(int size) {
    if (auto f = next<decltype(::epoll_create)>(epoll_create_)) return f(size);
    return static_cast<int>(::syscall(SYS_epoll_create1, 0));
}
int epoll_create1(int fl) {
    if (auto f = next<decltype(::epoll_create1)>(epoll_create1_)) return f(fl);
    return static_cast<int>(::syscall(SYS_epoll_create1, fl));
}
int eventfd(unsigned int count, int fl) {
    using Fn = int(unsigned int, int);
    if (auto f = next<Fn>(eventfd_)) return f(count, fl);
    return static_cast<int>(::syscall(SYS_eventfd2, count, fl));
}
int pipe(int fds[2]) {
    if (auto f = next<decltype(::pipe)>(pipe_)) return f(fds);
    return static_cast<int>(::syscall(SYS_pipe2, fds, 0));
}
int pipe2(int fds[2], int fl) {
    if (auto f = next<decltype(::pipe2)>(pipe2_)) return f(fds, fl);
    return static_cast<int>(::syscall(SYS_pipe2, fds, fl));
}
pid_t fork() {
    if (auto f = next<decltype(::fork)>(fork_)) return f();
    return no_symbol();
}
pid_t waitpid(pid_t pid, int* status, int options) {
    if (auto f = next<decltype(::waitpid)>(waitpid_)) return f(pid, status, options);
    return static_cast<pid_t>(::syscall(SYS_wait4, pid, status, options, nullptr));
}
pid_t wait4(pid_t pid, int* status, int options, struct rusage* usage) {
    if (auto f = next<decltype(::wait4)>(wait4_)) return f(pid, status, options, usage);
    return static_cast<pid_t>(::syscall(SYS_wait4, pid, status, options, usage));
}
int waitid(idtype_t type, id_t id, siginfo_t* info, int options) {
    if (auto f = next<decltype(::waitid)>(waitid_)) return f(type, id, info, options);
    return static_cast<int>(::syscall(SYS_waitid, type, id, info, options, nullptr));
}
int sigaction(int sig, const struct sigaction* act, struct sigaction* old) {
    if (auto f = next<int(int, const struct sigaction*, struct sigaction*)>(sigaction_)) return f(sig, act, old);
    return no_symbol();
}
int getaddrinfo(const char* node, const char* service, const addrinfo* hints, addrinfo** res) {
    if (auto f = next<decltype(::getaddrinfo)>(getaddrinfo_)) return f(node, service, hints, res);
    errno = ENOSYS;
    return EAI_SYSTEM;
}
void freeaddrinfo(addrinfo* res) {
    if (auto f = next<decltype(::freeaddrinfo)>(freeaddrinfo_)) f(res);
}
int getnameinfo(const sockaddr* sa, socklen_t l, char* h, socklen_t hl, char* s, socklen_t sl, int fl) {
    if (auto f = next<decltype(::getnameinfo)>(getnameinfo_)) return f(sa, l, h, hl, s, sl, fl);
    errno = ENOSYS;
    return EAI_SYSTEM;
}
hostent* gethostbyname(const char* name) {
    if (auto f = next<decltype(::gethostbyname)>(gethostbyname_)) return f(name);
    return nullptr;
}
hostent* gethostbyname2(const char* name, int af) {
    if (auto f = next<decltype(::gethostbyname2)>(gethostbyname2_)) return f(name, af);
    return nullptr;
}
hostent* gethostbyaddr(const void* a, socklen_t l, int t) {
    if (auto f = next<decltype(::gethostbyaddr)>(gethostbyaddr_)) return f(a, l, t);
    return nullptr;
}
int gethostbyname_r(const char* n, hostent* r, char* b, size_t bl, hostent** res, int* he) {
    if (auto f = next<decltype(::gethostbyname_r)>(gethostbyname_r_)) return f(n, r, b, bl, res, he);
    return ENOSYS;
}
int gethostbyname2_r(const char* n, int af, hostent* r, char* b, size_t bl, hostent** res, int* he) {
    if (auto f = next<decltype(::gethostbyname2_r)>(gethostbyname2_r_)) return f(n, af, r, b, bl, res, he);
    return ENOSYS;
}
int gethostbyaddr_r(const void* a, socklen_t l, int t, hostent* r, char* b, size_t bl, hostent** res, int* he) {
    if (auto f = next<decltype(::gethostbyaddr_r)>(gethostbyaddr_r_)) return f(a, l, t, r, b, bl, res, he);
    return ENOSYS;
}
int res_query(const char* d, int c, int t, unsigned char* a, int l) {
    if (auto f = next<int(const char*, int, int, unsigned char*, int)>(res_query_)) return f(d, c, t, a, l);
    return no_symbol();
}
int res_search(const char* d, int c, int t, unsigned char* a, int l) {
    if (auto f = next<int(const char*, int, int, unsigned char*, int)>(res_search_)) return f(d, c, t, a, l);
    return no_symbol();
}

}  // namespace shim::real
