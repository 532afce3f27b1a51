// Switching between execution contexts. This file and context.cpp are the only
// ones that touch Boost.Context (the switch itself is inline: it is the hot
// path of every park); it also tells AddressSanitizer and ThreadSanitizer about every
// switch and gives each fiber its own C++ exception state (the "currently
// caught" list and std::uncaught_exceptions() are per thread in the ABI, but
// must be per fiber).
#pragma once

#include <boost/context/detail/fcontext.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <cxxabi.h>

#if defined(__SANITIZE_ADDRESS__)
#define GREEN_ASAN 1
#include <sanitizer/common_interface_defs.h>
#elif defined(__SANITIZE_THREAD__)
#define GREEN_TSAN 1
#include <sanitizer/tsan_interface.h>
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GREEN_ASAN 1
#include <sanitizer/common_interface_defs.h>
#elif __has_feature(thread_sanitizer)
#define GREEN_TSAN 1
#include <sanitizer/tsan_interface.h>
#endif
#endif

#include "green/detail/core.hpp"

namespace green::detail {
namespace context_impl {
namespace ctx = boost::context::detail;

// The Itanium C++ ABI's per-thread exception globals: the list of exceptions
// currently caught and the count of exceptions in flight. Two words on every
// target without the ARM EH unwinder.
#if defined(__ARM_EABI_UNWINDER__)
#error "green: the ARM EH unwinder keeps three words of exception globals; extend EhGlobals"
#endif
struct EhGlobals {
    void* words[2];
};

// Enters jump_fcontext without a `call`. Boost's jump_fcontext leaves through an
// indirect `jmp`, never a `ret`, so a `call` into it leaves one stale entry on
// the CPU's return-stack buffer and every `ret` of the resumed fiber is then
// predicted one frame off: measured here, 24 ns instead of 14 ns per switch
// under three call levels. Pushing the return address and jumping keeps the
// buffer balanced. The red zone is stepped over because the push would
// overwrite it; every register jump_fcontext does not preserve is clobbered.
// tools/gdb/green.py relies on this layout to show a suspended fiber's stack.
inline ctx::transfer_t jump(ctx::fcontext_t to, void* vp) noexcept {
#if defined(__x86_64__) && defined(__ELF__)
    register void* rdi asm("rdi") = to;
    register void* rsi asm("rsi") = vp;
    register void* rax asm("rax");
    register void* rdx asm("rdx");
    asm volatile(
        "lea -128(%%rsp), %%rsp\n\t"
        "lea 1f(%%rip), %%rcx\n\t"
        "push %%rcx\n\t"
        "jmp jump_fcontext\n\t"
        "1:\n\t"
        "lea 128(%%rsp), %%rsp\n\t"
        : "+r"(rdi), "+r"(rsi), "=r"(rax), "=r"(rdx)
        :
        : "rcx", "r8", "r9", "r10", "r11", "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
          "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "st", "st(1)",
          "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)", "mm0", "mm1", "mm2", "mm3", "mm4", "mm5", "mm6",
          "mm7");
    return {rax, rdx};
#else
    return ctx::jump_fcontext(to, vp);
#endif
}

// What a switching context hands to the resumed one: who it was, so the resumed
// side can store the suspended continuation, and whom it meant to start.
struct Handover {
    FiberContext* from;
    FiberContext* to;
#ifdef GREEN_TSAN
    bool from_ended = false;  // its TSan fiber goes once we no longer run on it
#endif
};

inline void swap_exception_state(FiberContext& from, FiberContext& to, EhGlobals* g) noexcept {
    std::memcpy(from.eh_state, g->words, sizeof g->words);
    std::memcpy(g->words, to.eh_state, sizeof g->words);
}

inline void asan_start(FiberContext* from, const FiberContext& to) noexcept {
#ifdef GREEN_ASAN
    // A null save slot tells ASan that `from` is finished and its fake stack can go.
    __sanitizer_start_switch_fiber(from ? &from->asan_fake_stack : nullptr, to.stack_lo, to.stack_size);
#else
    (void)from;
    (void)to;
#endif
}

// ThreadSanitizer keeps a shadow state per fiber: each context made here gets
// its own, a thread's own context the one TSan gave the thread, and every
// switch is announced. The switch synchronises (flag 0): the fibers of one
// thread share the hub's data without atomics, ordered by the switches.
inline void tsan_switch(FiberContext& from, const FiberContext& to) noexcept {
#ifdef GREEN_TSAN
    if (!from.tsan_fiber) from.tsan_fiber = __tsan_get_current_fiber();  // a thread's own context
    __tsan_switch_to_fiber(to.tsan_fiber, 0);
#else
    (void)from;
    (void)to;
#endif
}

inline void tsan_forget(FiberContext& c) noexcept {
#ifdef GREEN_TSAN
    if (c.tsan_fiber) __tsan_destroy_fiber(c.tsan_fiber);
    c.tsan_fiber = nullptr;
#else
    (void)c;
#endif
}

// Runs in the resumed context right after a switch.
inline void arrived(ctx::transfer_t t, void* fake_stack) noexcept {
    auto* h = static_cast<Handover*>(t.data);
#ifdef GREEN_TSAN
    if (h->from_ended) tsan_forget(*h->from);
#endif
#ifdef GREEN_ASAN
    const void* lo = nullptr;
    std::size_t size = 0;
    __sanitizer_finish_switch_fiber(fake_stack, &lo, &size);
    if (!h->from->stack_lo) {  // a thread's own stack: learn its bounds now
        h->from->stack_lo = const_cast<void*>(lo);
        h->from->stack_size = size;
    }
#else
    (void)fake_stack;
#endif
    h->from->fctx = t.fctx;
}

}  // namespace context_impl

// The running thread's C++ exception globals, for switch_context: the hub
// keeps them, which spares every switch a TLS lookup.
using ExceptionGlobals = context_impl::EhGlobals;
inline ExceptionGlobals* this_thread_exception_globals() noexcept {
    return reinterpret_cast<ExceptionGlobals*>(abi::__cxa_get_globals());
}

// Suspends `from` (the running context) and resumes `to`, on the thread whose
// exception globals are `eh`. Returns when some context switches back to `from`.
inline void switch_context(FiberContext& from, FiberContext& to, ExceptionGlobals* eh) noexcept {
    using namespace context_impl;
    Handover h{&from, &to};
    swap_exception_state(from, to, eh);
    asan_start(&from, to);
    tsan_switch(from, to);
    ctx::transfer_t t = jump(to.fctx, &h);
    arrived(t, from.asan_fake_stack);
}

// Prepares `ctx` (whose stack_lo/stack_size are set) to run ctx.entry(ctx) when
// first switched to. The entry must never return; it ends with exit_context.
void make_context(FiberContext& ctx) noexcept;

// A context made by make_context that will never run (again): the hub's own when
// the hub goes, a greenlet's killed before it started.
void discard_context(FiberContext& ctx) noexcept;

// Leaves `from` for good and resumes `to`; `from`'s stack may be released as
// soon as `to` runs.
[[noreturn]] void exit_context(FiberContext& from, FiberContext& to, ExceptionGlobals* eh) noexcept;

// Under AddressSanitizer (nothing otherwise): tells ASan's current thread that
// it runs on `running`'s stack (which must be the running context's). ASan
// learns stacks at switches, for the thread its pthread key names then; a
// green thread made through ASan's pthread_create interceptor has its own,
// which ends before its greenlet does, and the carrier's must take over.
void sanitizer_on_stack(const FiberContext& running) noexcept;

}  // namespace green::detail
