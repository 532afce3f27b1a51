// glibc's __nss_hostname_digits_dots: before the hosts file or DNS is asked,
// gethostbyname and friends answer a name shaped like an address themselves.
#pragma once

#include <string_view>

#include "green/address.hpp"

namespace green::detail {

enum class DigitsDots {
    not_address,  // look it up
    address,      // the name is this address
    not_found,    // shaped like an address but none of `family`: HOST_NOT_FOUND
};

// `family` is AF_INET or AF_INET6 (glibc takes any other family as AF_INET).
// On DigitsDots::address, `out` holds the address (port 0).
DigitsDots digits_dots(std::string_view name, int family, Address& out);

}  // namespace green::detail
