// The shim's packing of DNS answers into the caller's memory
// (shim/dns_pack.cpp), on any answer and any buffer:
//   - pack() fills a gethostby*_r buffer of any size and alignment without a
//     byte outside it (AddressSanitizer watches its edges), and what it packs
//     reads back as the answer; when it says ERANGE, a buffer large enough
//     for everything takes the same answer;
//   - make_list() builds a getaddrinfo list that reads back as the answer and
//     that glibc's own freeaddrinfo frees.
// The input is read as a little program of lengths and bytes (Reader).
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dns_pack.hpp"

namespace {

// Takes bytes from the front of the input; zeros once it runs out.
struct Reader {
    const std::uint8_t* p;
    std::size_t left;
    unsigned byte() {
        if (!left) return 0;
        --left;
        return *p++;
    }
    std::string bytes(std::size_t n) {
        n = std::min(n, left);
        std::string s(reinterpret_cast<const char*>(p), n);
        p += n;
        left -= n;
        return s;
    }
    // A name: no NUL inside (a C string in the hostent).
    std::string text() {
        std::string s = bytes(byte() % 48);
        for (char& c : s)
            if (c == '\0') c = '.';
        return s;
    }
};

bool inside(const void* at, std::size_t len, const char* buf, std::size_t buflen) {
    const char* c = static_cast<const char*>(at);
    return c >= buf && c + len <= buf + buflen;
}

// Whether `ret`, packed in [buf, buf + buflen), reads back as `h`.
bool reads_back(const shim::Host& h, const hostent& ret, const char* buf, std::size_t buflen) {
    const std::size_t addr_len = h.addresses.empty() ? static_cast<std::size_t>(ret.h_length) : h.addresses.front().size();
    if (ret.h_addrtype != h.family || static_cast<std::size_t>(ret.h_length) != addr_len) return false;
    if (!inside(ret.h_name, h.name.size() + 1, buf, buflen) || ret.h_name != h.name) return false;
    if (reinterpret_cast<std::uintptr_t>(ret.h_addr_list) % alignof(char*) ||
        reinterpret_cast<std::uintptr_t>(ret.h_aliases) % alignof(char*))
        return false;
    if (!inside(ret.h_addr_list, (h.addresses.size() + 1) * sizeof(char*), buf, buflen)) return false;
    for (std::size_t i = 0; i < h.addresses.size(); ++i)
        if (!inside(ret.h_addr_list[i], addr_len, buf, buflen) ||
            std::memcmp(ret.h_addr_list[i], h.addresses[i].data(), addr_len) != 0)
            return false;
    if (ret.h_addr_list[h.addresses.size()]) return false;
    if (!inside(ret.h_aliases, (h.aliases.size() + 1) * sizeof(char*), buf, buflen)) return false;
    for (std::size_t i = 0; i < h.aliases.size(); ++i)
        if (!inside(ret.h_aliases[i], h.aliases[i].size() + 1, buf, buflen) || ret.h_aliases[i] != h.aliases[i])
            return false;
    return ret.h_aliases[h.aliases.size()] == nullptr;
}

// pack() into a buffer of its own allocation, `buflen` bytes from `misalign`
// bytes past an aligned start; returns what pack returned.
int pack_into(const shim::Host& h, std::size_t buflen, std::size_t misalign) {
    std::unique_ptr<char[]> block(new char[misalign + buflen]);
    char* buf = block.get() + misalign;
    hostent ret{};
    const int r = shim::pack(h, &ret, buf, buflen);
    if (r == 0 && !reads_back(h, ret, buf, buflen)) std::abort();
    if (r != 0 && r != ERANGE) std::abort();
    return r;
}

void check_pack(Reader& in) {
    shim::Host h;
    h.family = in.byte() % 2 ? AF_INET6 : AF_INET;
    // As the hooks make them: every address of one length (4 or 16, or what
    // a gethostbyaddr caller passed: any length from 1).
    const std::size_t addr_len = 1 + in.byte() % 32;
    h.name = in.text();
    for (unsigned n = in.byte() % 8; n; --n) h.aliases.push_back(in.text());
    for (unsigned n = in.byte() % 8; n; --n) {
        std::string a = in.bytes(addr_len);
        a.resize(addr_len, '\x7f');
        h.addresses.push_back(a);
    }
    const std::size_t buflen = (in.byte() << 8 | in.byte()) % 2048;
    const std::size_t misalign = in.byte() % alignof(char*);
    if (pack_into(h, buflen, misalign) == ERANGE) {
        std::size_t all = alignof(char*) + h.addresses.size() * addr_len + alignof(char*) +
                          (h.addresses.size() + h.aliases.size() + 2) * sizeof(char*) + h.name.size() + 1;
        for (const auto& a : h.aliases) all += a.size() + 1;
        if (pack_into(h, all, misalign) != 0) std::abort();
    }
}

void check_list(Reader& in) {
    std::vector<green::dns::AddrInfo> found;
    for (unsigned n = in.byte() % 6; n; --n) {
        green::dns::AddrInfo ai{};
        ai.family = in.byte() % 2 ? AF_INET6 : AF_INET;
        ai.socktype = static_cast<int>(in.byte() % 4);
        ai.protocol = static_cast<int>(in.byte());
        std::string raw = in.bytes(ai.family == AF_INET6 ? sizeof(in6_addr) : sizeof(in_addr));
        raw.resize(ai.family == AF_INET6 ? sizeof(in6_addr) : sizeof(in_addr));
        ai.address = green::Address::from_bytes(ai.family, raw.data(), static_cast<std::uint16_t>(in.byte() << 8 | in.byte()));
        if (in.byte() % 2) ai.canonname = in.text();
        found.push_back(ai);
    }
    const int flags = static_cast<int>(in.byte());
    addrinfo* list = shim::make_list(found, flags);
    if (!list && !found.empty()) std::abort();
    const addrinfo* node = list;
    for (const auto& ai : found) {
        if (!node || node->ai_flags != flags || node->ai_family != ai.family || node->ai_socktype != ai.socktype ||
            node->ai_protocol != ai.protocol || node->ai_addrlen != ai.address.size() ||
            std::memcmp(node->ai_addr, ai.address.data(), ai.address.size()) != 0)
            std::abort();
        if (ai.canonname.empty() ? node->ai_canonname != nullptr
                                 : !node->ai_canonname || node->ai_canonname != ai.canonname.substr(0, ai.canonname.find('\0')))
            std::abort();
        node = node->ai_next;
    }
    if (node) std::abort();
    ::freeaddrinfo(list);  // glibc's: the layout must be its own
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Reader in{data, size};
    if (in.byte() % 2)
        check_list(in);
    else
        check_pack(in);
    return 0;
}
