#include "dns/address_sort.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "base/sys.hpp"
#include "core/runtime_fds.hpp"

namespace green::detail {
namespace {

// An address as glibc compares it: IPv4 as ::ffff:a.b.c.d.
in6_addr mapped(const sockaddr* sa) {
    in6_addr out{};
    if (sa->sa_family == AF_INET6) return reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
    out.s6_addr[10] = out.s6_addr[11] = 0xff;
    std::memcpy(&out.s6_addr[12], &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
    return out;
}

bool in_prefix(const in6_addr& a, const in6_addr& prefix, unsigned bits) {
    for (unsigned i = 0; i < 16 && bits > 0; ++i, bits = bits > 8 ? bits - 8 : 0) {
        const unsigned take = bits > 8 ? 8 : bits;
        const auto mask = static_cast<std::uint8_t>(0xff << (8 - take));
        if ((a.s6_addr[i] & mask) != (prefix.s6_addr[i] & mask)) return false;
    }
    return true;
}

struct Row {
    in6_addr prefix;
    unsigned bits;
    int value;
};

in6_addr parse6(const char* text) {
    in6_addr a{};
    inet_pton(AF_INET6, text, &a);
    return a;
}

// glibc's defaults, or /etc/gai.conf's lines for that table (which replace them).
std::vector<Row> table(const char* keyword) {
    std::vector<Row> rows;
    std::ifstream conf("/etc/gai.conf");
    for (std::string line; std::getline(conf, line);) {
        if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
        std::istringstream words(line);
        std::string key, prefix;
        int value;
        if (!(words >> key >> prefix >> value) || key != keyword) continue;
        const auto slash = prefix.find('/');
        const unsigned bits = slash == std::string::npos ? 128u : static_cast<unsigned>(std::stoul(prefix.substr(slash + 1)));
        rows.push_back({parse6(prefix.substr(0, slash).c_str()), bits > 128 ? 128u : bits, value});
    }
    if (!rows.empty()) {
        bool has_default = false;
        for (const Row& r : rows) has_default = has_default || r.bits == 0;
        if (!has_default) rows.push_back({parse6("::"), 0, std::strcmp(keyword, "label") == 0 ? 1 : 40});
        std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.bits > b.bits; });
        return rows;
    }
    if (std::strcmp(keyword, "label") == 0)
        return {{parse6("::1"), 128, 0},      {parse6("2002::"), 16, 2}, {parse6("::"), 96, 3},
                {parse6("::ffff:0:0"), 96, 4}, {parse6("fec0::"), 10, 5}, {parse6("fc00::"), 7, 6},
                {parse6("2001::"), 32, 7},    {parse6("::"), 0, 1}};
    return {{parse6("::1"), 128, 50}, {parse6("2002::"), 16, 30}, {parse6("::"), 96, 20},
            {parse6("::ffff:0:0"), 96, 10}, {parse6("::"), 0, 40}};
}

int lookup(const std::vector<Row>& rows, const in6_addr& a) {
    for (const Row& r : rows)
        if (in_prefix(a, r.prefix, r.bits)) return r.value;
    return 0;
}

int scope(const sockaddr* sa) {
    if (sa->sa_family == AF_INET) {
        const std::uint32_t a = ntohl(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr);
        if ((a >> 16) == 0xa9fe || (a >> 24) == 127) return 2;
        return 14;
    }
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
    if (a.s6_addr[0] == 0xff) return a.s6_addr[1] & 0xf;
    if (IN6_IS_ADDR_LINKLOCAL(&a) || IN6_IS_ADDR_LOOPBACK(&a)) return 2;
    if (IN6_IS_ADDR_SITELOCAL(&a)) return 5;
    return 14;
}

// One local address with what rules 3, 4, 7 and 9 need.
struct Local {
    in6_addr address;
    unsigned prefixlen;
    unsigned index;
};

std::vector<Local> local_addresses() {
    std::vector<Local> out;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return out;
    bool v6_beyond_loopback = false;
    for (ifaddrs* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6)) continue;
        unsigned bits = 0;
        if (i->ifa_netmask) {
            const in6_addr m = mapped(i->ifa_netmask);
            const unsigned from = i->ifa_addr->sa_family == AF_INET ? 12 : 0;
            for (unsigned k = from; k < 16; ++k) bits += static_cast<unsigned>(__builtin_popcount(m.s6_addr[k]));
        }
        const in6_addr a = mapped(i->ifa_addr);
        if (i->ifa_addr->sa_family == AF_INET6 && !IN6_IS_ADDR_LOOPBACK(&a)) v6_beyond_loopback = true;
        out.push_back({a, bits, if_nametoindex(i->ifa_name)});
    }
    freeifaddrs(list);
    if (!v6_beyond_loopback) out.clear();  // glibc drops the whole list then
    return out;
}

bool native_interface(unsigned index) {
    char name[IF_NAMESIZE] = {};
    if (index == 0 || !if_indextoname(index, name)) return false;
    std::ifstream type(std::string("/sys/class/net/") + name + "/type");
    int t = 0;
    if (!(type >> t)) return false;
    return t != 768 && t != 769 && t != 776;  // ARPHRD_TUNNEL, TUNNEL6, SIT
}

struct Candidate {
    Address dest;
    bool has_source = false;
    sockaddr_storage source{};
    unsigned prefixlen = 0;
    unsigned index = 0xffffffffu;
};

void find_source(Candidate& c, const std::vector<Local>& locals) {
    const int fd = sys::socket(c.dest.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    socklen_t len = sizeof c.source;
    if (sys::connect(fd, c.dest.data(), c.dest.size()) == 0 &&
        sys::getsockname(fd, reinterpret_cast<sockaddr*>(&c.source), &len) == 0) {
        c.has_source = true;
        in6_addr key = mapped(reinterpret_cast<sockaddr*>(&c.source));
        if (c.source.ss_family == AF_INET && key.s6_addr[12] == 127) {  // 127.x is found as 127.0.0.1
            key.s6_addr[13] = key.s6_addr[14] = 0;
            key.s6_addr[15] = 1;
        }
        for (const Local& l : locals)
            if (std::memcmp(&l.address, &key, sizeof key) == 0) {
                c.prefixlen = l.prefixlen;
                c.index = l.index;
                break;
            }
    }
    sys::close(fd);
}

unsigned common_prefix(const in6_addr& a, const in6_addr& b) {
    unsigned bits = 0;
    for (unsigned i = 0; i < 16; ++i) {
        const unsigned x = a.s6_addr[i] ^ b.s6_addr[i];
        if (x) return bits + static_cast<unsigned>(__builtin_clz(x) - 24);
        bits += 8;
    }
    return bits;
}

// Rule 9's score for IPv4: the shared leading bits, if both lie in the source's subnet.
unsigned v4_match(const Candidate& c) {
    const std::uint32_t d = ntohl(reinterpret_cast<const sockaddr_in*>(c.dest.data())->sin_addr.s_addr);
    const std::uint32_t s = ntohl(reinterpret_cast<const sockaddr_in*>(&c.source)->sin_addr.s_addr);
    // glibc shifts by 32 - prefixlen; on x86-64 a shift by 32 leaves all ones.
    const std::uint32_t mask = c.prefixlen == 0 ? 0xffffffffu : 0xffffffffu << (32 - c.prefixlen);
    if ((d & mask) != (s & mask)) return 0;
    return d == s ? 32u : static_cast<unsigned>(__builtin_clz(d ^ s));
}

struct Sorter {
    std::vector<Row> labels = table("label");
    std::vector<Row> precedence = table("precedence");

    // < 0: a first; > 0: b first.
    int compare(const Candidate& a, const Candidate& b) const {
        const sockaddr* da = a.dest.data();
        const sockaddr* db = b.dest.data();
        const auto* sa = reinterpret_cast<const sockaddr*>(&a.source);
        const auto* sb = reinterpret_cast<const sockaddr*>(&b.source);
        // 1: usable destinations first.
        if (a.has_source != b.has_source) return a.has_source ? -1 : 1;
        // 2: matching scope.
        if (a.has_source && b.has_source) {
            const bool ma = scope(da) == scope(sa), mb = scope(db) == scope(sb);
            if (ma != mb) return ma ? -1 : 1;
        }
        // 3, 4: deprecated and home addresses: the interface list here has no such flags.
        // 5: matching label.
        if (a.has_source && b.has_source) {
            const bool ma = lookup(labels, mapped(da)) == lookup(labels, mapped(sa));
            const bool mb = lookup(labels, mapped(db)) == lookup(labels, mapped(sb));
            if (ma != mb) return ma ? -1 : 1;
        }
        // 6: higher precedence.
        const int pa = lookup(precedence, mapped(da)), pb = lookup(precedence, mapped(db));
        if (pa != pb) return pa > pb ? -1 : 1;
        // 7: native transport, when the interfaces differ.
        if (a.has_source && b.has_source && a.index != b.index) {
            const bool na = native_interface(a.index), nb = native_interface(b.index);
            if (na != nb) return na ? -1 : 1;
        }
        // 8: smaller scope.
        const int ca = scope(da), cb = scope(db);
        if (ca != cb) return ca < cb ? -1 : 1;
        // 9: longest matching prefix, within one family.
        if (a.has_source && b.has_source && da->sa_family == db->sa_family) {
            unsigned ra, rb;
            if (da->sa_family == AF_INET) {
                ra = v4_match(a);
                rb = v4_match(b);
            } else {
                ra = common_prefix(mapped(da), mapped(sa));
                rb = common_prefix(mapped(db), mapped(sb));
            }
            if (ra != rb) return ra > rb ? -1 : 1;
        }
        // 10: keep the original order.
        return 0;
    }

    // glibc's merge sort: left half n/2, ties taken from the left.
    void sort(Candidate* items, std::size_t n, Candidate* scratch) const {
        if (n <= 1) return;
        const std::size_t left = n / 2;
        sort(items, left, scratch);
        sort(items + left, n - left, scratch);
        std::size_t i = 0, j = left, k = 0;
        while (i < left && j < n) scratch[k++] = compare(items[i], items[j]) <= 0 ? items[i++] : items[j++];
        while (i < left) scratch[k++] = items[i++];
        while (j < n) scratch[k++] = items[j++];
        for (std::size_t m = 0; m < n; ++m) items[m] = scratch[m];
    }
};

}  // namespace

void sort_like_glibc(std::vector<Address>& destinations) {
    const TransientFds opening;  // gai.conf, interface lookups, the probe sockets
    if (destinations.size() < 2) return;
    const std::vector<Local> locals = local_addresses();
    std::vector<Candidate> candidates(destinations.size()), scratch(destinations.size());
    for (std::size_t i = 0; i < destinations.size(); ++i) {
        candidates[i].dest = destinations[i];
        if (i > 0 && destinations[i] == destinations[i - 1]) {
            candidates[i] = candidates[i - 1];  // glibc reuses the previous answer
            continue;
        }
        find_source(candidates[i], locals);
    }
    Sorter().sort(candidates.data(), candidates.size(), scratch.data());
    for (std::size_t i = 0; i < candidates.size(); ++i) destinations[i] = candidates[i].dest;
}

}  // namespace green::detail
