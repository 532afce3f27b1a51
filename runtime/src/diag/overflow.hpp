// Turning a stack overflow into a clear report instead of a bare SIGSEGV: a
// SIGSEGV handler on an alternate signal stack recognises a fault in (or just
// below) the guard page of the running greenlet's stack, prints
//   green: stack overflow in greenlet NAME (stack N KiB)
// and aborts. Any other fault goes to the handler that was there before us.
#pragma once

#include "green/detail/core.hpp"

namespace green::detail {

// Once per process: the SIGSEGV handler. Once per thread: an alternate signal
// stack, unless the thread already has one.
void install_overflow_handler();
// At hub teardown: removes this thread's alternate stack if it is ours.
void remove_overflow_altstack() noexcept;

// Prints the report for the context `c` and aborts. Async-signal-safe.
[[noreturn]] void report_stack_overflow(const FiberContext& c) noexcept;

}  // namespace green::detail
