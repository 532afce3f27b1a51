// Socket: a cooperative socket (gevent.socket). Every blocking call parks only
// the calling greenlet. RAII and move-only; the descriptor is non-blocking and
// close-on-exec. TCP and UDP over IPv4 and IPv6, and unix sockets.
//
// Errors are std::system_error carrying the errno; running out of time throws
// TimeoutError. Each blocking call may switch, is interrupted by a kill or an
// expired Timeout, and must not be called from the hub. If another greenlet
// closes the socket meanwhile, the waiting call throws std::system_error(EBADF).
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "green/address.hpp"
#include "green/detail/config.hpp"
#include "green/detail/time.hpp"

namespace green {

class Socket;
namespace detail {
GREEN_API Socket create_connection(const std::string& host, std::uint16_t port, double timeout);
}

class GREEN_API Socket {
public:
    Socket() noexcept = default;  // holds no descriptor
    // socket(2) with SOCK_NONBLOCK | SOCK_CLOEXEC added to `type`.
    Socket(int family, int type, int protocol = 0);
    // Takes ownership of `fd` and makes it non-blocking.
    static Socket adopt(int fd);
    ~Socket();
    Socket(Socket&& other) noexcept;
    Socket& operator=(Socket&& other) noexcept;
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;

    int fd() const noexcept { return fd_; }
    bool is_open() const noexcept { return fd_ >= 0; }
    // Gives up ownership of the descriptor (still non-blocking) and returns it.
    int release() noexcept;

    // The default timeout of every blocking call (socket.settimeout): forever
    // unless set; zero makes calls fail with EAGAIN instead of waiting.
    template <class Rep, class Period>
    void set_timeout(std::chrono::duration<Rep, Period> timeout) {
        timeout_ = detail::to_seconds(timeout);
    }
    // Seconds, or infinity for no timeout.
    double timeout() const noexcept { return timeout_; }

    // Connects, waiting up to the socket's timeout (or `timeout`).
    void connect(const Address& to);
    template <class Rep, class Period>
    void connect(const Address& to, std::chrono::duration<Rep, Period> timeout) {
        connect_for(to, detail::to_seconds(timeout));
    }
    void bind(const Address& local);
    void listen(int backlog = SOMAXCONN);
    // Waits for a connection; the new socket inherits no timeout. Fills `peer` if given.
    Socket accept(Address* peer = nullptr);

    // Up to `max` bytes; an empty string means the peer closed its side.
    std::string recv(std::size_t max);
    // Reads into `buf`; returns the count, 0 at end of stream.
    std::size_t recv_into(void* buf, std::size_t len, int flags = 0);
    // Sends some of the bytes (at least one); returns how many.
    std::size_t send(const void* buf, std::size_t len, int flags = 0);
    std::size_t send(std::string_view data) { return send(data.data(), data.size()); }
    // Sends everything; the timeout bounds the whole call.
    void sendall(const void* buf, std::size_t len);
    void sendall(std::string_view data) { sendall(data.data(), data.size()); }
    // Datagrams.
    std::size_t recvfrom(void* buf, std::size_t len, Address& from);
    std::size_t sendto(const void* buf, std::size_t len, const Address& to);

    void shutdown(int how);
    // Closes it, waking every greenlet that waits on it with EBADF; idempotent.
    void close();

    Address local_address() const;
    Address peer_address() const;

    void set_option(int level, int name, int value);
    int get_option(int level, int name) const;

private:
    friend Socket detail::create_connection(const std::string&, std::uint16_t, double);
    explicit Socket(int fd) noexcept : fd_(fd) {}
    int checked_fd(const char* op) const;
    void connect_for(const Address& to, double timeout);

    int fd_ = -1;
    double timeout_ = detail::kForever;
    bool drained_ = false;  // the last read came back short: the kernel buffer was empty after it
};

// Resolves `host` (through green::dns unless numeric) and connects to each of its
// addresses in turn until one accepts, all within `timeout`. Throws the last
// connection error, a dns::Error when the name does not resolve, or TimeoutError.
inline Socket create_connection(const std::string& host, std::uint16_t port) {
    return detail::create_connection(host, port, detail::kForever);
}
template <class Rep, class Period>
Socket create_connection(const std::string& host, std::uint16_t port, std::chrono::duration<Rep, Period> timeout) {
    return detail::create_connection(host, port, detail::to_seconds(timeout));
}

}  // namespace green
