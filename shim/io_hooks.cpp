// read / write / recv / send and friends, including glibc's fortified variants,
// sendfile, splice and tee.
//
// Reads and writes on any descriptor go through preadv2/pwritev2 with
// RWF_NOWAIT, which pipes and sockets honour per call; descriptors that do not
// (terminals, some devices) get a readiness check before the plain call, and
// regular files the plain call (disk reads are not waits the loop can watch).
// Socket calls add MSG_DONTWAIT. A blocking write or send delivers everything
// before it returns, so the hooks keep writing until done, returning the partial
// count if something stops them midway, as libc does.
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <poll.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "cooperate.hpp"
#include "fd_facts.hpp"
#include "real.hpp"
#include "threads/thread_state.hpp"

extern "C" [[noreturn]] void __chk_fail(void);

namespace shim {
namespace {

// S_IFSOCK, S_IFIFO, S_IFREG...; 0 for a descriptor that is not open.
mode_t file_type(int fd) noexcept {
    struct stat st {};
    return ::fstat(fd, &st) == 0 ? (st.st_mode & S_IFMT) : 0;
}

bool is_disk_file(int fd) noexcept { return fd_facts::of(fd).kind == fd_facts::Kind::disk; }

// One read or write attempt on any descriptor, without waiting.
class Transfer {
public:
    Transfer(int fd, bool write, const fd_facts::Facts& facts) noexcept
        : fd_(fd), write_(write), mode_(facts.kind == fd_facts::Kind::socket ? Mode::socket : Mode::nowait) {}

    long operator()(const iovec* iov, int n) noexcept {
        // A socket's one buffer goes through recv/send, which the kernel serves
        // more cheaply than readv/writev (no iovec to import). send raises
        // SIGPIPE as write does.
        if (mode_ == Mode::socket && n == 1 && iov[0].iov_len > 0) {
            const long r = write_ ? real::sendto(fd_, iov[0].iov_base, iov[0].iov_len, MSG_DONTWAIT, nullptr, 0)
                                  : real::recvfrom(fd_, iov[0].iov_base, iov[0].iov_len, MSG_DONTWAIT, nullptr, nullptr);
            if (r >= 0 || errno != ENOTSOCK) return r;
            fd_facts::forget(fd_);  // no longer a socket: the number was reused behind the shim's back
        }
        if (mode_ == Mode::socket) mode_ = Mode::nowait;
        if (mode_ == Mode::nowait) {
            const long r = write_ ? ::pwritev2(fd_, iov, n, -1, RWF_NOWAIT) : ::preadv2(fd_, iov, n, -1, RWF_NOWAIT);
            if (r >= 0) return r;
            if (errno == EAGAIN && is_disk_file(fd_))
                mode_ = Mode::plain;
            else if (errno == EOPNOTSUPP || errno == EINVAL)
                mode_ = Mode::poll_first;
            else
                return r;
        }
        if (mode_ == Mode::poll_first) {
            pollfd p{fd_, static_cast<short>(write_ ? POLLOUT : POLLIN), 0};
            if (real::poll(&p, 1, 0) == 0) {
                errno = EAGAIN;
                return -1;
            }
        }
        return write_ ? real::writev(fd_, iov, n) : real::readv(fd_, iov, n);
    }

private:
    enum class Mode { socket, nowait, poll_first, plain };
    int fd_;
    bool write_;
    Mode mode_;
};

// Drops `done` bytes from the front of an iovec array (a copy the caller owns).
void advance(std::vector<iovec>& v, std::size_t& first, std::size_t done) {
    while (done > 0 && first < v.size()) {
        const std::size_t take = std::min(done, v[first].iov_len);
        v[first].iov_base = static_cast<char*>(v[first].iov_base) + take;
        v[first].iov_len -= take;
        done -= take;
        if (v[first].iov_len == 0) ++first;
    }
}

std::size_t total(const iovec* iov, int n) {
    std::size_t sum = 0;
    for (int i = 0; i < n; ++i) sum += iov[i].iov_len;
    return sum;
}

// cooperate() for a read, but when the last read of a byte stream emptied its
// buffer (fd_facts::set_drained), waits for readiness before the first attempt
// rather than make a call that would say EAGAIN, as an epoll loop does; and
// remembers whether this read emptied the buffer. `wanted()` (the bytes asked
// for) is called only after a successful read, when the kernel has accepted the
// buffers.
template <class Attempt, class Wanted>
long read_stream(int fd, const fd_facts::Facts& facts, Blocker& blocker, Attempt&& attempt, Wanted&& wanted) noexcept {
    const bool stream = (facts.kind == fd_facts::Kind::socket && !facts.datagrams) ||
                        facts.kind == fd_facts::Kind::pollable;
    if (stream && facts.drained && !facts.nonblocking && blocker.wait() < 0) return -1;
    const long r = cooperate(blocker, attempt);
    if (stream) fd_facts::set_drained(fd, r > 0 && static_cast<std::size_t>(r) < wanted());
    return r;
}

long read_any(int fd, const iovec* iov, int n) noexcept {
    const fd_facts::Facts facts = fd_facts::of(fd);
    Transfer attempt(fd, false, facts);
    Blocker blocker(fd, false, Restart::if_sa_restart, facts);
    return read_stream(fd, facts, blocker, [&] { return attempt(iov, n); }, [&] { return total(iov, n); });
}

// A blocking write: everything, or what was written before an error or a signal.
long write_any(int fd, const iovec* iov, int n) noexcept {
    const fd_facts::Facts facts = fd_facts::of(fd);
    Transfer attempt(fd, true, facts);
    Blocker blocker(fd, true, Restart::if_sa_restart, facts);
    const std::size_t want = total(iov, n);
    long r = cooperate(blocker, [&] { return attempt(iov, n); });
    if (r < 0 || static_cast<std::size_t>(r) == want) return r;
    std::vector<iovec> rest(iov, iov + n);
    std::size_t first = 0, done = static_cast<std::size_t>(r);
    advance(rest, first, done);
    while (done < want) {
        const int left = static_cast<int>(rest.size() - first);
        const long more = cooperate(blocker, [&] { return attempt(rest.data() + first, left); });
        if (more <= 0) break;
        done += static_cast<std::size_t>(more);
        advance(rest, first, static_cast<std::size_t>(more));
    }
    return static_cast<long>(done);
}

// recv / recvfrom, including MSG_WAITALL on stream sockets.
long receive(int fd, void* buf, size_t len, int flags, sockaddr* from, socklen_t* fromlen) noexcept {
    const fd_facts::Facts facts = fd_facts::of(fd);
    Blocker blocker(fd, false, Restart::if_sa_restart, facts);
    char* const base = static_cast<char*>(buf);
    size_t got = 0;
    auto attempt = [&] { return real::recvfrom(fd, base + got, len - got, flags | MSG_DONTWAIT, from, fromlen); };
    const long r = flags & MSG_PEEK ? cooperate(blocker, attempt)
                                    : read_stream(fd, facts, blocker, attempt, [&] { return len; });
    if (!(flags & MSG_WAITALL) || r <= 0 || static_cast<size_t>(r) == len) return r;
    got = static_cast<size_t>(r);
    while (got < len) {
        const long more = cooperate(blocker, attempt);
        if (more <= 0) break;  // end of stream, error or signal: what arrived so far
        got += static_cast<size_t>(more);
    }
    return static_cast<long>(got);
}

// send / sendto: everything a blocking send would deliver.
long send_all(int fd, const void* buf, size_t len, int flags, const sockaddr* to, socklen_t tolen) noexcept {
    Blocker blocker(fd, true, Restart::if_sa_restart);
    size_t sent = 0;
    do {
        const long r = cooperate(blocker, [&] {
            return real::sendto(fd, static_cast<const char*>(buf) + sent, len - sent, flags | MSG_DONTWAIT, to, tolen);
        });
        if (r < 0) return sent ? static_cast<long>(sent) : -1;
        sent += static_cast<size_t>(r);
    } while (sent < len);
    return static_cast<long>(sent);
}

long send_message(int fd, const msghdr* msg, int flags) noexcept {
    Blocker blocker(fd, true, Restart::if_sa_restart);
    const std::size_t want = total(msg->msg_iov, static_cast<int>(msg->msg_iovlen));
    long r = cooperate(blocker, [&] { return real::sendmsg(fd, msg, flags | MSG_DONTWAIT); });
    if (r < 0 || static_cast<std::size_t>(r) == want) return r;
    // The rest, without the ancillary data that went with the first bytes.
    std::vector<iovec> rest(msg->msg_iov, msg->msg_iov + msg->msg_iovlen);
    std::size_t first = 0, done = static_cast<std::size_t>(r);
    advance(rest, first, done);
    while (done < want) {
        msghdr more_msg{};
        more_msg.msg_iov = rest.data() + first;
        more_msg.msg_iovlen = rest.size() - first;
        const long more = cooperate(blocker, [&] { return real::sendmsg(fd, &more_msg, flags | MSG_DONTWAIT); });
        if (more <= 0) break;
        done += static_cast<std::size_t>(more);
        advance(rest, first, static_cast<std::size_t>(more));
    }
    return static_cast<long>(done);
}

bool wants_no_wait(int flags) { return flags & MSG_DONTWAIT; }

// Polls `in` for reading and `out` for writing without waiting: the Blocker of
// the side that is not ready, or null when both are (or poll failed: the call
// then reports the bad descriptor itself).
Blocker* side_not_ready(int in, int out, Blocker& reading, Blocker& writing) noexcept {
    pollfd ends[2] = {{in, POLLIN, 0}, {out, POLLOUT, 0}};
    if (real::poll(ends, 2, 0) < 0) return nullptr;
    return ends[0].revents == 0 ? &reading : ends[1].revents == 0 ? &writing : nullptr;
}

// splice and tee move data from one descriptor to another (at least one a pipe)
// and may wait on either side. `attempt(false)` makes the call without waiting
// (SPLICE_F_NONBLOCK covers the pipe side), so the kernel checks the arguments
// first; on EAGAIN the greenlet parks on the side that is not ready. If poll says
// both are ready and the call still would wait (a file whose pages are not
// cached), `attempt(true)` makes the plain call rather than spin. A terminal or
// other character device ignores SPLICE_F_NONBLOCK and would block the thread:
// with `devices`, readiness is checked before every attempt.
template <class Attempt>
long move_between(int in, int out, bool devices, Attempt&& attempt) noexcept {
    Blocker reading(in, false, Restart::if_sa_restart), writing(out, true, Restart::if_sa_restart);
    for (;;) {
        Blocker* not_ready = devices ? side_not_ready(in, out, reading, writing) : nullptr;
        if (!not_ready) {
            const long r = attempt(false);
            if (r >= 0 || errno != EAGAIN) return r;
            not_ready = side_not_ready(in, out, reading, writing);
            if (!not_ready) return attempt(true);
        }
        if (not_ready->wait() < 0) return -1;
    }
}

}  // namespace
}  // namespace shim

using shim::may_park;

GREEN_HOOK ssize_t read(int fd, void* buf, size_t n) {
    if (!may_park()) return shim::real::read(fd, buf, n);
    return shim::threads::cancellation_point([&]() noexcept -> ssize_t {
        const iovec v{buf, n};
        return shim::read_any(fd, &v, 1);
    });
}

GREEN_HOOK ssize_t __read_chk(int fd, void* buf, size_t n, size_t buflen) {
    if (n > buflen) __chk_fail();
    return read(fd, buf, n);
}

GREEN_HOOK ssize_t readv(int fd, const iovec* iov, int n) {
    if (!may_park()) return shim::real::readv(fd, iov, n);
    return shim::threads::cancellation_point([&]() noexcept -> ssize_t {
        return shim::read_any(fd, iov, n);
    });
}

GREEN_HOOK ssize_t write(int fd, const void* buf, size_t n) {
    if (!may_park()) return shim::real::write(fd, buf, n);
    return shim::threads::cancellation_point([&]() noexcept -> ssize_t {
        // write sends an empty datagram; writev and pwritev2 of nothing do not.
        if (n == 0 && shim::fd_facts::of(fd).kind == shim::fd_facts::Kind::socket)
            return shim::send_all(fd, buf, 0, 0, nullptr, 0);
        const iovec v{const_cast<void*>(buf), n};
        return shim::write_any(fd, &v, 1);
    });
}

GREEN_HOOK ssize_t writev(int fd, const iovec* iov, int n) {
    if (!may_park()) return shim::real::writev(fd, iov, n);
    return shim::threads::cancellation_point([&]() noexcept -> ssize_t {
        return shim::write_any(fd, iov, n);
    });
}

GREEN_HOOK ssize_t recv(int fd, void* buf, size_t n, int flags) {
    if (!may_park()) return shim::real::recvfrom(fd, buf, n, flags, nullptr, nullptr);
    if (shim::wants_no_wait(flags)) return shim::at_once([&] { return shim::real::recvfrom(fd, buf, n, flags, nullptr, nullptr); });
    return shim::threads::cancellation_point([&]() noexcept -> ssize_t {
        return shim::receive(fd, buf, n, flags, nullptr, nullptr);
    });
}

GREEN_HOOK ssize_t __recv_chk(int fd, void* buf, size_t n, size_t buflen, int flags) {
    if (n > buflen) __chk_fail();
    return recv(fd, buf, n, flags);
}

GREEN_HOOK ssize_t recvfrom(int fd, void* __restrict buf, size_t n, int flags, sockaddr* __restrict from,
                            socklen_t* __restrict fromlen) {
    if (!may_park()) return shim::real::recvfrom(fd, buf, n, flags, from, fromlen);
    if (shim::wants_no_wait(flags)) return shim::at_once([&] { return shim::real::recvfrom(fd, buf, n, flags, from, fromlen); });
    return shim::threads::cancellation_point([&]() noexcept -> ssize_t {
        return shim::receive(fd, buf, n, flags, from, fromlen);
    });
}

GREEN_HOOK ssize_t __recvfrom_chk(int fd, void* __restrict buf, size_t n, size_t buflen, int flags,
                                  sockaddr* __restrict from, socklen_t* __restrict fromlen) {
    if (n > buflen) __chk_fail();
    return recvfrom(fd, buf, n, flags, from, fromlen);
}

namespace shim {
namespace {

// Descriptors that came with a message (SCM_RIGHTS) may share their open file
// descriptions with any of this process's (fd_facts::received).
long note_descriptors(long r, const msghdr* m) noexcept {
    if (r < 0 || !m || !m->msg_control || m->msg_controllen < sizeof(cmsghdr)) return r;
    for (const cmsghdr* c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(const_cast<msghdr*>(m), const_cast<cmsghdr*>(c)))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            fd_facts::received(reinterpret_cast<const int*>(CMSG_DATA(c)), (c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    return r;
}

ssize_t receive_message(int fd, msghdr* msg, int flags) {
    if (!may_park()) return real::recvmsg(fd, msg, flags);
    if (wants_no_wait(flags)) return at_once([&] { return real::recvmsg(fd, msg, flags); });
    return threads::cancellation_point([&]() noexcept -> ssize_t {
        return cooperate(fd, false, Restart::if_sa_restart, [&] { return real::recvmsg(fd, msg, flags | MSG_DONTWAIT); });
    });
}

int receive_messages(int fd, mmsghdr* vec, unsigned int vlen, int flags, timespec* timeout) {
    if (!may_park() || vlen == 0) return real::recvmmsg(fd, vec, vlen, flags, timeout);
    if (wants_no_wait(flags)) return at_once([&] { return real::recvmmsg(fd, vec, vlen, flags, timeout); });
    return threads::cancellation_point([&]() noexcept -> int {
        // Blocks for the first datagram, then takes more until vlen (or, with
        // MSG_WAITFORONE, returns what is there); `timeout` bounds the whole call.
        const auto deadline = timeout ? Deadline::after(green::detail::to_seconds(*timeout)) : Deadline();
        unsigned int got = 0;
        Blocker blocker(fd, false, timeout ? Restart::never : Restart::if_sa_restart, deadline);
        for (;;) {
            const int r = real::recvmmsg(fd, vec + got, vlen - got, flags | MSG_DONTWAIT, nullptr);
            if (r > 0) got += static_cast<unsigned int>(r);
            if (r < 0 && errno != EAGAIN) return got ? static_cast<int>(got) : -1;
            if (got == vlen || (got > 0 && (flags & MSG_WAITFORONE)) || (timeout && deadline.remaining() == 0))
                return got ? static_cast<int>(got) : (r < 0 ? -1 : 0);
            if (blocker.wait() < 0) return got ? static_cast<int>(got) : -1;
        }
    });
}

}  // namespace
}  // namespace shim

GREEN_HOOK ssize_t recvmsg(int fd, msghdr* msg, int flags) {
    return shim::note_descriptors(shim::receive_message(fd, msg, flags), msg);
}

GREEN_HOOK int recvmmsg(int fd, mmsghdr* vec, unsigned int vlen, int flags, timespec* timeout) {
    const int r = shim::receive_messages(fd, vec, vlen, flags, timeout);
    for (int i = 0; i < r; ++i) shim::note_descriptors(0, &vec[i].msg_hdr);
    return r;
}

GREEN_HOOK ssize_t send(int fd, const void* buf, size_t n, int flags) {
    if (!may_park()) return shim::real::sendto(fd, buf, n, flags, nullptr, 0);
    if (shim::wants_no_wait(flags)) return shim::at_once([&] { return shim::real::sendto(fd, buf, n, flags, nullptr, 0); });
    return shim::threads::cancellation_point([&]() noexcept -> ssize_t {
        return shim::send_all(fd, buf, n, flags, nullptr, 0);
    });
}

GREEN_HOOK ssize_t sendto(int fd, const void* buf, size_t n, int flags, const sockaddr* to, socklen_t tolen) {
    if (!may_park()) return shim::real::sendto(fd, buf, n, flags, to, tolen);
    if (shim::wants_no_wait(flags)) return shim::at_once([&] { return shim::real::sendto(fd, buf, n, flags, to, tolen); });
    return shim::threads::cancellation_point([&]() noexcept -> ssize_t {
        return shim::send_all(fd, buf, n, flags, to, tolen);
    });
}

GREEN_HOOK ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
    if (!may_park()) return shim::real::sendmsg(fd, msg, flags);
    if (shim::wants_no_wait(flags)) return shim::at_once([&] { return shim::real::sendmsg(fd, msg, flags); });
    return shim::threads::cancellation_point([&]() noexcept -> ssize_t {
        return shim::send_message(fd, msg, flags);
    });
}

GREEN_HOOK int sendmmsg(int fd, mmsghdr* vec, unsigned int vlen, int flags) {
    if (!may_park() || vlen == 0) return shim::real::sendmmsg(fd, vec, vlen, flags);
    if (shim::wants_no_wait(flags)) return shim::at_once([&] { return shim::real::sendmmsg(fd, vec, vlen, flags); });
    return shim::threads::cancellation_point([&]() noexcept -> int {
        shim::Blocker blocker(fd, true, shim::Restart::if_sa_restart);
        unsigned int sent = 0;
        while (sent < vlen) {
            const long r = shim::cooperate(blocker, [&] {
                return shim::real::sendmmsg(fd, vec + sent, vlen - sent, flags | MSG_DONTWAIT);
            });
            if (r <= 0) return sent ? static_cast<int>(sent) : static_cast<int>(r);
            sent += static_cast<unsigned int>(r);
        }
        return static_cast<int>(sent);
    });
}

// sendfile takes no per-call flag. To a socket, the call runs with O_NONBLOCK set
// for its duration only (a socket is not shared with other processes the way a
// pipe is); to anything else, after a readiness check. A partial count is a
// normal result of a blocking sendfile too.
GREEN_HOOK ssize_t sendfile(int out, int in, off_t* offset, size_t count) {
    if (!may_park()) return shim::real::sendfile(out, in, offset, count);
    const mode_t type = shim::file_type(out);
    const int flags = shim::real::fcntl(out, F_GETFL, nullptr);
    if (type == 0 || type == S_IFREG || flags < 0 || (flags & O_NONBLOCK))
        return shim::real::sendfile(out, in, offset, count);
    return shim::cooperate(out, true, shim::Restart::if_sa_restart, [&]() -> long {
        auto call = [&] { return shim::real::sendfile(out, in, offset, count); };
        if (type == S_IFSOCK) return shim::with_nonblocking(out, call);
        pollfd p{out, POLLOUT, 0};
        if (shim::real::poll(&p, 1, 0) == 0) {
            errno = EAGAIN;
            return -1;
        }
        return call();
    });
}

// A socket side of a splice has no per-call flag: the one call runs with
// O_NONBLOCK set on it, as sendfile's does.
GREEN_HOOK ssize_t splice(int in, loff_t* in_offset, int out, loff_t* out_offset, size_t len, unsigned int flags) {
    if (!may_park() || (flags & SPLICE_F_NONBLOCK))
        return shim::real::splice(in, in_offset, out, out_offset, len, flags);
    const mode_t in_type = shim::file_type(in), out_type = shim::file_type(out);
    const int socket = in_type == S_IFSOCK ? in : out_type == S_IFSOCK ? out : -1;
    const bool devices = in_type == S_IFCHR || out_type == S_IFCHR;
    return shim::move_between(in, out, devices, [&](bool wait) {
        auto call = [&] {
            return shim::real::splice(in, in_offset, out, out_offset, len, wait ? flags : flags | SPLICE_F_NONBLOCK);
        };
        return wait || socket < 0 ? call() : shim::with_nonblocking(socket, call);
    });
}

// tee takes pipes only, so SPLICE_F_NONBLOCK makes it wait for nothing.
GREEN_HOOK ssize_t tee(int in, int out, size_t len, unsigned int flags) {
    if (!may_park() || (flags & SPLICE_F_NONBLOCK)) return shim::real::tee(in, out, len, flags);
    return shim::move_between(in, out, false, [&](bool wait) {
        return shim::real::tee(in, out, len, wait ? flags : flags | SPLICE_F_NONBLOCK);
    });
}

GREEN_HOOK ssize_t sendfile64(int out, int in, off64_t* offset, size_t count) {
    return sendfile(out, in, reinterpret_cast<off_t*>(offset), count);
}
