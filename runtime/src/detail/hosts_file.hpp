// The hosts file (/etc/hosts, or GREEN_HOSTS_FILE): green reads it itself, in
// glibc's way, before asking DNS (nsswitch's "files dns").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "green/address.hpp"

namespace green::detail {

struct HostsMatch {
    std::string canonical;              // the first name on the first matching line
    std::vector<std::string> aliases;   // the other names on matching lines
    std::vector<Address> addresses;     // in file order (port 0)
};

// The path in use: GREEN_HOSTS_FILE if set, else /etc/hosts.
std::string hosts_file_path();

// Every line naming `name` (case-insensitively) with an address of `family`
// (AF_UNSPEC: any). Empty addresses when there is none. Re-reads the file when
// it changed.
HostsMatch hosts_lookup(std::string_view name, int family);

// The canonical name of the first line with `address`, or "".
std::string hosts_reverse(const Address& address);

}  // namespace green::detail
