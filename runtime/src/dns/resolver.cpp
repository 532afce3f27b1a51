// green::dns: glibc's getaddrinfo / getnameinfo / gethostbyname rules, with the
// hosts file (hosts_file.hpp) and DNS through c-ares (dns_channel.hpp) as the
// sources, and glibc's result order (address_sort.hpp). The checks run in
// glibc's order, so that when several things are wrong the same EAI_* code wins.
#include "green/dns.hpp"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>

#include "base/env.hpp"
#include "core/runtime_fds.hpp"
#include "bridge/shim_api.hpp"
#include "core/hub.hpp"
#include "dns/address_sort.hpp"
#include "dns/digits_dots.hpp"
#include "dns/dns_channel.hpp"
#include "dns/hosts_file.hpp"

namespace green::dns {
namespace {

using green::detail::DigitsDots;

std::string servers_csv(std::string_view servers);

constexpr int kMinTries = 1, kMaxTries = 16;  // of each server, per lookup

// GREEN_DNS_SERVERS / _TIMEOUT / _TRIES, applied once per process before the
// first lookup or the first explicit setting (which then overrides them).
void apply_environment() {
    static std::once_flag once;
    std::call_once(once, [] {
        green::detail::DnsSettings s = green::detail::dns_settings();
        if (const char* v = green::detail::env("GREEN_DNS_SERVERS")) {
            try {
                s.servers = servers_csv(v);
            } catch (const std::invalid_argument& e) {
                std::fprintf(stderr, "green: ignoring GREEN_DNS_SERVERS: %s\n", e.what());
            }
        }
        if (auto seconds = green::detail::env_seconds("GREEN_DNS_TIMEOUT", 0.001, 3600))  // as set_timeout
            s.timeout_ms = static_cast<int>(*seconds * 1000);
        if (auto tries = green::detail::env_long("GREEN_DNS_TRIES", kMinTries, kMaxTries))
            s.tries = static_cast<int>(*tries);
        green::detail::set_dns_settings(s);
    });
}

green::detail::DnsChannel& channel() { return green::detail::thread_dns_channel(); }

// ---- addresses -------------------------------------------------------------

Address with_port(const Address& a, std::uint16_t port) {
    Address out = a;
    if (out.family() == AF_INET) reinterpret_cast<sockaddr_in*>(out.data())->sin_port = htons(port);
    if (out.family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(out.data())->sin6_port = htons(port);
    return out;
}

Address v4_mapped(const Address& v4) {
    in6_addr mapped{};
    mapped.s6_addr[10] = mapped.s6_addr[11] = 0xff;
    std::memcpy(&mapped.s6_addr[12], &reinterpret_cast<const sockaddr_in*>(v4.data())->sin_addr, 4);
    return Address::from_bytes(AF_INET6, &mapped);
}

bool is_v4_mapped(const Address& a) {
    return a.family() == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&reinterpret_cast<const sockaddr_in6*>(a.data())->sin6_addr);
}

Address unmapped(const Address& a) {
    return Address::from_bytes(AF_INET, &reinterpret_cast<const sockaddr_in6*>(a.data())->sin6_addr.s6_addr[12]);
}

// inet_aton, but only when it consumes the whole string (glibc's inet_aton_exact):
// "1.2.3", "0x7f.1" and "2130706433" are numeric; "1.2.3.4 " is not.
bool inet_aton_exact(const char* s, in_addr& out) {
    for (const char* p = s; *p; ++p)
        if (std::isspace(static_cast<unsigned char>(*p))) return false;
    return inet_aton(s, &out) != 0;
}

// A numeric IPv6 host with an optional %scope. Throws EAI_NONAME for a bad scope;
// nullopt when it is not IPv6.
std::optional<sockaddr_in6> parse_v6(const char* text, std::string_view name_for_errors) {
    std::string addr = text, scope;
    if (auto pct = addr.find('%'); pct != std::string::npos) {
        scope = addr.substr(pct + 1);
        addr.resize(pct);
    }
    sockaddr_in6 in6{};
    if (inet_pton(AF_INET6, addr.c_str(), &in6.sin6_addr) != 1) return std::nullopt;
    in6.sin6_family = AF_INET6;
    if (!scope.empty()) {
        const bool link_local = IN6_IS_ADDR_LINKLOCAL(&in6.sin6_addr) || IN6_IS_ADDR_MC_LINKLOCAL(&in6.sin6_addr);
        unsigned index = 0;
        if (link_local) {
            const green::detail::TransientFds opening;  // glibc asks through a socket
            index = if_nametoindex(scope.c_str());
        }
        if (index == 0) {  // else a number, the only form for other addresses
            char* end = nullptr;
            errno = 0;
            const unsigned long n = std::strtoul(scope.c_str(), &end, 10);
            if (*end || errno || n > UINT32_MAX || !std::isdigit(static_cast<unsigned char>(scope[0])))
                throw Error(EAI_NONAME, name_for_errors);
            index = static_cast<unsigned>(n);
        }
        in6.sin6_scope_id = index;
    }
    return in6;
}

// ---- services and socket types (glibc's table, in its order) ---------------

struct TypeProto {
    int socktype;
    int protocol;
    const char* name;
    bool any_protocol;  // raw: takes whatever protocol is asked
    bool no_service;    // raw: a service is an error
    bool by_default;    // listed when neither type nor protocol is asked
};

constexpr TypeProto kTypes[] = {
    {SOCK_STREAM, IPPROTO_TCP, "tcp", false, false, true},   {SOCK_DGRAM, IPPROTO_UDP, "udp", false, false, true},
    {SOCK_DCCP, IPPROTO_DCCP, "dccp", false, false, false},  {SOCK_DGRAM, IPPROTO_UDPLITE, "udplite", false, false, false},
    {SOCK_STREAM, IPPROTO_SCTP, "sctp", false, false, false}, {SOCK_SEQPACKET, IPPROTO_SCTP, "sctp", false, false, false},
    {SOCK_RAW, 0, "raw", true, true, true},
};

bool matches(const TypeProto& t, const Hints& h) {
    return (h.socktype == 0 || h.socktype == t.socktype) && (h.protocol == 0 || t.any_protocol || h.protocol == t.protocol);
}

std::optional<std::uint16_t> service_port(const char* service, const TypeProto& t) {
    servent se{}, *found = nullptr;
    char buf[1024];
    if (getservbyname_r(service, t.name, &se, buf, sizeof buf, &found) != 0 || !found) return std::nullopt;
    return ntohs(static_cast<std::uint16_t>(found->s_port));
}

struct Kind {
    int socktype;
    int protocol;
    std::uint16_t port;
};

// The (socket type, protocol, port) triples each address is listed with.
std::vector<Kind> kinds_for(const char* service, const Hints& h, std::string_view name) {
    if (service && !*service) service = nullptr;  // glibc: "" is no service at all
    // A number when strtoul(base 10) takes it all; as glibc stores it in an int,
    // "-1" is no number (then looked up as a name) and 70000 wraps to 4464.
    int number = -1;
    if (service) {
        char* end = nullptr;
        const unsigned long v = std::strtoul(service, &end, 10);
        if (*end != '\0') {
            if (h.flags & AI_NUMERICSERV) throw Error(EAI_NONAME, name);
        } else {
            number = static_cast<int>(v);
        }
    }
    const TypeProto* chosen = nullptr;
    if (h.socktype || h.protocol) {
        for (const TypeProto& t : kTypes)
            if (matches(t, h)) {
                chosen = &t;
                break;
            }
        if (!chosen) throw Error(h.socktype ? EAI_SOCKTYPE : EAI_SERVICE, name);
    }
    const auto protocol_of = [&](const TypeProto& t) { return t.any_protocol ? h.protocol : t.protocol; };
    std::vector<Kind> kinds;
    if (service && chosen && chosen->no_service) throw Error(EAI_SERVICE, name);
    if (service && number < 0) {
        if (chosen) {
            auto port = service_port(service, *chosen);
            if (!port) throw Error(EAI_SERVICE, name);
            kinds.push_back({chosen->socktype, protocol_of(*chosen), *port});
        } else {
            for (const TypeProto& t : kTypes)
                if (!t.no_service && matches(t, h))
                    if (auto port = service_port(service, t)) kinds.push_back({t.socktype, t.protocol, *port});
            if (kinds.empty()) throw Error(EAI_SERVICE, name);
        }
        return kinds;
    }
    const auto port = static_cast<std::uint16_t>(number < 0 ? 0 : number);
    if (chosen) {
        kinds.push_back({chosen->socktype, protocol_of(*chosen), port});
    } else {
        for (const TypeProto& t : kTypes)
            if (t.by_default) kinds.push_back({t.socktype, t.protocol, port});
    }
    return kinds;
}

// ---- AI_ADDRCONFIG ---------------------------------------------------------

// Whether the machine has IPv4 other than 127.0.0.1 and IPv6 other than ::1.
std::pair<bool, bool> configured_families() {
    ifaddrs* list = nullptr;
    {
        const green::detail::TransientFds opening;  // a netlink socket
        if (getifaddrs(&list) != 0) return {true, true};
    }
    bool v4 = false, v6 = false;
    for (ifaddrs* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr) continue;
        if (i->ifa_addr->sa_family == AF_INET)
            v4 = v4 || reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr != htonl(INADDR_LOOPBACK);
        if (i->ifa_addr->sa_family == AF_INET6)
            v6 = v6 || !IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr);
    }
    freeifaddrs(list);
    return {v4, v6};
}

// ---- names: hosts file, then DNS -------------------------------------------

struct Found {
    std::vector<Address> addresses;
    std::string canonical;
    std::vector<std::string> aliases;
    bool from_hosts = false;
};

// One family's lookup (AF_UNSPEC: both). Throws dns::Error.
Found lookup_name(const std::string& name, int family) {
    if (auto hit = green::detail::hosts_lookup(name, family); !hit.addresses.empty())
        return {std::move(hit.addresses), std::move(hit.canonical), std::move(hit.aliases), true};
    green::detail::DnsAnswer a = channel().lookup(name, family);
    if (a.status != 0) throw Error(a.status, name);
    if (a.addresses.empty()) throw Error(EAI_NODATA, name);
    return {std::move(a.addresses), std::move(a.canonical), std::move(a.aliases), false};
}

// AF_INET6 with AI_V4MAPPED (and AI_ALL): glibc's combination of the two lookups.
Found lookup_mapped(const std::string& name, int flags) {
    std::optional<Found> v6;
    std::optional<Error> v6_error;
    try {
        v6 = lookup_name(name, AF_INET6);
    } catch (const Error& e) {
        v6_error = e;
    }
    if (v6 && !(flags & AI_ALL)) {
        std::erase_if(v6->addresses, is_v4_mapped);  // dropped once real IPv6 was found
        if (!v6->addresses.empty()) return std::move(*v6);
    }
    Found v4;
    try {
        v4 = lookup_name(name, AF_INET);
    } catch (const Error&) {
        if (v6 && !v6->addresses.empty()) return std::move(*v6);
        if (v6_error) throw *v6_error;
        throw;
    }
    Found out = v6 ? std::move(*v6) : Found{{}, v4.canonical, v4.aliases, v4.from_hosts};
    for (const Address& a : v4.addresses) out.addresses.push_back(v4_mapped(a));
    return out;
}

// The C calls below (inet_pton, c-ares, the hosts file's) would stop at a NUL
// byte: "localhost\0.example" would be looked up as localhost.
void refuse_nul(std::string_view text, const char* what) {
    if (text.find('\0') != std::string_view::npos)
        throw std::invalid_argument(std::string("green::dns: a ") + what + " with a NUL byte in it");
}

std::optional<Address> numeric_address(std::string_view host) {
    try {
        return Address::ip(host, 0);
    } catch (const std::invalid_argument&) {
        return std::nullopt;
    }
}

}  // namespace

// ---- getaddrinfo -------------------------------------------------------------

// getaddrinfo with C's arguments, where NULL and "" differ.
static std::vector<AddrInfo> getaddrinfo_c(const char* node, const char* service, const Hints& hints) {
    if (node && !std::strcmp(node, "*")) node = nullptr;
    if (service && !std::strcmp(service, "*")) service = nullptr;
    const std::string_view name = node ? node : (service ? service : "");
    if (!node && !service) throw Error(EAI_NONAME, name);
    Hints h = hints;
    if (h.flags & ~0x7ff) throw Error(EAI_BADFLAGS, name);
    if ((h.flags & AI_CANONNAME) && !node) throw Error(EAI_BADFLAGS, name);
    if (h.family != AF_UNSPEC && h.family != AF_INET && h.family != AF_INET6) throw Error(EAI_FAMILY, name);
    if (h.flags & AI_ADDRCONFIG) {
        const auto [v4, v6] = configured_families();
        if (h.family == AF_UNSPEC && v4 != v6)
            h.family = v4 ? AF_INET : AF_INET6;
        else if ((h.family == AF_INET && !v4) || (h.family == AF_INET6 && !v6))
            throw Error(EAI_NONAME, name);
    }
    const std::vector<Kind> kinds = kinds_for(service, h, name);

    Found found;
    if (!node) {
        const bool passive = h.flags & AI_PASSIVE;
        if (h.family != AF_INET) found.addresses.push_back(Address::ip(passive ? "::" : "::1", 0));
        if (h.family != AF_INET6) found.addresses.push_back(Address::ip(passive ? "0.0.0.0" : "127.0.0.1", 0));
    } else if (in_addr v4{}; inet_aton_exact(node, v4)) {
        if (h.family == AF_INET6 && !(h.flags & AI_V4MAPPED)) throw Error(EAI_ADDRFAMILY, name);
        found.addresses.push_back(h.family == AF_INET6 ? v4_mapped(Address::from_bytes(AF_INET, &v4)) : Address::from_bytes(AF_INET, &v4));
        found.canonical = node;
    } else if (auto v6 = parse_v6(node, name)) {
        Address a(reinterpret_cast<sockaddr*>(&*v6), sizeof *v6);
        if (h.family == AF_INET) {
            if (!is_v4_mapped(a)) throw Error(EAI_ADDRFAMILY, name);
            a = unmapped(a);
        }
        found.addresses.push_back(a);
        found.canonical = node;
    } else if (h.flags & AI_NUMERICHOST || !*node) {
        throw Error(EAI_NONAME, name);
    } else if (h.family == AF_INET6 && (h.flags & AI_V4MAPPED)) {
        found = lookup_mapped(node, h.flags);
    } else {
        found = lookup_name(node, h.family);
    }
    green::detail::sort_like_glibc(found.addresses);

    std::vector<AddrInfo> out;
    out.reserve(found.addresses.size() * kinds.size());
    for (const Address& a : found.addresses)
        for (const Kind& k : kinds) out.push_back(AddrInfo{a.family(), k.socktype, k.protocol, with_port(a, k.port), {}});
    if ((h.flags & AI_CANONNAME) && !out.empty()) out.front().canonname = found.canonical.empty() ? std::string(name) : found.canonical;
    return out;
}

std::vector<AddrInfo> getaddrinfo(std::string_view host, std::string_view service, const Hints& hints) {
    refuse_nul(host, "host name");
    refuse_nul(service, "service");
    const std::string h(host), s(service);
    return getaddrinfo_c(host.empty() ? nullptr : h.c_str(), service.empty() ? nullptr : s.c_str(), hints);
}

// ---- reverse: getnameinfo, gethostbyaddr -------------------------------------

namespace {

// The host name of `address`: hosts file, then PTR. "" when there is none;
// throws EAI_AGAIN (and the like) when DNS could not tell.
std::string dns_reverse_name(const Address& address);

std::string reverse_name(const Address& address) {
    if (std::string name = green::detail::hosts_reverse(address).canonical; !name.empty() && !is_v4_mapped(address))
        return name;
    return dns_reverse_name(address);
}

// The PTR name of `address`, or "" when DNS has none.
std::string dns_reverse_name(const Address& address) {
    const Address asked = is_v4_mapped(address) ? unmapped(address) : address;
    green::detail::DnsAnswer a = channel().reverse(asked);
    if (a.status == 0) return a.canonical;
    if (a.status == EAI_NONAME || a.status == EAI_NODATA) return "";
    throw Error(a.status, address.host());
}

// The local domain NI_NOFQDN strips: from the first of these names with a dot.
std::string local_domain() {
    std::vector<std::string> names;
    if (auto hit = green::detail::hosts_lookup("localhost", AF_INET); !hit.canonical.empty()) names.push_back(hit.canonical);
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0) names.emplace_back(host);
    names.push_back(green::detail::hosts_reverse(Address::ip("127.0.0.1", 0)).canonical);
    for (const auto& n : names)
        if (auto dot = n.find('.'); dot != std::string::npos) return n.substr(dot + 1);
    return "";
}

std::string numeric_host(const Address& a) {
    if (a.family() != AF_INET6) return a.host();
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a.data());
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
    std::string out = buf;
    if (in6->sin6_scope_id) {
        char ifname[IF_NAMESIZE] = {};
        const bool named = (IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr) || IN6_IS_ADDR_MC_LINKLOCAL(&in6->sin6_addr)) &&
                           if_indextoname(in6->sin6_scope_id, ifname);
        out += '%';
        out += named ? std::string(ifname) : std::to_string(in6->sin6_scope_id);
    }
    return out;
}

}  // namespace

NameInfo getnameinfo(const Address& address, int flags) {
    if (flags & ~0xff) throw Error(EAI_BADFLAGS, address.to_string());
    if (address.family() != AF_INET && address.family() != AF_INET6) throw Error(EAI_FAMILY, address.to_string());
    NameInfo out;
    if (flags & NI_NUMERICHOST) {
        if (flags & NI_NAMEREQD) throw Error(EAI_NONAME, address.to_string());
        out.host = numeric_host(address);
    } else {
        out.host = reverse_name(address);  // EAI_AGAIN even without NI_NAMEREQD, as glibc
        if (out.host.empty()) {
            if (flags & NI_NAMEREQD) throw Error(EAI_NONAME, address.to_string());
            out.host = numeric_host(address);
        } else if (flags & NI_NOFQDN) {
            const std::string domain = local_domain();
            if (!domain.empty() && out.host.size() > domain.size() + 1 && out.host.ends_with("." + domain))
                out.host.resize(out.host.size() - domain.size() - 1);
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

namespace {

// gethostbyaddr, asking the hosts file first or DNS only.
HostEntry reverse_entry(const Address& address, bool hosts_file) {
    if (address.family() != AF_INET && address.family() != AF_INET6) throw Error(EAI_FAMILY, address.to_string());
    HostEntry e;
    e.family = is_v4_mapped(address) ? AF_INET : address.family();
    e.addresses.push_back(with_port(is_v4_mapped(address) ? unmapped(address) : address, 0));
    if (address.family() == AF_INET6 &&
        IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(address.data())->sin6_addr))
        throw Error(EAI_NONAME, address.host());
    if (hosts_file && !is_v4_mapped(address)) {
        if (auto hit = green::detail::hosts_reverse(address); !hit.canonical.empty()) {
            e.name = std::move(hit.canonical);
            e.aliases = std::move(hit.aliases);
            e.from_hosts_file = true;
            return e;
        }
    }
    e.name = dns_reverse_name(address);
    if (e.name.empty()) throw Error(EAI_NONAME, address.host());
    return e;
}

}  // namespace

HostEntry gethostbyaddr(const Address& address) { return reverse_entry(address, true); }

// ---- gethostbyname -----------------------------------------------------------

namespace {

// glibc's gethostbyname parses the DNS answer itself, and an answer that holds
// records (a CNAME chain) but none of the family's addresses is a failure
// (NO_RECOVERY) there, not "no data". c-ares reports both as ENODATA, so that
// case costs one more query to tell them apart.
bool answer_without_addresses(const std::string& name, int family) {
    std::vector<unsigned char> message;
    const int type = family == AF_INET6 ? ns_t_aaaa : ns_t_a;
    const green::detail::DnsAnswer a = channel().raw(name, ns_c_in, type, true, message);
    return a.status == 0 && message.size() >= NS_HFIXEDSZ && (message[6] << 8 | message[7]) > 0;
}

}  // namespace

HostEntry gethostbyname(std::string_view name, int family) {
    refuse_nul(name, "host name");
    if (family != AF_INET && family != AF_INET6) throw Error(EAI_FAMILY, name);
    const std::string n(name);
    HostEntry e;
    e.family = family;
    Address literal;
    switch (green::detail::digits_dots(n, family, literal)) {
    case DigitsDots::address:
        e.name = n;
        e.addresses.push_back(literal);
        return e;
    case DigitsDots::not_found: throw Error(EAI_NONAME, name);
    case DigitsDots::not_address: break;
    }
    if (n.empty()) throw Error(EAI_FAIL, name);  // glibc: NO_RECOVERY, nothing asked
    Found f;
    try {
        f = lookup_name(n, family);
    } catch (const Error& x) {
        if (x.code() == EAI_NODATA && answer_without_addresses(n, family)) throw Error(EAI_FAIL, name);
        throw;
    }
    e.name = f.canonical.empty() ? n : f.canonical;
    e.aliases = std::move(f.aliases);
    e.addresses = std::move(f.addresses);
    e.from_hosts_file = f.from_hosts;
    return e;
}

// ---- settings ----------------------------------------------------------------

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

Error::Error(int code, std::string_view name)
    : std::runtime_error("green::dns: " + std::string(name) + ": " + gai_strerror(code)), code_(code) {}

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
    if (tries < kMinTries || tries > kMaxTries)
        throw std::invalid_argument("green::dns: tries must be between 1 and 16");
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

green::detail::DigitsDots green::detail::digits_dots(std::string_view name, int family, Address& out) {
    if (name.empty()) return DigitsDots::not_address;
    const std::string n(name);
    const auto first = static_cast<unsigned char>(n[0]);
    if (std::isdigit(first) && n.find_first_not_of("0123456789.") == std::string::npos && n.back() != '.') {
        in_addr v4{};
        if (family == AF_INET6 || !green::dns::inet_aton_exact(n.c_str(), v4)) return DigitsDots::not_found;
        out = Address::from_bytes(AF_INET, &v4);
        return DigitsDots::address;
    }
    if ((std::isxdigit(first) && n.find(':') != std::string::npos) || first == ':') {
        if (family != AF_INET6) return DigitsDots::not_found;  // no IPv6 address fits an in_addr
        if (n.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos || n.back() == '.')
            return DigitsDots::not_address;
        in6_addr v6{};
        if (inet_pton(AF_INET6, n.c_str(), &v6) != 1) return DigitsDots::not_found;
        out = Address::ip(n, 0);
        return DigitsDots::address;
    }
    return DigitsDots::not_address;
}

namespace green::detail::shim_api {

std::vector<dns::AddrInfo> getaddrinfo(const char* node, const char* service, const dns::Hints& hints) {
    return dns::getaddrinfo_c(node, service, hints);
}

dns::HostEntry gethostbyaddr_dns(const Address& address) { return dns::reverse_entry(address, false); }

}  // namespace green::detail::shim_api
