// The order glibc's getaddrinfo gives its results: its reading of RFC 3484
// (rules 1-10) with its default tables (or the label / precedence lines of
// /etc/gai.conf), source addresses found by connecting UDP sockets (no packet
// is sent), source prefixes from the interface list, and glibc's merge sort,
// whose exact steps matter because the comparison is not transitive.
#pragma once

#include <vector>

#include "green/address.hpp"

namespace green::detail {

void sort_like_glibc(std::vector<Address>& destinations);

}  // namespace green::detail
