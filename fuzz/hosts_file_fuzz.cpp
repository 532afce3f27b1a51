// The hosts-file parser and lookup (runtime/src/dns/hosts_file.cpp) on any
// bytes. The input is a family byte, a name up to the first newline, then the
// file. What a lookup finds is of the family asked (IPv4 for AF_INET: mapped
// and ::1 lines are read as IPv4), comes with the official name of the line it
// matched, and names the name asked, officially or as an alias; looking up
// that official name finds an address too. The reverse lookup of each address
// found finds a line of that address (of the family asked: a mapped or ::1
// line for IPv4), and so does the reverse lookup of the name read as an
// address, when it is one and a line has it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "dns/hosts_file.hpp"

namespace {

bool same_name(std::string_view a, std::string_view b) {
    return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Reverse-looks `address` up in `content`: what is found is a line of that address.
bool reverse_finds(std::string_view content, const green::Address& address) {
    const auto r = green::detail::hosts_reverse_in(content, address);
    if (r.canonical.empty()) {
        if (!r.addresses.empty() || !r.aliases.empty()) std::abort();
        return false;
    }
    if (r.addresses.size() != 1 || r.addresses[0].host() != address.host()) std::abort();
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    static constexpr int kFamilies[] = {AF_UNSPEC, AF_INET, AF_INET6};
    const int family = kFamilies[data[0] % 3];
    std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    const std::size_t newline = rest.find('\n');
    const std::string_view name = rest.substr(0, newline);
    const std::string_view content = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);

    unsigned char bytes[sizeof(in6_addr)];
    const std::string text(name);
    for (const int f : {AF_INET, AF_INET6})
        if (::inet_pton(f, text.c_str(), bytes) == 1) reverse_finds(content, green::Address::from_bytes(f, bytes));

    const auto m = green::detail::hosts_lookup_in(content, name, family);
    if (m.addresses.empty()) return 0;
    for (const auto& a : m.addresses) {
        if (family != AF_UNSPEC && a.family() != family) std::abort();
        if (a.family() != AF_INET && a.family() != AF_INET6) std::abort();
        if (a.port() != 0) std::abort();
        if (!reverse_finds(content, a)) std::abort();
    }
    if (m.canonical.empty()) std::abort();
    bool named = same_name(m.canonical, name);
    for (const auto& alias : m.aliases) named = named || same_name(alias, name);
    if (!named) std::abort();
    if (green::detail::hosts_lookup_in(content, m.canonical, family).addresses.empty()) std::abort();
    return 0;
}
