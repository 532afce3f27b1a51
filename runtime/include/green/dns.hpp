// Name resolution that parks only the calling greenlet (gevent's resolver_ares).
//
// Numeric hosts are answered directly, then the hosts file (/etc/hosts, or
// GREEN_HOSTS_FILE) is read, then DNS is asked through c-ares running in the
// hub's loop: no extra thread, and hundreds of lookups in flight share one
// channel per thread. Servers, timeout and tries come from /etc/resolv.conf
// unless GREEN_DNS_SERVERS / GREEN_DNS_TIMEOUT / GREEN_DNS_TRIES or the setters
// below say otherwise; its options (timeout, attempts, ndots, rotate), search
// list, RES_OPTIONS and LOCALDOMAIN count as glibc's do, and a query no server
// answers gives up after the time glibc takes. A changed resolv.conf is read
// again at the next lookup. Every call may switch and is interrupted by a kill
// or an expired Timeout; failures throw dns::Error carrying the EAI_* code.
#pragma once

#include <netdb.h>
#include <sys/socket.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "green/address.hpp"
#include "green/detail/config.hpp"
#include "green/detail/time.hpp"

namespace green::dns {

// A failed lookup: code() is the EAI_* value getaddrinfo(3) would return, and
// what() names the host with gai_strerror's text.
class GREEN_API Error : public std::runtime_error {
public:
    Error(int code, std::string_view name);
    int code() const noexcept { return code_; }

private:
    int code_;
};

// The inputs of getaddrinfo(3): AF_*, SOCK_*, IPPROTO_* and AI_* flags.
struct Hints {
    int family = AF_UNSPEC;
    int socktype = 0;
    int protocol = 0;
    int flags = 0;
};

struct AddrInfo {
    int family;
    int socktype;
    int protocol;
    Address address;
    std::string canonname;  // with AI_CANONNAME, on the first entry
};

// getaddrinfo(3): the addresses of `host` (empty: the wildcard with AI_PASSIVE,
// else loopback) for `service` (a port number or a name from /etc/services), in
// glibc's order, with glibc's EAI_* codes. A host or service with a NUL byte
// in it throws std::invalid_argument.
GREEN_API std::vector<AddrInfo> getaddrinfo(std::string_view host, std::string_view service = {},
                                            const Hints& hints = {});

struct NameInfo {
    std::string host;
    std::string service;
};

// getnameinfo(3): the host name (hosts file, then a PTR query) and service name
// of `address`, honouring NI_NUMERICHOST, NI_NUMERICSERV, NI_NAMEREQD, NI_DGRAM
// and NI_NOFQDN.
GREEN_API NameInfo getnameinfo(const Address& address, int flags = 0);

struct HostEntry {
    std::string name;                  // canonical name
    std::vector<std::string> aliases;  // hosts-file aliases, or the CNAME chain
    int family = AF_INET;
    std::vector<Address> addresses;    // port 0
    bool from_hosts_file = false;
};

// gethostbyname(3) / gethostbyname2(3). A numeric name is its own answer, as
// in glibc: "1.2.3" is 1.2.0.3 for AF_INET and not found for AF_INET6. A name
// with a NUL byte in it throws std::invalid_argument.
GREEN_API HostEntry gethostbyname(std::string_view name, int family = AF_INET);
// gethostbyaddr(3): the canonical name of `address`.
GREEN_API HostEntry gethostbyaddr(const Address& address);

// Use these DNS servers ("127.0.0.1:5353,[::1]:53"; port 53 if omitted) instead
// of resolv.conf's; an empty list restores resolv.conf. Throws
// std::invalid_argument for a malformed list. Affects every thread.
GREEN_API void set_servers(std::string_view servers);

namespace detail {
GREEN_API void set_timeout_ms(long ms);
}
// Time allowed per try and server before the next (resolv.conf's timeout; it
// does not grow from one round over the servers to the next, as in glibc).
template <class Rep, class Period>
void set_timeout(std::chrono::duration<Rep, Period> timeout) {
    const double s = green::detail::to_seconds(timeout);
    if (s < 0.001 || s > 3600) throw std::invalid_argument("green::dns: timeout must be between 1 ms and 1 hour");
    detail::set_timeout_ms(static_cast<long>(s * 1000));
}
// How many rounds over the servers a query gets (resolv.conf's attempts); 1 to 16.
GREEN_API void set_tries(int tries);

}  // namespace green::dns
