// The hosts file (/etc/hosts, or GREEN_HOSTS_FILE), read the way glibc's files
// backend reads it, before DNS is asked (nsswitch's "files dns"):
//   - AF_INET takes IPv4 lines, and IPv6 lines only as ::ffff:a.b.c.d (as
//     a.b.c.d) or exactly ::1 (as 127.0.0.1); AF_INET6 takes IPv6 lines only;
//     AF_UNSPEC takes both, in file order;
//   - names match case-insensitively, the official name or any alias;
//   - with "multi on" in /etc/host.conf (Debian's default; RESOLV_MULTI
//     overrides) every matching line counts, otherwise only the first;
//   - the canonical name is the official name of the first matching line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "green/address.hpp"

namespace green::detail {

struct HostsMatch {
    std::string canonical;
    std::vector<std::string> aliases;  // as gethostbyname_r lists them
    std::vector<Address> addresses;    // port 0, in file order
};

std::string hosts_file_path();

// Empty addresses when no line names `name` for `family`.
HostsMatch hosts_lookup(std::string_view name, int family);

// hosts_lookup in `content` read as a hosts file, not in the file (for the
// fuzz target fuzz/hosts_file_fuzz.cpp).
HostsMatch hosts_lookup_in(std::string_view content, std::string_view name, int family);

// The first line with `address` (as its family reads the file: AF_INET takes
// ::1 as 127.0.0.1): its official name and aliases; an empty canonical if none.
HostsMatch hosts_reverse(const Address& address);

// hosts_reverse in `content` read as a hosts file (for the fuzz target).
HostsMatch hosts_reverse_in(std::string_view content, const Address& address);

// Whether glibc's files backend would stop with ERANGE before answering a
// gethostbyname*_r (`address` null) or gethostbyaddr_r lookup for `family`,
// given the caller's buffer: it reads each line into that buffer.
bool hosts_scan_runs_out(std::string_view name, const Address* address, int family, const void* buffer,
                         std::size_t buflen);

}  // namespace green::detail
