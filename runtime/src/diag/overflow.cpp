#include "diag/overflow.hpp"

#include <signal.h>
#include <ucontext.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>

#include "core/hub.hpp"
#include "core/stack.hpp"
#include "diag/report.hpp"

namespace green::detail {
namespace {

constexpr std::size_t kAltStack = 64 * 1024;
// A frame larger than the guard page can fault below it; treat faults this far
// under the stack as overflow too.
constexpr std::size_t kGuardReach = 64 * 1024;

struct sigaction previous_segv;
thread_local void* own_altstack = nullptr;

void chain(int sig, siginfo_t* info, void* uc) {
    if (previous_segv.sa_flags & SA_SIGINFO) {
        if (previous_segv.sa_sigaction) previous_segv.sa_sigaction(sig, info, uc);
        return;
    }
    if (previous_segv.sa_handler == SIG_DFL || previous_segv.sa_handler == SIG_IGN) {
        // Let the fault happen again with the default action (a core dump).
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        sigaction(sig, &dfl, nullptr);
        return;
    }
    previous_segv.sa_handler(sig);
}

// The stack pointer of the code that faulted, or null where unknown.
const char* faulting_stack_pointer(const void* uc) noexcept {
    const auto* context = static_cast<const ucontext_t*>(uc);
#if defined(__x86_64__)
    return reinterpret_cast<const char*>(context->uc_mcontext.gregs[REG_RSP]);
#elif defined(__aarch64__)
    return reinterpret_cast<const char*>(context->uc_mcontext.sp);
#else
    (void)context;
    return nullptr;
#endif
}

void on_segv(int sig, siginfo_t* info, void* uc) {
    if (Hub* hub = Hub::current_if_any()) {
        const FiberContext& c = hub->running_context();
        const auto* addr = static_cast<const char*>(info->si_addr);
        const auto* lo = static_cast<const char*>(c.stack_lo);
        const char* sp = uc ? faulting_stack_pointer(uc) : nullptr;
        // The fault is an overflow when the running fiber's stack pointer is
        // below its stack: a frame bigger than the guard jumped it, or an
        // unguarded stack ran through its neighbours' into unmapped memory.
        // Or when it hit just under the stack (the guard page).
        const bool sp_below = sp && sp < lo;
        if (c.stack_kind != stack_thread && lo && (sp_below || (addr < lo && addr + kGuardReach >= lo)))
            report_stack_overflow(c);
    }
    chain(sig, info, uc);
}

}  // namespace

void report_stack_overflow(const FiberContext& c) noexcept {
    ReportLine line;
    line << "green: stack overflow in greenlet ";
    if (c.owner)
        line << *c.owner;
    else
        line << "hub";
    line << " (stack " << std::uint64_t{c.stack_size / 1024} << " KiB)\n";
    line.write();
    // abort() must not run on the overflowed stack's handler again.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGSEGV, &dfl, nullptr);
    std::abort();
}

void install_overflow_handler() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction sa {};
        sa.sa_sigaction = on_segv;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, &previous_segv);
    });
    stack_t current{};
    if (sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return;  // the thread has one
    void* mem = mmap(nullptr, kAltStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return;  // no report on overflow then, but nothing else breaks
    stack_t ss{};
    ss.ss_sp = mem;
    ss.ss_size = kAltStack;
    if (sigaltstack(&ss, nullptr) != 0) {
        munmap(mem, kAltStack);
        return;
    }
    own_altstack = mem;
}

void remove_overflow_altstack() noexcept {
    if (!own_altstack) return;
    stack_t current{};
    if (sigaltstack(nullptr, &current) == 0 && current.ss_sp == own_altstack && !(current.ss_flags & SS_ONSTACK)) {
        stack_t off{};
        off.ss_flags = SS_DISABLE;
        sigaltstack(&off, nullptr);
        munmap(own_altstack, kAltStack);
    }
    own_altstack = nullptr;
}

}  // namespace green::detail
