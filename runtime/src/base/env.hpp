// Reading GREEN_* environment variables. A malformed value is reported once on
// stderr and ignored, never fatal: the runtime may be preloaded into programs
// that know nothing about it.
#pragma once

#include <cstddef>
#include <optional>

namespace green::detail {

// A byte count such as "65536", "64K", "1M" or "1G" (binary units).
std::optional<std::size_t> env_size(const char* name);

// A non-negative integer.
std::optional<long> env_long(const char* name);

}  // namespace green::detail
