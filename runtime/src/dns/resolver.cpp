// green::dns: numeric hosts, the hosts file, then DNS (dns_channel.hpp), with the
// service, socket-type and error handling of glibc's getaddrinfo.
#include "green/dns.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>

#include "detail/dns_channel.hpp"
#include "detail/env.hpp"
#include "detail/hosts_file.hpp"
#include "detail/hub.hpp"

namespace green::dns {
namespace {

constexpr int kKnownFlags =
    AI_PASSIVE | AI_CANONNAME | AI_NUMERICHOST | AI_NUMERICSERV | AI_V4MAPPED | AI_ALL | AI_ADDRCONFIG | AI_IDN;

std::string servers_csv(std::string_view servers);

// GREEN_DNS_SERVERS / _TIMEOUT / _TRIES, applied once per process before the
// first lookup or the first explicit setting (which then overrides them).
void apply_environment() {
    static std::once_flag once;
    std::call_once(once, [] {
        green::detail::DnsSettings s = green::detail::dns_settings();
        if (const char* v = std::getenv("GREEN_DNS_SERVERS"); v && *v) {
            try {
                s.servers = servers_csv(v);
            } catch (const std::invalid_argument& e) {
                std::fprintf(stderr, "green: ignoring GREEN_DNS_SERVERS: %s\n", e.what());
            }
        }
        if (const char* v = std::getenv("GREEN_DNS_TIMEOUT"); v && *v) {
            char* end = nullptr;
            const double seconds = std::strtod(v, &end);
            if (*end || !(seconds >= 0.001 && seconds <= 3600))
                std::fprintf(stderr, "green: ignoring GREEN_DNS_TIMEOUT='%s': not seconds between 0.001 and 3600\n", v);
            else
                s.timeout_ms = static_cast<int>(seconds * 1000);
        }
        if (auto tries = green::detail::env_long("GREEN_DNS_TRIES")) s.tries = static_cast<int>(*tries);
        green::detail::set_dns_settings(s);
    });
}

green::detail::DnsChannel& channel() { return green::detail::thread_dns_channel(); }

// A (socktype, protocol) pair getaddrinfo returns for each address.
struct Kind {
    int socktype;
    int protocol;
};

bool numeric(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

// The port of `service` for `kind`, or nullopt if that protocol lacks the service.
std::optional<std::uint16_t> port_for(std::string_view service, const Kind& kind) {
    if (service.empty()) return 0;
    if (numeric(service)) {
        const unsigned long v = std::strtoul(std::string(service).c_str(), nullptr, 10);
        if (v > 65535) return std::nullopt;
        return static_cast<std::uint16_t>(v);
    }
    const char* proto = kind.socktype == SOCK_DGRAM ? "udp" : kind.socktype == SOCK_STREAM ? "tcp" : nullptr;
    if (!proto) return std::nullopt;
    servent se{}, *found = nullptr;
    char buf[1024];
    if (getservbyname_r(std::string(service).c_str(), proto, &se, buf, sizeof buf, &found) != 0 || !found)
        return std::nullopt;
    return ntohs(static_cast<std::uint16_t>(found->s_port));
}

Address with_port(const Address& a, std::uint16_t port) {
    Address out = a;
    if (out.family() == AF_INET) reinterpret_cast<sockaddr_in*>(out.data())->sin_port = htons(port);
    if (out.family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(out.data())->sin6_port = htons(port);
    return out;
}

Address v4_mapped(const Address& v4) {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_addr.s6_addr[10] = in6.sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(&in6.sin6_addr.s6_addr[12], &reinterpret_cast<const sockaddr_in*>(v4.data())->sin_addr, 4);
    return Address(reinterpret_cast<sockaddr*>(&in6), sizeof in6);
}

// Addresses of `host` for `family` with their canonical name; throws Error.
struct Found {
    std::vector<Address> addresses;
    std::string canonical;
    std::vector<std::string> aliases;
};

Found find_addresses(std::string_view host, int family) {
    if (auto hit = green::detail::hosts_lookup(host, family); !hit.addresses.empty())
        return {std::move(hit.addresses), std::move(hit.canonical), std::move(hit.aliases)};
    green::detail::DnsAnswer a = channel().lookup(std::string(host), family);
    if (a.status != 0) throw Error(a.status, host);
    if (a.addresses.empty()) throw Error(EAI_NODATA, host);
    return {std::move(a.addresses), std::move(a.canonical), {}};
}

std::optional<Address> numeric_address(std::string_view host) {
    try {
        return Address::ip(host, 0);
    } catch (const std::invalid_argument&) {
        return std::nullopt;
    }
}

}  // namespace

Error::Error(int code, std::string_view name)
    : std::runtime_error("green::dns: " + std::string(name) + ": " + gai_strerror(code)), code_(code) {}

std::vector<AddrInfo> getaddrinfo(std::string_view host, std::string_view service, const Hints& hints) {
    if (hints.family != AF_UNSPEC && hints.family != AF_INET && hints.family != AF_INET6) throw Error(EAI_FAMILY, host);
    if (hints.flags & ~kKnownFlags) throw Error(EAI_BADFLAGS, host);
    if ((hints.flags & AI_CANONNAME) && host.empty()) throw Error(EAI_BADFLAGS, host);
    if (host.empty() && service.empty()) throw Error(EAI_NONAME, host);
    if ((hints.flags & AI_NUMERICSERV) && !service.empty() && !numeric(service)) throw Error(EAI_NONAME, service);

    std::vector<Kind> kinds;
    for (Kind k : {Kind{SOCK_STREAM, IPPROTO_TCP}, Kind{SOCK_DGRAM, IPPROTO_UDP}, Kind{SOCK_RAW, 0}}) {
        if (hints.socktype && hints.socktype != k.socktype) continue;
        if (hints.protocol && k.socktype != SOCK_RAW && hints.protocol != k.protocol) continue;
        kinds.push_back(k);
    }
    if (kinds.empty()) throw Error(hints.socktype && hints.socktype != SOCK_STREAM && hints.socktype != SOCK_DGRAM &&
                                           hints.socktype != SOCK_RAW
                                       ? EAI_SOCKTYPE
                                       : EAI_SERVICE,
                                   host);
    std::vector<std::pair<Kind, std::uint16_t>> ports;
    for (const Kind& k : kinds) {
        if (k.socktype == SOCK_RAW && !service.empty()) continue;
        if (auto p = port_for(service, k)) ports.emplace_back(Kind{k.socktype, hints.protocol ? hints.protocol : k.protocol}, *p);
    }
    if (ports.empty()) throw Error(EAI_SERVICE, service);

    Found found;
    if (host.empty()) {
        const bool passive = hints.flags & AI_PASSIVE;
        if (hints.family != AF_INET) found.addresses.push_back(Address::ip(passive ? "::" : "::1", 0));
        if (hints.family != AF_INET6) found.addresses.push_back(Address::ip(passive ? "0.0.0.0" : "127.0.0.1", 0));
    } else if (auto n = numeric_address(host)) {
        if (hints.family == AF_INET6 && n->family() == AF_INET && (hints.flags & AI_V4MAPPED))
            n = v4_mapped(*n);
        else if (hints.family != AF_UNSPEC && n->family() != hints.family)
            throw Error(EAI_ADDRFAMILY, host);
        found.addresses.push_back(*n);
        found.canonical = std::string(host);
    } else if (hints.flags & AI_NUMERICHOST) {
        throw Error(EAI_NONAME, host);
    } else if (hints.family == AF_INET6 && (hints.flags & AI_V4MAPPED)) {
        // IPv6 if there is any (all of both with AI_ALL), else mapped IPv4.
        std::optional<Found> v6;
        try {
            v6 = find_addresses(host, AF_INET6);
        } catch (const Error&) {
        }
        if (v6 && !(hints.flags & AI_ALL)) {
            found = std::move(*v6);
        } else {
            Found v4 = find_addresses(host, AF_INET);
            found.canonical = v4.canonical;
            if (v6) found.addresses = std::move(v6->addresses);
            for (const Address& a : v4.addresses) found.addresses.push_back(v4_mapped(a));
        }
    } else {
        found = find_addresses(host, hints.family);
    }

    std::vector<AddrInfo> out;
    out.reserve(found.addresses.size() * ports.size());
    for (const Address& a : found.addresses)
        for (const auto& [kind, port] : ports)
            out.push_back(AddrInfo{a.family(), kind.socktype, kind.protocol, with_port(a, port), {}});
    if ((hints.flags & AI_CANONNAME) && !out.empty())
        out.front().canonname = found.canonical.empty() ? std::string(host) : found.canonical;
    return out;
}

NameInfo getnameinfo(const Address& address, int flags) {
    if (address.family() != AF_INET && address.family() != AF_INET6) throw Error(EAI_FAMILY, address.to_string());
    NameInfo out;
    const std::string numeric_host = address.host();
    if (flags & NI_NUMERICHOST) {
        out.host = numeric_host;
    } else {
        out.host = green::detail::hosts_reverse(address);
        if (out.host.empty()) {
            green::detail::DnsAnswer a = channel().reverse(address);
            if (a.status == 0) out.host = a.canonical;
            else if (a.status != EAI_NONAME && a.status != EAI_NODATA && (flags & NI_NAMEREQD)) throw Error(a.status, numeric_host);
        }
        if (out.host.empty()) {
            if (flags & NI_NAMEREQD) throw Error(EAI_NONAME, numeric_host);
            out.host = numeric_host;
        } else if (flags & NI_NOFQDN) {
            if (auto dot = out.host.find('.'); dot != std::string::npos) out.host.resize(dot);
        }
    }
    const std::uint16_t port = address.port();
    out.service = std::to_string(port);
    if (!(flags & NI_NUMERICSERV)) {
        servent se{}, *found = nullptr;
        char buf[1024];
        if (getservbyport_r(htons(port), (flags & NI_DGRAM) ? "udp" : "tcp", &se, buf, sizeof buf, &found) == 0 && found)
            out.service = found->s_name;
    }
    return out;
}

HostEntry gethostbyname(std::string_view name, int family) {
    if (family != AF_INET && family != AF_INET6) throw Error(EAI_FAMILY, name);
    HostEntry e;
    e.family = family;
    if (auto n = numeric_address(name)) {
        if (n->family() != family) throw Error(EAI_ADDRFAMILY, name);
        e.name = std::string(name);
        e.addresses.push_back(*n);
        return e;
    }
    Found f = find_addresses(name, family);
    e.name = f.canonical.empty() ? std::string(name) : f.canonical;
    e.aliases = std::move(f.aliases);
    e.addresses = std::move(f.addresses);
    return e;
}

HostEntry gethostbyaddr(const Address& address) {
    HostEntry e;
    e.family = address.family();
    e.addresses.push_back(with_port(address, 0));
    NameInfo ni = getnameinfo(address, NI_NAMEREQD);
    e.name = std::move(ni.host);
    return e;
}

namespace {

// "127.0.0.1, [::1]:5353" -> "127.0.0.1:53,[::1]:5353"; throws std::invalid_argument.
std::string servers_csv(std::string_view servers) {
    std::string csv;
    std::size_t start = 0;
    while (start < servers.size()) {
        std::size_t end = servers.find(',', start);
        if (end == std::string_view::npos) end = servers.size();
        std::string_view item = servers.substr(start, end - start);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (item.empty()) throw std::invalid_argument("green::dns: empty entry in server list '" + std::string(servers) + "'");
        Address a;
        if (auto n = numeric_address(item))
            a = with_port(*n, 53);
        else
            a = Address::parse(item);  // throws std::invalid_argument naming the entry
        if (!csv.empty()) csv += ',';
        csv += a.to_string();
        start = end + 1;
    }
    return csv;
}

}  // namespace

void set_servers(std::string_view servers) {
    apply_environment();
    std::string csv = servers_csv(servers);
    green::detail::DnsSettings s = green::detail::dns_settings();
    s.servers = std::move(csv);
    green::detail::set_dns_settings(s);
}

void detail::set_timeout_ms(long ms) {
    apply_environment();
    green::detail::DnsSettings s = green::detail::dns_settings();
    s.timeout_ms = static_cast<int>(ms);
    green::detail::set_dns_settings(s);
}

void set_tries(int tries) {
    if (tries < 1 || tries > 16) throw std::invalid_argument("green::dns: tries must be between 1 and 16");
    apply_environment();
    green::detail::DnsSettings s = green::detail::dns_settings();
    s.tries = tries;
    green::detail::set_dns_settings(s);
}

}  // namespace green::dns

green::detail::DnsChannel& green::detail::thread_dns_channel() {
    green::dns::apply_environment();
    return Hub::current().dns();
}
