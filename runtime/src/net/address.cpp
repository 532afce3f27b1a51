#include "green/address.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>
#include <stdexcept>

namespace green {
namespace {

[[noreturn]] void bad(std::string_view text, const char* why) {
    std::string shown;
    for (char c : text) c ? shown += c : shown += "\\0";
    throw std::invalid_argument("green: bad address '" + shown + "': " + why);
}

// inet_pton, if_nametoindex and the kernel (for a unix path) would stop at a
// NUL byte and take what comes before it: refuse it instead.
void refuse_nul(std::string_view text) {
    if (text.find('\0') != std::string_view::npos) bad(text, "it contains a NUL byte");
}

std::uint16_t parse_port(std::string_view text, std::string_view whole) {
    if (text.empty() || text.size() > 5) bad(whole, "the port must be a number from 0 to 65535");
    unsigned value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') bad(whole, "the port must be a number from 0 to 65535");
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > 65535) bad(whole, "the port must be a number from 0 to 65535");
    return static_cast<std::uint16_t>(value);
}

// Fills `a` from a numeric host; false if it is not one.
bool set_ip(Address& a, std::string_view host, std::uint16_t port) {
    const std::string h(host);
    if (h.find(':') == std::string::npos) {
        in_addr in{};
        if (inet_pton(AF_INET, h.c_str(), &in) != 1) return false;
        a = Address::from_bytes(AF_INET, &in, port);
        return true;
    }
    std::string addr = h, scope;
    if (auto pct = h.find('%'); pct != std::string::npos) {
        addr = h.substr(0, pct);
        scope = h.substr(pct + 1);
        if (scope.empty()) return false;
    }
    in6_addr in6{};
    if (inet_pton(AF_INET6, addr.c_str(), &in6) != 1) return false;
    std::uint32_t scope_id = 0;
    if (!scope.empty()) {
        scope_id = if_nametoindex(scope.c_str());
        if (scope_id == 0) {
            char* end = nullptr;
            const unsigned long id = std::strtoul(scope.c_str(), &end, 10);
            if (*end || id == 0 || id > 0xffffffffUL) return false;
            scope_id = static_cast<std::uint32_t>(id);
        }
    }
    a = Address::from_bytes(AF_INET6, &in6, port);
    reinterpret_cast<sockaddr_in6*>(a.data())->sin6_scope_id = scope_id;
    return true;
}

}  // namespace

Address::Address() noexcept { std::memset(&storage_, 0, sizeof storage_); }

Address::Address(const sockaddr* sa, socklen_t len) : Address() {
    if (len > sizeof storage_) throw std::invalid_argument("green: socket address longer than sockaddr_storage");
    std::memcpy(&storage_, sa, len);
    size_ = len;
}

void Address::set_size(socklen_t size) {
    if (size > sizeof storage_) throw std::invalid_argument("green: socket address longer than sockaddr_storage");
    size_ = size;
}

Address Address::ip(std::string_view host, std::uint16_t port) {
    refuse_nul(host);
    Address a;
    if (!set_ip(a, host, port)) bad(host, "not a numeric IPv4 or IPv6 host");
    return a;
}

Address Address::from_bytes(int family, const void* bytes, std::uint16_t port) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (family == AF_INET) {
        auto* in = reinterpret_cast<sockaddr_in*>(&ss);
        in->sin_port = htons(port);
        std::memcpy(&in->sin_addr, bytes, sizeof in->sin_addr);
        len = sizeof *in;
    } else if (family == AF_INET6) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
        in6->sin6_port = htons(port);
        std::memcpy(&in6->sin6_addr, bytes, sizeof in6->sin6_addr);
        len = sizeof *in6;
    } else {
        throw std::invalid_argument("green: Address::from_bytes takes AF_INET or AF_INET6, not family " +
                                    std::to_string(family));
    }
    ss.ss_family = static_cast<sa_family_t>(family);
    return Address(reinterpret_cast<sockaddr*>(&ss), len);
}

Address Address::unix_path(std::string_view path) {
    refuse_nul(path);
    sockaddr_un un{};
    if (path.empty() || path.size() >= sizeof un.sun_path) bad(path, "a unix socket path must be 1 to 107 bytes");
    un.sun_family = AF_UNIX;
    std::memcpy(un.sun_path, path.data(), path.size());
    return Address(reinterpret_cast<sockaddr*>(&un),
                   static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1));
}

Address Address::parse(std::string_view text) {
    refuse_nul(text);
    if (text.starts_with("unix:")) return unix_path(text.substr(5));
    if (text.starts_with("/")) return unix_path(text);
    std::string_view host, port;
    if (text.starts_with("[")) {
        const auto close = text.find(']');
        if (close == std::string_view::npos) bad(text, "missing ']' after an IPv6 host");
        host = text.substr(1, close - 1);
        if (close + 1 >= text.size() || text[close + 1] != ':') bad(text, "expected ':port' after ']'");
        port = text.substr(close + 2);
        if (host.find(':') == std::string_view::npos) bad(text, "brackets are for IPv6 hosts");
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) bad(text, "expected host:port");
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) bad(text, "an IPv6 host needs brackets: [v6]:port");
    }
    Address a;
    if (!set_ip(a, host, parse_port(port, text)))
        bad(text, "the host must be a numeric IP (resolve names with green::dns)");
    return a;
}

int Address::family() const noexcept { return size_ ? storage_.ss_family : AF_UNSPEC; }

std::uint16_t Address::port() const noexcept {
    switch (family()) {
    case AF_INET: return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    case AF_INET6: return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    default: return 0;
    }
}

std::string Address::host() const {
    char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = {};
    switch (family()) {
    case AF_INET:
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof buf);
        return buf;
    case AF_INET6: {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
        inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
        std::string out = buf;
        if (in6->sin6_scope_id) {
            char name[IF_NAMESIZE] = {};
            out += '%';
            out += if_indextoname(in6->sin6_scope_id, name) ? std::string(name) : std::to_string(in6->sin6_scope_id);
        }
        return out;
    }
    case AF_UNIX: {
        const auto* un = reinterpret_cast<const sockaddr_un*>(&storage_);
        const std::size_t max = size_ > offsetof(sockaddr_un, sun_path) ? size_ - offsetof(sockaddr_un, sun_path) : 0;
        return std::string(un->sun_path, strnlen(un->sun_path, max));
    }
    default: return "";
    }
}

std::string Address::to_string() const {
    switch (family()) {
    case AF_INET: return host() + ":" + std::to_string(port());
    case AF_INET6: {
        std::string out(1, '[');  // built up in steps: GCC 12 warns falsely on "[" + string
        out += host();
        out += "]:";
        out += std::to_string(port());
        return out;
    }
    case AF_UNIX: return "unix:" + host();
    default: return "(no address)";
    }
}

}  // namespace green
