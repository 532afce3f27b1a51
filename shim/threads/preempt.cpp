// Preemption of a green thread that computes. The monitor ends a green
// thread's turn after a 10 ms time slice, and the thread lets the others run at
// its next hooked call; one that makes none (a loop that computes, or spins on
// a flag another thread of its carrier is to set) would keep its carrier for
// good. So, as Go's sysmon does since Go 1.14, the monitor sends it a signal
// after one more slice (SIGURG, as Go: ignored by default, so one that comes
// as the thread execs harms the new program nothing; a real-time signal killed
// it), and the handler takes the turn from inside the signal handler: the
// thread's registers wait in the signal frame on its own stack until its turn
// comes again, and the handler then returns into its code.
//
// Only where a switch is as safe as at a hooked call: the interrupted
// instruction is in the program's own code or a library of its, not in glibc,
// the dynamic linker, green's libraries, the C++ runtime, the unwinder or a
// sanitizer runtime (their locks are per OS thread, and another green thread
// of the carrier would walk into them), not inside a signal handler of the
// program's, not in a plain stretch of the shim's. Elsewhere the handler
// returns at once and the monitor tries again at its next tick.
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <signal.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "../real.hpp"
#include "../state.hpp"
#include "thread_state.hpp"

// ThreadSanitizer runs a handler where it likes, not where the signal came.
#if defined(__SANITIZE_THREAD__)
#define GREEN_NO_PREEMPTION 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GREEN_NO_PREEMPTION 1
#endif
#endif
#if defined(GREEN_NO_PREEMPTION)
constexpr bool kPreemptionBuilt = false;
#else
constexpr bool kPreemptionBuilt = true;
#endif

namespace shim::threads {
namespace {

// Preemptions are sent by the monitor as queued signals (SI_QUEUE, from this
// process) that carry this address: anything else is a SIGURG of the
// program's (out-of-band data), whose disposition is the program's.
const int kMark = 0;

std::atomic<bool> active{false};
// The program's own disposition of SIGURG while the kernel has ours: it only
// ever asked for the default or to ignore it (both ignore it), or nothing.
struct sigaction programs {};

// The code of the objects a green thread is never preempted in, found once
// (they are all loaded before the first green thread starts, and stay).
struct Range {
    std::uintptr_t lo, hi;
};
constexpr std::size_t kMaxRanges = 64;
Range never_preempted[kMaxRanges];
std::size_t ranges = 0;

bool keeps_its_own_locks(std::string_view library) noexcept {
    for (std::string_view prefix : {"libc.so", "ld-linux", "libgreen", "libstdc++", "libgcc_s", "libev.so",
                                    "libcares.so", "libpthread.so", "libdl.so", "librt.so", "linux-vdso"})
        if (library.substr(0, prefix.size()) == prefix) return true;
    return in_sanitizer_runtime(library);
}

int note_code(dl_phdr_info* info, std::size_t, void*) {
    const char* path = info->dlpi_name ? info->dlpi_name : "";
    const char* slash = std::strrchr(path, '/');
    if (!keeps_its_own_locks(slash ? slash + 1 : path)) return 0;
    for (int i = 0; i < info->dlpi_phnum && ranges < kMaxRanges; ++i) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
        const std::uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
        never_preempted[ranges++] = Range{lo, lo + ph.p_memsz};
    }
    return 0;
}

bool in_code_never_preempted(std::uintptr_t pc) noexcept {
    for (std::size_t i = 0; i < ranges; ++i)
        if (pc >= never_preempted[i].lo && pc < never_preempted[i].hi) return true;
    return false;
}

std::uintptr_t interrupted_at(const ucontext_t& uc) noexcept {
#if defined(__x86_64__)
    return static_cast<std::uintptr_t>(uc.uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
    return static_cast<std::uintptr_t>(uc.uc_mcontext.pc);
#else
    (void)uc;
    return 0;
#endif
}

void preempt(int, siginfo_t* info, void* context) {
    if (!is_preemption(info)) return;  // the program's SIGURG, which it ignores
    auto& uc = *static_cast<ucontext_t*>(context);
    const std::uintptr_t pc = interrupted_at(uc);
    if (pc == 0 || state::plain_depth != 0 || in_code_never_preempted(pc) || !current()) return;
    api::take_turn_if_over();
    // Returning restores the mask saved as the signal came; the carrier's
    // may have changed meanwhile (another green thread's pthread_sigmask).
    real::pthread_sigmask(SIG_SETMASK, nullptr, &uc.uc_sigmask);
}

}  // namespace

bool is_preemption(const siginfo_t* info) noexcept {
    return info && info->si_code == SI_QUEUE && info->si_value.sival_ptr == &kMark && info->si_pid == ::getpid();
}

void start_preemption() noexcept {
    static std::atomic<bool> started{false};
    if (started.load(std::memory_order_relaxed) || started.exchange(true, std::memory_order_relaxed)) return;
    const char* off = api::env("GREEN_PREEMPT");
    if (!kPreemptionBuilt || (off && std::strcmp(off, "0") == 0)) return;
    if (real::sigaction(kPreemptSignal, nullptr, &programs) != 0) return;
    const void* handler = handler_of(programs);
    if (handler != reinterpret_cast<void*>(SIG_DFL) && handler != reinterpret_cast<void*>(SIG_IGN))
        return;  // a handler of the program's own
    dl_iterate_phdr(note_code, nullptr);
    struct sigaction sa {};
    sa.sa_sigaction = preempt;
    // Not on an alternate stack: the frame must stay with the green thread.
    // SA_NODEFER: the other green threads run inside this handler, and must
    // not find the signal blocked.
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (real::sigaction(kPreemptSignal, &sa, nullptr) != 0) return;
    active.store(true, std::memory_order_release);
    api::preempt_with(kPreemptSignal, &kMark);
}

bool preempting() noexcept { return active.load(std::memory_order_acquire); }

int program_disposition(const struct sigaction* act, struct sigaction* old) noexcept {
    if (old) *old = programs;
    if (act) programs = *act;
    return 0;
}

void stop_preemption() noexcept {
    if (!active.exchange(false, std::memory_order_acq_rel)) return;
    api::preempt_with(0, nullptr);
    real::sigaction(kPreemptSignal, &programs, nullptr);
}

}  // namespace shim::threads
