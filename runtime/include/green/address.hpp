// Address: a socket address (IPv4, IPv6 or unix path) that parses and formats
// "host:port", "[v6]:port" and "unix:/path", and converts to and from sockaddr.
// Hosts are numeric here; names go through green::dns first.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "green/detail/config.hpp"

namespace green {

class GREEN_API Address {
public:
    Address() noexcept;  // empty (AF_UNSPEC)
    // Copies a sockaddr; throws std::invalid_argument for a length it cannot hold.
    Address(const sockaddr* sa, socklen_t len);

    // "1.2.3.4:80", "[::1]:80", "[fe80::1%lo]:80", "unix:/run/x.sock" (a bare
    // path starting with '/' too). Throws std::invalid_argument, naming the text,
    // for anything else (a host name, a bad port, an unterminated bracket, a
    // NUL byte anywhere: never cut there). ip() and unix_path() refuse NUL too.
    static Address parse(std::string_view text);
    // A numeric IPv4 or IPv6 host (no brackets) and a port.
    static Address ip(std::string_view host, std::uint16_t port);
    // An AF_INET or AF_INET6 address from its raw bytes (the 4 of an in_addr or
    // the 16 of an in6_addr at `bytes`, network order) and a port. Throws
    // std::invalid_argument for another family.
    static Address from_bytes(int family, const void* bytes, std::uint16_t port = 0);
    static Address unix_path(std::string_view path);

    int family() const noexcept;
    std::uint16_t port() const noexcept;  // 0 for unix addresses
    std::string host() const;             // numeric IP (v6 without brackets) or the path
    std::string to_string() const;        // the form parse() accepts
    bool empty() const noexcept { return size_ == 0; }

    const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
    sockaddr* data() noexcept { return reinterpret_cast<sockaddr*>(&storage_); }
    socklen_t size() const noexcept { return size_; }
    static constexpr socklen_t capacity() noexcept { return sizeof(sockaddr_storage); }
    // After the kernel filled data() (accept, recvfrom, getsockname).
    void set_size(socklen_t size);

    friend bool operator==(const Address& a, const Address& b) noexcept {
        return a.size_ == b.size_ && __builtin_memcmp(&a.storage_, &b.storage_, a.size_) == 0;
    }

private:
    sockaddr_storage storage_;
    socklen_t size_ = 0;
};

}  // namespace green
