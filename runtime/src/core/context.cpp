#include "core/context.hpp"

namespace green::detail {
using namespace context_impl;
namespace {

// Where a fresh context starts, called by the first switch to it.
[[noreturn]] void fiber_start(FiberContext* from, FiberContext* self) noexcept {
    arrived(from, nullptr);
    self->entry(*self);
    __builtin_unreachable();
}

#ifndef GREEN_OWN_SWITCH
void boost_entry(ctx::transfer_t t) noexcept {
    const Handover& h = *static_cast<Handover*>(t.data);
    h.from->sp = t.fctx;
    fiber_start(h.from, h.to);
}
#endif

}  // namespace

void make_context(FiberContext& c) noexcept {
    char* top = static_cast<char*>(c.stack_lo) + c.stack_size;
#ifdef GREEN_OWN_SWITCH
    // fiber_start is entered by a jump, as if called: the stack pointer 8 below
    // a 16-byte boundary, on a null return address where unwinders stop.
    auto** frame = reinterpret_cast<void**>(reinterpret_cast<std::uintptr_t>(top) & ~std::uintptr_t{15}) - 1;
    *frame = nullptr;
    c.sp = frame;
    c.pc = reinterpret_cast<void*>(&fiber_start);
    c.frame = nullptr;
    // A new fiber starts with its creator's floating-point control, as a new
    // thread starts with its creator's.
    asm("stmxcsr %0\n\tfnstcw %1" : "=m"(c.mxcsr), "=m"(c.x87_cw));
#else
    c.sp = ctx::make_fcontext(top, c.stack_size, boost_entry);
#endif
    c.eh_state[0] = c.eh_state[1] = nullptr;
#ifdef GREEN_TSAN
    c.tsan_fiber = __tsan_create_fiber(0);
#endif
}

void discard_context(FiberContext& c) noexcept { tsan_forget(c); }

void sanitizer_on_stack(const FiberContext& running) noexcept {
#ifdef GREEN_ASAN
    void* fake_stack = nullptr;
    __sanitizer_start_switch_fiber(&fake_stack, running.stack_lo, running.stack_size);
    __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#else
    (void)running;
#endif
}

void exit_context(FiberContext& from, FiberContext& to, ExceptionGlobals* eh) noexcept {
    swap_exception_state(from, to, eh);
    asan_start(nullptr, to);
    tsan_switch(from, to);
#ifdef GREEN_TSAN
    tsan_ended = &from;
#endif
    jump(from, to);
    __builtin_unreachable();
}

}  // namespace green::detail
