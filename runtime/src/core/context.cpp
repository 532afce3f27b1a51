#include "core/context.hpp"

namespace green::detail {
using namespace context_impl;
namespace {

void trampoline(ctx::transfer_t t) noexcept {
    FiberContext& self = *static_cast<Handover*>(t.data)->to;
    arrived(t, nullptr);
    self.entry(self);
    __builtin_unreachable();
}

}  // namespace

void make_context(FiberContext& c) noexcept {
    c.fctx = ctx::make_fcontext(static_cast<char*>(c.stack_lo) + c.stack_size, c.stack_size, trampoline);
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
    Handover h{&from, &to};
#ifdef GREEN_TSAN
    h.from_ended = true;
#endif
    swap_exception_state(from, to, eh);
    asan_start(nullptr, to);
    tsan_switch(from, to);
    ctx::jump_fcontext(to.fctx, &h);
    __builtin_unreachable();
}

}  // namespace green::detail
