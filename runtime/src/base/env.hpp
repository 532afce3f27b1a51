// Reading the environment variables that configure green (GREEN_*, and the few
// others the runtime, the shim and greenrun read for their own settings). A
// malformed or out-of-range value is ignored with one message on stderr naming
// the variable and what it takes, never fatal: the runtime may be preloaded
// into programs that know nothing about it.
//
// Every read goes through env(): in a process running with AT_SECURE (setuid,
// setgid, file capabilities) the environment is its unprivileged caller's, so
// none of it is taken: a user must not point a privileged program's hosts file
// or DNS servers elsewhere, turn off its stack guards or make it exit early.
#pragma once

#include <cstddef>
#include <optional>

namespace green::detail {

// NAME's value, or null when it is unset or empty, or the process is AT_SECURE.
const char* env(const char* name) noexcept;

// A whole number from min to max.
std::optional<long> env_long(const char* name, long min, long max) noexcept;

// A byte count (or a count) from min to max, such as "65536", "64K", "1M" or
// "1G" (binary units).
std::optional<std::size_t> env_size(const char* name, std::size_t min, std::size_t max) noexcept;

// Seconds from min to max, such as "5" or "0.25".
std::optional<double> env_seconds(const char* name, double min, double max) noexcept;

}  // namespace green::detail
