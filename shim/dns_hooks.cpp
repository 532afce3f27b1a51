// getaddrinfo, freeaddrinfo, getnameinfo, gethostbyname(2)(_r),
// gethostbyaddr(_r), res_query, res_search.
//
// These are replaced, not wrapped: glibc resolves with its own socket code inside
// libc, where no hook reaches, so a wrapped lookup would block the thread. Where
// that matters (a greenlet's lookup while others need the hub, as under
// --threads), they are answered by green's resolver (hosts file, then c-ares in
// the hub's loop), which follows glibc's rules for results, their order and
// error codes. Elsewhere glibc answers, as without green: nsswitch, resolv.conf
// and all, and no hub. GREEN_DNS=ares, GREEN_DNS_SERVERS or GREEN_HOSTS_FILE
// make green answer every lookup; GREEN_DNS=system, none. A call from a signal
// handler or from the hub itself always goes to glibc.
//
// Lists and hostents are laid out as glibc lays them out (an addrinfo and its
// sockaddr in one allocation, the canonical name in another), so glibc's
// freeaddrinfo can free ours and ours can free glibc's.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sys/socket.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <green/dns.hpp>

#include "cooperate.hpp"
#include "dns_pack.hpp"
#include "real.hpp"

namespace shim {
namespace {

namespace api = green::detail::shim_api;

bool use_green() noexcept {
    if (!state::live.load(std::memory_order_relaxed) || state::plain_depth != 0 || state::dns == state::Dns::system ||
        !api::can_resolve())
        return false;
    return state::dns == state::Dns::ares || state::dns_configured || may_park();
}

// The EAI code for an interruption or failure caught at the boundary (with
// errno set for EAI_SYSTEM).
int eai_at_boundary(const std::exception_ptr& e) noexcept {
    const Failure f = failure_of(e);
    if (f.eai == EAI_SYSTEM) errno = f.error;
    return f.eai;
}

std::string raw_address(const green::Address& a) {
    if (a.family() == AF_INET6)
        return std::string(reinterpret_cast<const char*>(&reinterpret_cast<const sockaddr_in6*>(a.data())->sin6_addr),
                           sizeof(in6_addr));
    return std::string(reinterpret_cast<const char*>(&reinterpret_cast<const sockaddr_in*>(a.data())->sin_addr),
                       sizeof(in_addr));
}

// A failed gethostby* lookup as glibc reports it: h_errno, and what the _r form
// returns (glibc's NSS status turned into an errno value; 0 for "not found").
struct HostFailure {
    int h_error;
    int returned;
};

HostFailure host_failure_for(int eai) noexcept {
    switch (eai) {
    case EAI_NONAME: return {HOST_NOT_FOUND, 0};
    case EAI_NODATA: return {NO_DATA, 0};
    case EAI_AGAIN: return {TRY_AGAIN, EAGAIN};
    case EAI_FAIL: return {NO_RECOVERY, EAGAIN};  // an answer without addresses: "try again" with NO_RECOVERY
    case EAI_MEMORY: return {NETDB_INTERNAL, ENOMEM};
    case EAI_SYSTEM: return {NETDB_INTERNAL, errno};
    default: return {NO_RECOVERY, 0};
    }
}

// gethostbyname2 through green; throws a HostFailure or what green throws.
Host lookup_host(const char* name, int af) {
    if (af != AF_INET && af != AF_INET6) {
        // glibc reads an address-shaped name as AF_INET; every other name
        // reaches the DNS backend, which refuses the family.
        if (!api::shaped_like_address(name)) throw HostFailure{NO_DATA, EAFNOSUPPORT};
        af = AF_INET;
    }
    if (!*name) throw HostFailure{NO_RECOVERY, 0};  // glibc asks nothing
    const green::dns::HostEntry e = green::dns::gethostbyname(name, af);
    Host h;
    h.name = e.name;
    h.aliases = e.aliases;
    h.family = e.family;
    for (const auto& a : e.addresses) h.addresses.push_back(raw_address(a));
    return h;
}

// gethostbyaddr through green; throws a HostFailure or what green throws. As in
// glibc, extra bytes after the family's address are kept in the answer, and
// such an address is only asked of DNS.
Host reverse_host(const void* addr, socklen_t len, int type) {
    if (!(type == AF_INET && len >= sizeof(in_addr)) && !(type == AF_INET6 && len >= sizeof(in6_addr)))
        throw HostFailure{NETDB_INTERNAL, EAFNOSUPPORT};
    const auto a = green::Address::from_bytes(type, addr);
    const bool exact = len == (type == AF_INET ? sizeof(in_addr) : sizeof(in6_addr));
    const green::dns::HostEntry e = exact ? green::dns::gethostbyaddr(a) : green::detail::shim_api::gethostbyaddr_dns(a);
    Host h;
    h.name = e.name;
    h.aliases = e.aliases;
    h.family = type;
    h.addresses.push_back(std::string(static_cast<const char*>(addr), len));
    return h;
}

// Whether `addr` is 16 zero bytes, which glibc's gethostbyaddr refuses first.
bool unspecified(const void* addr, socklen_t len) {
    static const in6_addr any = IN6ADDR_ANY_INIT;
    return len == sizeof any && std::memcmp(addr, &any, sizeof any) == 0;
}

// The _r calling convention around a lookup that returns a Host, after glibc's
// checks of the caller's buffer (`too_small`).
template <class Lookup>
int reentrant(Lookup&& lookup, bool too_small, hostent* ret, char* buf, size_t buflen, hostent** result,
              int* h_errnop) noexcept {
    *result = nullptr;
    const auto fail = [&](HostFailure f) {
        if (h_errnop) *h_errnop = f.h_error;
        if (f.h_error == NETDB_INTERNAL) errno = f.returned;
        return f.returned;
    };
    if (too_small) return fail({NETDB_INTERNAL, ERANGE});
    Host h;
    try {
        h = lookup();
    } catch (const HostFailure& f) {
        return fail(f);
    } catch (...) {
        return fail(host_failure_for(eai_at_boundary(std::current_exception())));
    }
    if (pack(h, ret, buf, buflen) != 0) return fail({NETDB_INTERNAL, ERANGE});
    *result = ret;
    if (h_errnop) *h_errnop = 0;
    return 0;
}

// The non-reentrant forms share one buffer per thread (glibc's is per process),
// grown until the answer fits.
template <class Attempt>
hostent* static_result(Attempt&& attempt) noexcept {
    static thread_local hostent entry;
    static thread_local std::vector<char> buffer(1024);
    for (;;) {
        hostent* result = nullptr;
        int herr = 0;
        const int r = attempt(&entry, buffer.data(), buffer.size(), &result, &herr);
        if (r == ERANGE && herr == NETDB_INTERNAL) {
            try {
                buffer.resize(buffer.size() * 2);
            } catch (...) {
                h_errno = NETDB_INTERNAL;
                errno = ENOMEM;
                return nullptr;
            }
            continue;
        }
        h_errno = herr;
        return result;
    }
}

int host_by_name(const char* name, int af, hostent* ret, char* buf, size_t buflen, hostent** result,
                 int* h_errnop) noexcept {
    bool too_small = false;
    try {
        too_small = api::host_buffer_too_small(name, nullptr, 0, af, buf, buflen);
    } catch (...) {  // no memory to read the hosts file: the lookup will say so
    }
    return reentrant([&] { return lookup_host(name, af); }, too_small, ret, buf, buflen, result, h_errnop);
}

int host_by_address(const void* addr, socklen_t len, int type, hostent* ret, char* buf, size_t buflen,
                    hostent** result, int* h_errnop) noexcept {
    if (unspecified(addr, len)) {
        *result = nullptr;
        if (h_errnop) *h_errnop = HOST_NOT_FOUND;
        return ENOENT;
    }
    bool too_small = false;
    try {
        too_small = api::host_buffer_too_small(nullptr, addr, len, type, buf, buflen);
    } catch (...) {
    }
    return reentrant([&] { return reverse_host(addr, len, type); }, too_small, ret, buf, buflen, result, h_errnop);
}

int raw_query(const char* name, int cls, int type, unsigned char* answer, int anslen, bool search) noexcept {
    std::vector<unsigned char> reply;
    int status;
    try {
        status = api::raw_query(name, cls, type, search, reply);
    } catch (...) {
        status = eai_at_boundary(std::current_exception());
    }
    if (status != 0) {
        h_errno = host_failure_for(status).h_error;
        return -1;
    }
    const int n = static_cast<int>(reply.size());
    std::memcpy(answer, reply.data(), static_cast<size_t>(std::min(n, anslen)));
    return n;  // as glibc, the full length even when it did not fit
}

}  // namespace
}  // namespace shim

GREEN_HOOK int getaddrinfo(const char* __restrict node, const char* __restrict service,
                           const addrinfo* __restrict hints, addrinfo** __restrict res) {
    if (!shim::use_green()) return shim::real::getaddrinfo(node, service, hints, res);
    green::dns::Hints h;
    if (hints) {
        h.family = hints->ai_family;
        h.socktype = hints->ai_socktype;
        h.protocol = hints->ai_protocol;
        h.flags = hints->ai_flags;
    } else {
        h.flags = AI_V4MAPPED | AI_ADDRCONFIG;  // glibc's default hints
    }
    try {
        const auto found = green::detail::shim_api::getaddrinfo(node, service, h);
        addrinfo* list = shim::make_list(found, h.flags);
        if (!list) return EAI_MEMORY;
        *res = list;
        return 0;
    } catch (...) {
        return shim::eai_at_boundary(std::current_exception());
    }
}

GREEN_HOOK void freeaddrinfo(addrinfo* ai) noexcept {
    while (ai) {
        addrinfo* next = ai->ai_next;
        std::free(ai->ai_canonname);
        std::free(ai);
        ai = next;
    }
}

GREEN_HOOK int getnameinfo(const sockaddr* __restrict sa, socklen_t salen, char* __restrict host, socklen_t hostlen,
                           char* __restrict serv, socklen_t servlen, int flags) {
    if (!shim::use_green() || !sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
        return shim::real::getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
    if ((sa->sa_family == AF_INET && salen < sizeof(sockaddr_in)) ||
        (sa->sa_family == AF_INET6 && salen < sizeof(sockaddr_in6)))
        return EAI_FAMILY;
    try {
        const green::Address address(sa, sa->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
        // Only the parts asked for are looked up.
        const int no_host = (!host || !hostlen) ? NI_NUMERICHOST : 0;
        const green::dns::NameInfo ni = green::dns::getnameinfo(address, flags | no_host);
        if (host && hostlen) {
            if (ni.host.size() + 1 > hostlen) return EAI_OVERFLOW;
            std::memcpy(host, ni.host.c_str(), ni.host.size() + 1);
        }
        if (serv && servlen) {
            if (ni.service.size() + 1 > servlen) return EAI_OVERFLOW;
            std::memcpy(serv, ni.service.c_str(), ni.service.size() + 1);
        }
        return 0;
    } catch (...) {
        return shim::eai_at_boundary(std::current_exception());
    }
}

GREEN_HOOK hostent* gethostbyname(const char* name) {
    if (!shim::use_green() || !name) return shim::real::gethostbyname(name);
    return shim::static_result([&](hostent* ret, char* buf, size_t len, hostent** result, int* herr) {
        return shim::host_by_name(name, AF_INET, ret, buf, len, result, herr);
    });
}

GREEN_HOOK hostent* gethostbyname2(const char* name, int af) {
    if (!shim::use_green() || !name) return shim::real::gethostbyname2(name, af);
    return shim::static_result([&](hostent* ret, char* buf, size_t len, hostent** result, int* herr) {
        return shim::host_by_name(name, af, ret, buf, len, result, herr);
    });
}

GREEN_HOOK hostent* gethostbyaddr(const void* addr, socklen_t len, int type) {
    if (!shim::use_green() || !addr) return shim::real::gethostbyaddr(addr, len, type);
    return shim::static_result([&](hostent* ret, char* buf, size_t buflen, hostent** result, int* herr) {
        return shim::host_by_address(addr, len, type, ret, buf, buflen, result, herr);
    });
}

GREEN_HOOK int gethostbyname_r(const char* __restrict name, hostent* __restrict ret, char* __restrict buf,
                               size_t buflen, hostent** __restrict result, int* __restrict h_errnop) {
    if (!shim::use_green() || !name) return shim::real::gethostbyname_r(name, ret, buf, buflen, result, h_errnop);
    return shim::host_by_name(name, AF_INET, ret, buf, buflen, result, h_errnop);
}

GREEN_HOOK int gethostbyname2_r(const char* __restrict name, int af, hostent* __restrict ret, char* __restrict buf,
                                size_t buflen, hostent** __restrict result, int* __restrict h_errnop) {
    if (!shim::use_green() || !name) return shim::real::gethostbyname2_r(name, af, ret, buf, buflen, result, h_errnop);
    return shim::host_by_name(name, af, ret, buf, buflen, result, h_errnop);
}

GREEN_HOOK int gethostbyaddr_r(const void* __restrict addr, socklen_t len, int type, hostent* __restrict ret,
                               char* __restrict buf, size_t buflen, hostent** __restrict result,
                               int* __restrict h_errnop) {
    if (!shim::use_green() || !addr)
        return shim::real::gethostbyaddr_r(addr, len, type, ret, buf, buflen, result, h_errnop);
    return shim::host_by_address(addr, len, type, ret, buf, buflen, result, h_errnop);
}

GREEN_HOOK int res_query(const char* dname, int cls, int type, unsigned char* answer, int anslen) {
    if (!shim::use_green() || !dname || !answer || anslen < 0) return shim::real::res_query(dname, cls, type, answer, anslen);
    return shim::raw_query(dname, cls, type, answer, anslen, false);
}

GREEN_HOOK int res_search(const char* dname, int cls, int type, unsigned char* answer, int anslen) {
    if (!shim::use_green() || !dname || !answer || anslen < 0)
        return shim::real::res_search(dname, cls, type, answer, anslen);
    return shim::raw_query(dname, cls, type, answer, anslen, true);
}

GREEN_HOOK int __res_query(const char* dname, int cls, int type, unsigned char* answer, int anslen) {
    return res_query(dname, cls, type, answer, anslen);
}

GREEN_HOOK int __res_search(const char* dname, int cls, int type, unsigned char* answer, int anslen) {
    return res_search(dname, cls, type, answer, anslen);
}
