// Switching between execution contexts. This file and context.cpp are the only
// ones that know how a context is suspended: on x86-64 by a switch of our own
// (inline: it is the hot path of every park), elsewhere by Boost.Context's. It
// also tells AddressSanitizer and ThreadSanitizer about every switch and gives
// each fiber its own C++ exception state (the "currently caught" list and
// std::uncaught_exceptions() are per thread in the ABI, but must be per fiber).
#pragma once

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

#if defined(__x86_64__) && defined(__ELF__) && !defined(GREEN_BOOST_SWITCH)
#define GREEN_OWN_SWITCH 1
#else
#include <boost/context/detail/fcontext.hpp>
#endif

#include "green/detail/core.hpp"

namespace green::detail {
namespace context_impl {

// The Itanium C++ ABI's per-thread exception globals: the list of exceptions
// currently caught and the count of exceptions in flight. Two words on every
// target without the ARM EH unwinder.
#if defined(__ARM_EABI_UNWINDER__)
#error "green: the ARM EH unwinder keeps three words of exception globals; extend EhGlobals"
#endif
struct EhGlobals {
    void* words[2];
};

#ifdef GREEN_OWN_SWITCH
static_assert(offsetof(FiberContext, sp) == 0 && offsetof(FiberContext, pc) == 8 &&
                  offsetof(FiberContext, frame) == 16 && offsetof(FiberContext, mxcsr) == 24 &&
                  offsetof(FiberContext, x87_cw) == 28,
              "the switch below addresses these fields by offset");

// Suspends the running context into `from` and resumes `to`; returns, once some
// context resumes `from`, the context that did.
//
// Boost's jump_fcontext saves the six callee-saved registers on every switch,
// although the function that parks has saved them already in its prologue.
// Here they are clobbered instead, so the compiler keeps only what is live
// across the switch, and the switch keeps the stack and frame pointers, the
// resume address and the floating-point control words: 11 instructions against
// 25. It writes to neither stack, so the red zone is safe, and it neither calls
// nor returns, so the CPU's return-stack buffer stays balanced (a `call` into
// a switch that leaves by `jmp` made every `ret` of the resumed fiber
// mispredicted: 24 ns instead of 14 per switch under three call levels).
//
// The resumed side finds the switcher's rdi (its `from`) in its own rdi; a
// fresh context enters fiber_start (context.cpp) with the switcher's rdi and
// rsi as its two arguments. tools/gdb/green.py reads the four saved fields.
// Where AVX-512 is enabled, its sixteen more vector registers and the mask
// registers are the caller's to save too (glibc's string functions use them),
// and GCC would otherwise keep values in them across the switch.
#ifdef __AVX512F__
#define GREEN_AVX512_CLOBBERS                                                                                         \
    , "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", \
        "xmm28", "xmm29", "xmm30", "xmm31", "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"
#else
#define GREEN_AVX512_CLOBBERS
#endif

inline FiberContext* jump(FiberContext& from, FiberContext& to) noexcept {
    register FiberContext* rdi asm("rdi") = &from;
    register FiberContext* rsi asm("rsi") = &to;
    asm volatile(
        "stmxcsr 24(%%rdi)\n\t"
        "fnstcw 28(%%rdi)\n\t"
        "lea 1f(%%rip), %%rcx\n\t"
        "mov %%rsp, 0(%%rdi)\n\t"
        "mov %%rcx, 8(%%rdi)\n\t"
        "mov %%rbp, 16(%%rdi)\n\t"
        "ldmxcsr 24(%%rsi)\n\t"
        "fldcw 28(%%rsi)\n\t"
        "mov 0(%%rsi), %%rsp\n\t"
        "mov 16(%%rsi), %%rbp\n\t"
        "jmp *8(%%rsi)\n\t"
        "1:\n\t"
        : "+r"(rdi), "+r"(rsi)
        :
        : "rax", "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "memory", "cc",
          "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
          "xmm12", "xmm13", "xmm14", "xmm15", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)",
          "st(7)", "mm0", "mm1", "mm2", "mm3", "mm4", "mm5", "mm6", "mm7" GREEN_AVX512_CLOBBERS);
    return rdi;
}
#else
namespace ctx = boost::context::detail;

// Boost.Context's switch. The resumed side stores the suspended continuation
// in the context that switched, which the transfer names; a fresh context
// learns from it which context it is (context.cpp's boost_entry).
struct Handover {
    FiberContext* from;
    FiberContext* to;
};

inline FiberContext* jump(FiberContext& from, FiberContext& to) noexcept {
    Handover h{&from, &to};
    ctx::transfer_t t = ctx::jump_fcontext(to.sp, &h);
    FiberContext* previous = static_cast<Handover*>(t.data)->from;
    previous->sp = t.fctx;
    return previous;
}
#endif

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
// Always inline: TSan keeps a shadow call stack per fiber, and a function of
// its own would be entered on `from`'s and left on `to`'s, one frame off each.
[[gnu::always_inline]] inline void tsan_switch(FiberContext& from, const FiberContext& to) noexcept {
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

#ifdef GREEN_TSAN
// A context that left for good (exit_context): its TSan fiber goes once the
// next context runs, off it.
inline thread_local FiberContext* tsan_ended = nullptr;
#endif

// Runs in the resumed context right after a switch from `from`.
inline void arrived(FiberContext* from, void* fake_stack) noexcept {
#ifdef GREEN_TSAN
    if (tsan_ended) [[unlikely]] {
        tsan_forget(*tsan_ended);
        tsan_ended = nullptr;
    }
#endif
#ifdef GREEN_ASAN
    const void* lo = nullptr;
    std::size_t size = 0;
    __sanitizer_finish_switch_fiber(fake_stack, &lo, &size);
    if (!from->stack_lo) {  // a thread's own stack: learn its bounds now
        from->stack_lo = const_cast<void*>(lo);
        from->stack_size = size;
    }
#else
    (void)from;
    (void)fake_stack;
#endif
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
    swap_exception_state(from, to, eh);
    asan_start(&from, to);
    tsan_switch(from, to);
    FiberContext* previous = jump(from, to);
    arrived(previous, from.asan_fake_stack);
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
