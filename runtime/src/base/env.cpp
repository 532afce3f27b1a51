#include "base/env.hpp"

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace green::detail {
namespace {

std::optional<unsigned long long> parse_count(const char* s, bool allow_suffix) noexcept {
    if (*s < '0' || *s > '9') return std::nullopt;  // no sign, no blanks
    errno = 0;
    char* end = nullptr;
    const unsigned long long value = std::strtoull(s, &end, 10);
    if (errno != 0) return std::nullopt;
    unsigned shift = 0;
    if (allow_suffix && *end) {
        switch (*end | 0x20) {
        case 'k': shift = 10; break;
        case 'm': shift = 20; break;
        case 'g': shift = 30; break;
        default: return std::nullopt;
        }
        ++end;
        if ((*end | 0x20) == 'b' || (*end == 'i' && (end[1] | 0x20) == 'b')) end += (*end == 'i') ? 2 : 1;
    }
    if (*end) return std::nullopt;
    if (shift && value > (~0ULL >> shift)) return std::nullopt;
    return value << shift;
}

// 16384 as "16K", 1073741824 as "1G".
void format_size(char (&out)[32], std::size_t n) noexcept {
    const char* units = "KMG";
    int unit = -1;
    while (unit < 2 && n != 0 && n % 1024 == 0) {
        n /= 1024;
        ++unit;
    }
    if (unit < 0)
        std::snprintf(out, sizeof out, "%zu", n);
    else
        std::snprintf(out, sizeof out, "%zu%c", n, units[unit]);
}

void ignoring(const char* name, const char* value, const char* what, const char* min, const char* max) noexcept {
    std::fprintf(stderr, "green: ignoring %s='%s': not %s from %s to %s\n", name, value, what, min, max);
}

}  // namespace

const char* env(const char* name) noexcept {
    const char* v = secure_getenv(name);
    return v && *v ? v : nullptr;
}

std::optional<long> env_long(const char* name, long min, long max) noexcept {
    const char* s = env(name);
    if (!s) return std::nullopt;
    const auto v = parse_count(s, false);
    if (v && *v <= static_cast<unsigned long long>(LONG_MAX) && static_cast<long>(*v) >= min &&
        static_cast<long>(*v) <= max)
        return static_cast<long>(*v);
    char lo[32], hi[32];
    std::snprintf(lo, sizeof lo, "%ld", min);
    std::snprintf(hi, sizeof hi, "%ld", max);
    ignoring(name, s, "a whole number", lo, hi);
    return std::nullopt;
}

std::optional<std::size_t> env_size(const char* name, std::size_t min, std::size_t max) noexcept {
    const char* s = env(name);
    if (!s) return std::nullopt;
    const auto v = parse_count(s, true);
    if (v && *v >= min && *v <= max) return static_cast<std::size_t>(*v);
    char lo[32], hi[32];
    format_size(lo, min);
    format_size(hi, max);
    ignoring(name, s, "a size (like 256K or 1M)", lo, hi);
    return std::nullopt;
}

std::optional<double> env_seconds(const char* name, double min, double max) noexcept {
    const char* s = env(name);
    if (!s) return std::nullopt;
    char* end = nullptr;
    const double v = (*s >= '0' && *s <= '9') || *s == '.' ? std::strtod(s, &end) : NAN;
    if (end && !*end && v >= min && v <= max) return v;
    char lo[32], hi[32];
    std::snprintf(lo, sizeof lo, "%g", min);
    std::snprintf(hi, sizeof hi, "%g", max);
    ignoring(name, s, "a number of seconds", lo, hi);
    return std::nullopt;
}

}  // namespace green::detail
