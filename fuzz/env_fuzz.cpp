// The GREEN_* variable parsers (runtime/src/base/env.cpp) on any value: a value
// they take is within the bounds asked; a whole number is exactly the digits
// given; a size without a unit is the plain number; seconds are a number.
// Input: two bytes choosing the bounds, then the value (up to a NUL byte).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <string>

#include "base/env.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // A refused value is reported with one line on stderr; at thousands of
    // inputs a second that is the whole cost. libFuzzer and the sanitizers
    // report on their own copies of descriptor 2, which stay.
    stderr = std::fopen("/dev/null", "w");
    return 0;
}

namespace {

// The value of a string of decimal digits, if it is one and fits.
bool digits_value(const std::string& s, unsigned long long& out) {
    if (s.empty()) return false;
    out = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        const unsigned d = static_cast<unsigned>(c - '0');
        if (out > (~0ULL - d) / 10) return false;
        out = out * 10 + d;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    static constexpr long kBounds[] = {0, 1, 7, 64, 4096, 65536, 1L << 30, 0x7fffffffffffffffL};
    const long min = kBounds[data[0] % 8 % 4];
    const long max = kBounds[4 + data[1] % 8 % 4];
    // The variable lives in this buffer (putenv), rewritten for each input:
    // setenv would keep every value ever set (glibc never frees them), a
    // gigabyte in a few minutes. The value stops at a NUL byte, as in a real
    // environment.
    static char entry[sizeof "GREEN_FUZZ_VALUE=" + 4096] = "GREEN_FUZZ_VALUE=";
    constexpr std::size_t kName = sizeof "GREEN_FUZZ_VALUE=" - 1;
    static const bool put = ::putenv(entry) == 0;
    if (!put) std::abort();
    const std::size_t n = std::min(size - 2, sizeof entry - kName - 1);
    std::memcpy(entry + kName, data + 2, n);
    entry[kName + n] = '\0';
    const std::string seen = entry + kName;

    unsigned long long plain = 0;
    const bool is_digits = digits_value(seen, plain);
    if (const auto v = green::detail::env_long("GREEN_FUZZ_VALUE", min, max)) {
        if (*v < min || *v > max || !is_digits || plain != static_cast<unsigned long long>(*v)) std::abort();
    } else if (is_digits && plain >= static_cast<unsigned long long>(min) && plain <= static_cast<unsigned long long>(max)) {
        std::abort();  // a plain number in range must be taken
    }
    const auto size_min = static_cast<std::size_t>(min), size_max = static_cast<std::size_t>(max);
    if (const auto v = green::detail::env_size("GREEN_FUZZ_VALUE", size_min, size_max)) {
        if (*v < size_min || *v > size_max) std::abort();
        if (is_digits && plain != *v) std::abort();
        if (!is_digits && (*v % 1024) != 0) std::abort();  // a unit multiplies by a power of 1024
    } else if (is_digits && plain >= size_min && plain <= size_max) {
        std::abort();
    }
    const double lo = static_cast<double>(min) / 1000, hi = static_cast<double>(max) / 1000;
    if (const auto v = green::detail::env_seconds("GREEN_FUZZ_VALUE", lo, hi)) {
        if (std::isnan(*v) || *v < lo || *v > hi) std::abort();
    }
    return 0;
}
