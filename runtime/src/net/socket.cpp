#include "green/socket.hpp"

#include <fcntl.h>

#include <cerrno>
#include <system_error>
#include <optional>
#include <utility>
#include <vector>

#include "base/sys.hpp"
#include "green/dns.hpp"
#include "green/errors.hpp"
#include "green/io.hpp"
#include "green/timeout.hpp"
#include "net/io_retry.hpp"

namespace green {
namespace {

[[noreturn]] void fail(const char* op, int err = errno) {
    if (err == ETIMEDOUT) throw TimeoutError();
    detail::throw_errno(err, std::string("green::Socket::") + op);
}

// The local or peer address of `fd`, as getsockname or getpeername reports it.
Address address_of(int fd, int (*get)(int, sockaddr*, socklen_t*) noexcept, const char* op) {
    Address a;
    socklen_t len = Address::capacity();
    if (get(fd, a.data(), &len) != 0) fail(op);
    a.set_size(len);
    return a;
}

void make_nonblocking(int fd) {
    const int flags = detail::sys::fcntl(fd, F_GETFL);
    if (flags < 0 || detail::sys::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) fail("adopt");
}

}  // namespace

Socket::Socket(int family, int type, int protocol) {
    fd_ = detail::sys::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd_ < 0) fail("socket");
}

Socket Socket::adopt(int fd) {
    if (fd < 0) fail("adopt", EBADF);
    make_nonblocking(fd);
    return Socket(fd);
}

Socket::~Socket() {
    if (fd_ >= 0) {
        try {
            close();
        } catch (...) {  // a destructor reports nothing; the descriptor is gone anyway
        }
    }
}

Socket::Socket(Socket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), timeout_(other.timeout_), drained_(other.drained_) {}

Socket& Socket::operator=(Socket&& other) noexcept {
    if (this != &other) {
        Socket old(std::move(*this));
        fd_ = std::exchange(other.fd_, -1);
        timeout_ = other.timeout_;
        drained_ = other.drained_;
    }
    return *this;
}

int Socket::release() noexcept { return std::exchange(fd_, -1); }

int Socket::checked_fd(const char* op) const {
    if (fd_ < 0) fail(op, EBADF);
    return fd_;
}

void Socket::connect(const Address& to) { connect_for(to, timeout_); }

void Socket::connect_for(const Address& to, double timeout) {
    const int fd = checked_fd("connect");
    const auto deadline = detail::Deadline::after(timeout);
    if (detail::sys::connect(fd, to.data(), to.size()) == 0) return;
    if (errno != EINPROGRESS && errno != EINTR) fail("connect");
    // The handshake runs in the kernel; writability says it ended, SO_ERROR how.
    if (deadline.never_wait()) fail("connect", EINPROGRESS);
    const double left = deadline.remaining();
    if (left == 0 || !detail::Hub::current().fds().wait(fd, detail::Interest::write, left, "Socket::connect"))
        throw TimeoutError();
    int err = 0;
    socklen_t len = sizeof err;
    if (detail::sys::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) fail("connect");
    if (err != 0) fail("connect", err);
}

void Socket::bind(const Address& local) {
    if (detail::sys::bind(checked_fd("bind"), local.data(), local.size()) != 0) fail("bind");
}

void Socket::listen(int backlog) {
    if (detail::sys::listen(checked_fd("listen"), backlog) != 0) fail("listen");
}

Socket Socket::accept(Address* peer) {
    const int fd = checked_fd("accept");
    Address from;
    socklen_t len = Address::capacity();
    const long r = detail::retry_io(fd, detail::Interest::read, detail::Deadline::after(timeout_), "Socket::accept",
                                    [&] { return detail::sys::accept4(fd, from.data(), &len, SOCK_NONBLOCK | SOCK_CLOEXEC); });
    if (r < 0) fail("accept");
    if (peer) {
        from.set_size(len);
        *peer = from;
    }
    return Socket(static_cast<int>(r));
}

std::size_t Socket::recv_into(void* buf, std::size_t len, int flags) {
    const int fd = checked_fd("recv");
    const auto deadline = detail::Deadline::after(timeout_);
    // After a short read the buffer was empty, so in request/response traffic a
    // read attempted now is an EAGAIN for sure: wait for readiness first, as an
    // epoll loop does. (Only for plain reads that may wait.)
    if (drained_ && flags == 0 && !deadline.never_wait()) {
        const double left = deadline.remaining();
        if (left == 0 || !detail::Hub::current().fds().wait(fd, detail::Interest::read, left, "Socket::recv"))
            throw TimeoutError();
    }
    const long r = detail::retry_io(fd, detail::Interest::read, deadline, "Socket::recv",
                                    [&] { return detail::sys::recvfrom(fd, buf, len, flags, nullptr, nullptr); });
    if (r < 0) fail("recv");
    drained_ = r > 0 && static_cast<std::size_t>(r) < len;
    return static_cast<std::size_t>(r);
}

std::string Socket::recv(std::size_t max) {
    std::string out(max, '\0');
    out.resize(recv_into(out.data(), max));
    return out;
}

std::size_t Socket::send(const void* buf, std::size_t len, int flags) {
    const int fd = checked_fd("send");
    const long r = detail::retry_io(fd, detail::Interest::write, detail::Deadline::after(timeout_), "Socket::send", [&] {
        return detail::sys::sendto(fd, buf, len, flags | MSG_NOSIGNAL, nullptr, 0);
    });
    if (r < 0) fail("send");
    return static_cast<std::size_t>(r);
}

void Socket::sendall(const void* buf, std::size_t len) {
    const int fd = checked_fd("sendall");
    const auto deadline = detail::Deadline::after(timeout_);
    const char* p = static_cast<const char*>(buf);
    while (len > 0) {
        const long r = detail::retry_io(fd, detail::Interest::write, deadline, "Socket::sendall",
                                        [&] { return detail::sys::sendto(fd, p, len, MSG_NOSIGNAL, nullptr, 0); });
        if (r < 0) fail("sendall");
        p += r;
        len -= static_cast<std::size_t>(r);
    }
}

std::size_t Socket::recvfrom(void* buf, std::size_t len, Address& from) {
    const int fd = checked_fd("recvfrom");
    socklen_t alen = Address::capacity();
    const long r = detail::retry_io(fd, detail::Interest::read, detail::Deadline::after(timeout_), "Socket::recvfrom",
                                    [&] { return detail::sys::recvfrom(fd, buf, len, 0, from.data(), &alen); });
    if (r < 0) fail("recvfrom");
    from.set_size(alen);
    return static_cast<std::size_t>(r);
}

std::size_t Socket::sendto(const void* buf, std::size_t len, const Address& to) {
    const int fd = checked_fd("sendto");
    const long r = detail::retry_io(fd, detail::Interest::write, detail::Deadline::after(timeout_), "Socket::sendto",
                                    [&] { return detail::sys::sendto(fd, buf, len, MSG_NOSIGNAL, to.data(), to.size()); });
    if (r < 0) fail("sendto");
    return static_cast<std::size_t>(r);
}

void Socket::shutdown(int how) {
    if (detail::sys::shutdown(checked_fd("shutdown"), how) != 0) fail("shutdown");
}

void Socket::close() {
    if (fd_ < 0) return;
    green::close(std::exchange(fd_, -1));
}

Address Socket::local_address() const {
    return address_of(checked_fd("local_address"), detail::sys::getsockname, "local_address");
}
Address Socket::peer_address() const {
    return address_of(checked_fd("peer_address"), detail::sys::getpeername, "peer_address");
}

void Socket::set_option(int level, int name, int value) {
    if (detail::sys::setsockopt(checked_fd("set_option"), level, name, &value, sizeof value) != 0) fail("set_option");
}

int Socket::get_option(int level, int name) const {
    int value = 0;
    socklen_t len = sizeof value;
    if (detail::sys::getsockopt(checked_fd("get_option"), level, name, &value, &len) != 0) fail("get_option");
    return value;
}

Socket detail::create_connection(const std::string& host, std::uint16_t port, double timeout) {
    const auto deadline = Deadline::after(timeout);
    dns::Hints hints;
    hints.socktype = SOCK_STREAM;
    std::vector<dns::AddrInfo> candidates;
    {
        // The lookup counts against the same timeout as the connects.
        std::optional<Timeout> limit;
        if (timeout != kForever) limit.emplace(std::chrono::duration<double>(deadline.remaining()));
        candidates = dns::getaddrinfo(host, std::to_string(port), hints);
    }
    std::exception_ptr last;
    for (const dns::AddrInfo& ai : candidates) {
        try {
            Socket s(ai.family, ai.socktype, ai.protocol);
            s.connect_for(ai.address, deadline.remaining());
            return s;
        } catch (const TimeoutError&) {
            throw;  // the whole budget is spent
        } catch (const std::system_error&) {
            last = std::current_exception();
        }
    }
    if (!last) throw dns::Error(EAI_NONAME, host);
    std::rethrow_exception(last);
}

}  // namespace green
