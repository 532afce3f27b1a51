// The libc functions the shim interposes, as libc (the next definition after
// ours) implements them. Hooks and the shim's own code call these, never the
// interposed names, so the shim never re-enters itself.
//
// All are resolved with dlsym(RTLD_NEXT) when the library loads (resolve_all).
// dlsym may allocate, and an interposed malloc (jemalloc, tcmalloc) may call read
// or close while it initialises: a hook reached while its symbol is still being
// resolved on this thread falls back to the raw system call instead of recursing.
#pragma once

#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

namespace shim::real {

// Looks every symbol up now (from the library constructor).
void resolve_all() noexcept;

int socket(int domain, int type, int protocol);
int socketpair(int domain, int type, int protocol, int sv[2]);
int accept4(int fd, sockaddr* addr, socklen_t* len, int flags);
int connect(int fd, const sockaddr* addr, socklen_t len);
ssize_t read(int fd, void* buf, size_t n);
ssize_t readv(int fd, const iovec* iov, int n);
ssize_t write(int fd, const void* buf, size_t n);
ssize_t writev(int fd, const iovec* iov, int n);
ssize_t recvfrom(int fd, void* buf, size_t n, int flags, sockaddr* from, socklen_t* len);
ssize_t recvmsg(int fd, msghdr* msg, int flags);
int recvmmsg(int fd, mmsghdr* vec, unsigned int n, int flags, timespec* timeout);
ssize_t sendto(int fd, const void* buf, size_t n, int flags, const sockaddr* to, socklen_t len);
ssize_t sendmsg(int fd, const msghdr* msg, int flags);
int sendmmsg(int fd, mmsghdr* vec, unsigned int n, int flags);
ssize_t sendfile(int out, int in, off_t* offset, size_t count);
ssize_t splice(int in, loff_t* in_offset, int out, loff_t* out_offset, size_t len, unsigned int flags);
ssize_t tee(int in, int out, size_t len, unsigned int flags);
int poll(pollfd* fds, nfds_t n, int timeout);
int ppoll(pollfd* fds, nfds_t n, const timespec* timeout, const sigset_t* mask);
int select(int n, fd_set* r, fd_set* w, fd_set* e, timeval* timeout);
int pselect(int n, fd_set* r, fd_set* w, fd_set* e, const timespec* timeout, const sigset_t* mask);
int epoll_wait(int epfd, epoll_event* events, int max, int timeout);
int epoll_pwait(int epfd, epoll_event* events, int max, int timeout, const sigset_t* mask);
int epoll_pwait2(int epfd, epoll_event* events, int max, const timespec* timeout, const sigset_t* mask);
unsigned int sleep(unsigned int seconds);
int pause();
int sigsuspend(const sigset_t* mask);
int usleep(useconds_t usec);
int nanosleep(const timespec* req, timespec* rem);
int clock_nanosleep(clockid_t clock, int flags, const timespec* req, timespec* rem);
int close(int fd);
int close_range(unsigned int first, unsigned int last, int flags);
int dup(int fd);
int dup2(int fd, int fd2);
int dup3(int fd, int fd2, int flags);
int fcntl(int fd, int cmd, void* arg);
int ioctl(int fd, unsigned long request, void* arg);
int setsockopt(int fd, int level, int name, const void* value, socklen_t len);
int getsockopt(int fd, int level, int name, void* value, socklen_t* len);
int epoll_create(int size);
int epoll_create1(int flags);
int eventfd(unsigned int count, int flags);
int pipe(int fds[2]);
int pipe2(int fds[2], int flags);
pid_t fork();
pid_t waitpid(pid_t pid, int* status, int options);
pid_t wait4(pid_t pid, int* status, int options, struct rusage* usage);
int waitid(idtype_t type, id_t id, siginfo_t* info, int options);
int sigaction(int sig, const struct sigaction* act, struct sigaction* old);
int getaddrinfo(const char* node, const char* service, const addrinfo* hints, addrinfo** res);
void freeaddrinfo(addrinfo* res);
int getnameinfo(const sockaddr* sa, socklen_t len, char* host, socklen_t hostlen, char* serv, socklen_t servlen,
                int flags);
hostent* gethostbyname(const char* name);
hostent* gethostbyname2(const char* name, int af);
hostent* gethostbyaddr(const void* addr, socklen_t len, int type);
int gethostbyname_r(const char* name, hostent* ret, char* buf, size_t buflen, hostent** result, int* h_errnop);
int gethostbyname2_r(const char* name, int af, hostent* ret, char* buf, size_t buflen, hostent** result,
                     int* h_errnop);
int gethostbyaddr_r(const void* addr, socklen_t len, int type, hostent* ret, char* buf, size_t buflen,
                    hostent** result, int* h_errnop);
int res_query(const char* dname, int cls, int type, unsigned char* answer, int anslen);
int res_search(const char* dname, int cls, int type, unsigned char* answer, int anslen);

}  // namespace shim::real
