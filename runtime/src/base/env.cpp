#include "base/env.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace green::detail {
namespace {

std::optional<unsigned long long> parse_with_suffix(const char* s, bool allow_suffix) {
    errno = 0;
    char* end = nullptr;
    const unsigned long long value = std::strtoull(s, &end, 10);
    if (end == s || errno != 0 || *s == '-') return std::nullopt;
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

template <class T>
std::optional<T> read(const char* name, bool allow_suffix) {
    const char* s = env(name);
    if (!s) return std::nullopt;
    if (auto v = parse_with_suffix(s, allow_suffix)) return static_cast<T>(*v);
    std::fprintf(stderr, "green: ignoring %s='%s': not a %s\n", name, s,
                 allow_suffix ? "size (like 256K or 1M)" : "non-negative integer");
    return std::nullopt;
}

}  // namespace

const char* env(const char* name) noexcept {
    const char* v = secure_getenv(name);
    return v && *v ? v : nullptr;
}

std::optional<std::size_t> env_size(const char* name) { return read<std::size_t>(name, true); }
std::optional<long> env_long(const char* name) { return read<long>(name, false); }

}  // namespace green::detail
