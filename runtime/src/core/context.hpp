// Switching between execution contexts. context.cpp is the only file that touches
// Boost.Context; it also tells AddressSanitizer and ThreadSanitizer about every
// switch and gives each fiber its own C++ exception state (the "currently
// caught" list and std::uncaught_exceptions() are per thread in the ABI, but
// must be per fiber).
#pragma once

#include <cstddef>

#include "green/detail/core.hpp"

namespace green::detail {

// Prepares `ctx` (whose stack_lo/stack_size are set) to run ctx.entry(ctx) when
// first switched to. The entry must never return; it ends with exit_context.
void make_context(FiberContext& ctx) noexcept;

// A context made by make_context that will never run (again): the hub's own when
// the hub goes, a greenlet's killed before it started.
void discard_context(FiberContext& ctx) noexcept;

// Suspends `from` (the running context) and resumes `to`. Returns when some
// context switches back to `from`.
void switch_context(FiberContext& from, FiberContext& to) noexcept;

// Leaves `from` for good and resumes `to`; `from`'s stack may be released as
// soon as `to` runs.
[[noreturn]] void exit_context(FiberContext& from, FiberContext& to) noexcept;

// Under AddressSanitizer (nothing otherwise): tells ASan's current thread that
// it runs on `running`'s stack (which must be the running context's). ASan
// learns stacks at switches, for the thread its pthread key names then; a
// green thread made through ASan's pthread_create interceptor has its own,
// which ends before its greenlet does, and the carrier's must take over.
void sanitizer_on_stack(const FiberContext& running) noexcept;

}  // namespace green::detail
