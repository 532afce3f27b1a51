#include "base/sys.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace green::detail::sys {
namespace {

template <class... A>
long call(long nr, A... args) noexcept {
    return ::syscall(nr, (long)args...);
}

}  // namespace

int socket(int domain, int type, int protocol) noexcept { return (int)call(SYS_socket, domain, type, protocol); }
int socketpair(int domain, int type, int protocol, int sv[2]) noexcept {
    return (int)call(SYS_socketpair, domain, type, protocol, sv);
}
int connect(int fd, const sockaddr* addr, socklen_t len) noexcept { return (int)call(SYS_connect, fd, addr, len); }
int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) noexcept {
    return (int)call(SYS_accept4, fd, addr, len, flags);
}
int bind(int fd, const sockaddr* addr, socklen_t len) noexcept { return (int)call(SYS_bind, fd, addr, len); }
int listen(int fd, int backlog) noexcept { return (int)call(SYS_listen, fd, backlog); }
ssize_t recvfrom(int fd, void* buf, size_t len, int flags, sockaddr* from, socklen_t* fromlen) noexcept {
    return call(SYS_recvfrom, fd, buf, len, flags, from, fromlen);
}
ssize_t sendto(int fd, const void* buf, size_t len, int flags, const sockaddr* to, socklen_t tolen) noexcept {
    return call(SYS_sendto, fd, buf, len, flags, to, tolen);
}
ssize_t recvmsg(int fd, msghdr* msg, int flags) noexcept { return call(SYS_recvmsg, fd, msg, flags); }
ssize_t sendmsg(int fd, const msghdr* msg, int flags) noexcept { return call(SYS_sendmsg, fd, msg, flags); }
ssize_t read(int fd, void* buf, size_t len) noexcept { return call(SYS_read, fd, buf, len); }
ssize_t write(int fd, const void* buf, size_t len) noexcept { return call(SYS_write, fd, buf, len); }
ssize_t writev(int fd, const iovec* iov, int iovcnt) noexcept { return call(SYS_writev, fd, iov, iovcnt); }
int shutdown(int fd, int how) noexcept { return (int)call(SYS_shutdown, fd, how); }
int close(int fd) noexcept { return (int)call(SYS_close, fd); }
pid_t waitpid(pid_t pid, int* status, int options) noexcept {
    return (pid_t)call(SYS_wait4, pid, status, options, nullptr);
}
int pidfd_open(pid_t pid) noexcept { return (int)call(SYS_pidfd_open, pid, 0); }
int fcntl(int fd, int cmd, long arg) noexcept { return (int)call(SYS_fcntl, fd, cmd, arg); }
int getsockopt(int fd, int level, int name, void* value, socklen_t* len) noexcept {
    return (int)call(SYS_getsockopt, fd, level, name, value, len);
}
int setsockopt(int fd, int level, int name, const void* value, socklen_t len) noexcept {
    return (int)call(SYS_setsockopt, fd, level, name, value, len);
}
int getsockname(int fd, sockaddr* addr, socklen_t* len) noexcept { return (int)call(SYS_getsockname, fd, addr, len); }
int getpeername(int fd, sockaddr* addr, socklen_t* len) noexcept { return (int)call(SYS_getpeername, fd, addr, len); }

}  // namespace green::detail::sys
