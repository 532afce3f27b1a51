#include "dns_pack.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace shim {

addrinfo* make_list(const std::vector<green::dns::AddrInfo>& found, int flags) {
    addrinfo* head = nullptr;
    addrinfo** tail = &head;
    for (const auto& ai : found) {
        const socklen_t len = ai.address.size();
        auto* node = static_cast<addrinfo*>(std::calloc(1, sizeof(addrinfo) + len));
        if (!node) {
            ::freeaddrinfo(head);
            return nullptr;
        }
        node->ai_flags = flags;  // glibc copies the request's flags into every result
        node->ai_family = ai.family;
        node->ai_socktype = ai.socktype;
        node->ai_protocol = ai.protocol;
        node->ai_addrlen = len;
        node->ai_addr = reinterpret_cast<sockaddr*>(node + 1);
        std::memcpy(node->ai_addr, ai.address.data(), len);
        if (!ai.canonname.empty() && !(node->ai_canonname = ::strdup(ai.canonname.c_str()))) {
            std::free(node);
            ::freeaddrinfo(head);
            return nullptr;  // EAI_MEMORY, not a list without the canonical name asked for
        }
        *tail = node;
        tail = &node->ai_next;
    }
    return head;
}

int pack(const Host& h, hostent* ret, char* buf, size_t buflen) {
    const size_t addr_len = !h.addresses.empty() ? h.addresses.front().size()
                            : h.family == AF_INET6 ? sizeof(in6_addr) : sizeof(in_addr);
    size_t need = h.addresses.size() * addr_len;
    need = (need + alignof(char*) - 1) / alignof(char*) * alignof(char*);
    const size_t arrays = (h.addresses.size() + 1 + h.aliases.size() + 1) * sizeof(char*);
    size_t strings = h.name.size() + 1;
    for (const auto& a : h.aliases) strings += a.size() + 1;
    const uintptr_t misalign = reinterpret_cast<uintptr_t>(buf) % alignof(char*);
    const size_t pad = misalign ? alignof(char*) - misalign : 0;
    if (pad + need + arrays + strings > buflen) return ERANGE;
    char* p = buf + pad;
    char* addr_bytes = p;
    for (const auto& a : h.addresses) {
        std::memcpy(p, a.data(), addr_len);
        p += addr_len;
    }
    p = buf + pad + need;
    auto** addr_list = reinterpret_cast<char**>(p);
    for (size_t i = 0; i < h.addresses.size(); ++i) addr_list[i] = addr_bytes + i * addr_len;
    addr_list[h.addresses.size()] = nullptr;
    auto** alias_list = addr_list + h.addresses.size() + 1;
    char* s = reinterpret_cast<char*>(alias_list + h.aliases.size() + 1);
    auto copy = [&s](const std::string& text) {
        char* at = s;
        std::memcpy(s, text.c_str(), text.size() + 1);
        s += text.size() + 1;
        return at;
    };
    ret->h_name = copy(h.name);
    for (size_t i = 0; i < h.aliases.size(); ++i) alias_list[i] = copy(h.aliases[i]);
    alias_list[h.aliases.size()] = nullptr;
    ret->h_aliases = alias_list;
    ret->h_addrtype = h.family;
    ret->h_length = static_cast<int>(addr_len);
    ret->h_addr_list = addr_list;
    return 0;
}

}  // namespace shim
