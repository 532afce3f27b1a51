// Laying out green's DNS answers in the caller's memory the way glibc lays
// out its own: getaddrinfo's list, and gethostby*_r's hostent in the caller's
// buffer. Apart from the hooks (dns_hooks.cpp) so that the fuzz target
// fuzz/hostent_fuzz.cpp reaches them with no hook around.
#pragma once

#include <netdb.h>

#include <cstddef>
#include <string>
#include <vector>

#include <green/dns.hpp>

namespace shim {

// An addrinfo list of `found`, each node and its sockaddr in one calloc'd
// block, the canonical name strdup'd: freeaddrinfo (ours or glibc's) frees it.
// Null when out of memory.
addrinfo* make_list(const std::vector<green::dns::AddrInfo>& found, int flags);

// A hostent's content, to be packed into a caller's buffer.
struct Host {
    std::string name;
    std::vector<std::string> aliases;
    int family = AF_INET;
    std::vector<std::string> addresses;  // raw address bytes, all of one length (h_length: the first one's size)
};

// Packs `h` into `ret` and `buf` as glibc does: the address bytes, then the
// pointer arrays (aligned), then the strings. ERANGE if `buf` is too small.
int pack(const Host& h, hostent* ret, char* buf, std::size_t buflen);

}  // namespace shim
