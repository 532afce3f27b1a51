// The suspension fast path: Hub::park's body, the switch to the next ready
// greenlet and the stack check, inline for the primitives whose waits are the
// hot path (Event, Lock, the fd table) and for hub.cpp, whose Hub::park is this
// for everyone else. Everything rare (a timed wait, a pending interruption,
// errno kept per fiber) is out of line.
#pragma once

#include "core/context.hpp"
#include "core/hub.hpp"
#include "diag/overflow.hpp"

namespace green::detail {

inline void Hub::check_stack(const GreenletCore& g) const noexcept {
    // Past the end of its stack: an unguarded stack overflowed (a guarded one
    // would have faulted already).
    // The stack pointer, read without making the caller keep a frame pointer
    // as __builtin_frame_address would.
    void* sp;
#if defined(__x86_64__)
    asm("mov %%rsp, %0" : "=r"(sp));
#else
    sp = __builtin_frame_address(0);
#endif
    if (sp < g.ctx.stack_lo) [[unlikely]]
        report_stack_overflow(g.ctx);
}

inline void Hub::switch_to(FiberContext& from, GreenletCore* next) noexcept {
    FiberContext* to = &hub_ctx_;
    if (next) {
        next->state = State::running;
        to = &next->ctx;
    }
    running_ = next;
    if (keep_libc_state_) [[unlikely]]
        swap_libc_state(from, *to);
    switch_context(from, *to, exception_globals_);
    reap();
}

inline void Hub::switch_out(GreenletCore& self) {
    check_stack(self);
    // The common case first: one greenlet woke another, which waits in first_.
    GreenletCore* next = first_;
    if (next && budget_ != 0) [[likely]] {
        first_ = nullptr;
        --ready_count_;
        --budget_;
    } else {
        next = nullptr;
        if (ready_count_ != 0 && budget_ != 0) {
            --budget_;
            next = &pop_ready();  // never `self`: yield_now queues itself only behind another
        } else if (!hub_ctx_.sp) [[unlikely]] {
            make_hub_fiber();
        }
    }
    switch_to(self.ctx, next);
}

inline WakeReason Hub::park_inline(WaitList* list, double timeout, const char* what, const void* on, void* slot) {
    GreenletCore* self = running_;
    if (!self) [[unlikely]]
        throw_blocking_in_hub(what);
    if (self->pending) [[unlikely]]
        throw_pending_if_due(*self);
    Waiter waiter(self);
    waiter.slot = slot;
    if (list) list->push_back(waiter);
    self->state = State::parked;
    self->wait_what = what;
    self->wait_on = on;
    if (timeout == kForever) [[likely]]
        switch_out(*self);
    else
        park_timed(*self, timeout);
    const WakeReason reason = self->wake_reason;
    if (self->pending && reason != WakeReason::handoff) [[unlikely]]
        throw_pending_if_due(*self);
    return reason;
}

}  // namespace green::detail
