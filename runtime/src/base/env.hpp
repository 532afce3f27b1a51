// Reading the environment variables that configure green (GREEN_*, and the few
// others the runtime, the shim and greenrun read for their own settings). A
// malformed value is reported once on stderr and ignored, never fatal: the
// runtime may be preloaded into programs that know nothing about it.
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

// A byte count such as "65536", "64K", "1M" or "1G" (binary units).
std::optional<std::size_t> env_size(const char* name);

// A non-negative integer.
std::optional<long> env_long(const char* name);

}  // namespace green::detail
