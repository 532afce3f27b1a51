// Every libc function the shim interposes, once. Adding a hook is one row here
// (and its row in SYMBOLS.md); real.hpp declares and real.cpp defines
// shim::real::NAME from this table.
//
//   X(name, return type, (parameters), (arguments), fallback)
//
// fallback: the system call that does the same job while dlsym is still
// resolving the symbol on this thread (an interposed malloc may call read or
// close from inside dlsym), or `none` where no caller needs one: the call then
// fails with ENOSYS. fcntl and ioctl are variadic in libc and are called with
// their one argument as a pointer-sized word, which every ABI green runs on
// passes alike.
#pragma once

#define SHIM_REAL_SYMBOLS(X)                                                                                     \
    X(socket, int, (int d, int t, int p), (d, t, p), SYS_socket)                                                  \
    X(socketpair, int, (int d, int t, int p, int sv[2]), (d, t, p, sv), SYS_socketpair)                           \
    X(accept4, int, (int fd, sockaddr* a, socklen_t* l, int fl), (fd, a, l, fl), SYS_accept4)                     \
    X(connect, int, (int fd, const sockaddr* a, socklen_t l), (fd, a, l), SYS_connect)                            \
    X(read, ssize_t, (int fd, void* b, size_t n), (fd, b, n), SYS_read)                                           \
    X(readv, ssize_t, (int fd, const iovec* v, int n), (fd, v, n), SYS_readv)                                     \
    X(write, ssize_t, (int fd, const void* b, size_t n), (fd, b, n), SYS_write)                                   \
    X(writev, ssize_t, (int fd, const iovec* v, int n), (fd, v, n), SYS_writev)                                   \
    X(recvfrom, ssize_t, (int fd, void* b, size_t n, int fl, sockaddr* a, socklen_t* l), (fd, b, n, fl, a, l),    \
      SYS_recvfrom)                                                                                              \
    X(recvmsg, ssize_t, (int fd, msghdr* m, int fl), (fd, m, fl), SYS_recvmsg)                                    \
    X(recvmmsg, int, (int fd, mmsghdr* v, unsigned int n, int fl, timespec* t), (fd, v, n, fl, t), SYS_recvmmsg)  \
    X(sendto, ssize_t, (int fd, const void* b, size_t n, int fl, const sockaddr* a, socklen_t l),                 \
      (fd, b, n, fl, a, l), SYS_sendto)                                                                          \
    X(sendmsg, ssize_t, (int fd, const msghdr* m, int fl), (fd, m, fl), SYS_sendmsg)                              \
    X(sendmmsg, int, (int fd, mmsghdr* v, unsigned int n, int fl), (fd, v, n, fl), SYS_sendmmsg)                  \
    X(sendfile, ssize_t, (int out, int in, off_t* off, size_t count), (out, in, off, count), SYS_sendfile)        \
    X(splice, ssize_t, (int in, loff_t* in_off, int out, loff_t* out_off, size_t len, unsigned int fl),          \
      (in, in_off, out, out_off, len, fl), SYS_splice)                                                            \
    X(tee, ssize_t, (int in, int out, size_t len, unsigned int fl), (in, out, len, fl), SYS_tee)                  \
    X(poll, int, (pollfd * fds, nfds_t n, int t), (fds, n, t), SYS_poll)                                          \
    X(ppoll, int, (pollfd * fds, nfds_t n, const timespec* t, const sigset_t* m), (fds, n, t, m), none)          \
    X(select, int, (int n, fd_set* r, fd_set* w, fd_set* e, timeval* t), (n, r, w, e, t), SYS_select)             \
    X(pselect, int, (int n, fd_set* r, fd_set* w, fd_set* e, const timespec* t, const sigset_t* m),              \
      (n, r, w, e, t, m), none)                                                                                   \
    X(epoll_wait, int, (int ep, epoll_event* ev, int max, int t), (ep, ev, max, t), SYS_epoll_wait)               \
    X(epoll_pwait, int, (int ep, epoll_event* ev, int max, int t, const sigset_t* m), (ep, ev, max, t, m), none)  \
    X(epoll_pwait2, int, (int ep, epoll_event* ev, int max, const timespec* t, const sigset_t* m),               \
      (ep, ev, max, t, m), none)                                                                                  \
    X(sleep, unsigned int, (unsigned int s), (s), none)                                                          \
    X(pause, int, (), (), none)                                                                                   \
    X(sigsuspend, int, (const sigset_t* mask), (mask), none)                                                      \
    X(usleep, int, (useconds_t us), (us), none)                                                                  \
    X(nanosleep, int, (const timespec* req, timespec* rem), (req, rem), SYS_nanosleep)                            \
    X(clock_nanosleep, int, (clockid_t c, int fl, const timespec* req, timespec* rem), (c, fl, req, rem), none)   \
    X(close, int, (int fd), (fd), SYS_close)                                                                      \
    X(close_range, int, (unsigned int first, unsigned int last, int fl), (first, last, fl), SYS_close_range)      \
    X(dup, int, (int fd), (fd), SYS_dup)                                                                          \
    X(dup2, int, (int fd, int fd2), (fd, fd2), SYS_dup2)                                                          \
    X(dup3, int, (int fd, int fd2, int fl), (fd, fd2, fl), SYS_dup3)                                              \
    X(fcntl, int, (int fd, int cmd, void* arg), (fd, cmd, arg), SYS_fcntl)                                        \
    X(ioctl, int, (int fd, unsigned long req, void* arg), (fd, req, arg), SYS_ioctl)                              \
    X(setsockopt, int, (int fd, int lv, int nm, const void* v, socklen_t l), (fd, lv, nm, v, l), SYS_setsockopt)  \
    X(getsockopt, int, (int fd, int lv, int nm, void* v, socklen_t* l), (fd, lv, nm, v, l), SYS_getsockopt)       \
    X(epoll_create, int, (int size), (size), none)                                                                \
    X(epoll_create1, int, (int fl), (fl), SYS_epoll_create1)                                                      \
    X(eventfd, int, (unsigned int count, int fl), (count, fl), SYS_eventfd2)                                      \
    X(pipe, int, (int fds[2]), (fds), SYS_pipe)                                                                   \
    X(pipe2, int, (int fds[2], int fl), (fds, fl), SYS_pipe2)                                                     \
    X(fork, pid_t, (), (), none)                                                                                  \
    X(waitpid, pid_t, (pid_t pid, int* status, int options), (pid, status, options), none)                        \
    X(wait4, pid_t, (pid_t pid, int* status, int options, struct rusage* usage), (pid, status, options, usage),    \
      SYS_wait4)                                                                                                  \
    X(waitid, int, (idtype_t type, id_t id, siginfo_t* info, int options), (type, id, info, options), none)       \
    X(sigaction, int, (int sig, const struct sigaction* act, struct sigaction* old), (sig, act, old), none)       \
    X(getaddrinfo, int, (const char* node, const char* service, const addrinfo* hints, addrinfo** res),          \
      (node, service, hints, res), none)                                                                          \
    X(freeaddrinfo, void, (addrinfo * res), (res), none)                                                          \
    X(getnameinfo, int,                                                                                           \
      (const sockaddr* sa, socklen_t l, char* h, socklen_t hl, char* s, socklen_t sl, int fl),                   \
      (sa, l, h, hl, s, sl, fl), none)                                                                            \
    X(gethostbyname, hostent*, (const char* name), (name), none)                                                  \
    X(gethostbyname2, hostent*, (const char* name, int af), (name, af), none)                                     \
    X(gethostbyaddr, hostent*, (const void* a, socklen_t l, int t), (a, l, t), none)                              \
    X(gethostbyname_r, int, (const char* n, hostent* r, char* b, size_t bl, hostent** res, int* he),             \
      (n, r, b, bl, res, he), none)                                                                               \
    X(gethostbyname2_r, int, (const char* n, int af, hostent* r, char* b, size_t bl, hostent** res, int* he),    \
      (n, af, r, b, bl, res, he), none)                                                                           \
    X(gethostbyaddr_r, int,                                                                                       \
      (const void* a, socklen_t l, int t, hostent* r, char* b, size_t bl, hostent** res, int* he),               \
      (a, l, t, r, b, bl, res, he), none)                                                                         \
    X(res_query, int, (const char* d, int c, int t, unsigned char* a, int l), (d, c, t, a, l), none)              \
    X(res_search, int, (const char* d, int c, int t, unsigned char* a, int l), (d, c, t, a, l), none)
