#include "process/child_exec.hpp"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <cstring>
#include <memory>
#include <new>

#include "base/raw_syscall.hpp"
#include "base/sys.hpp"

// Code that runs in the child, on a stack the sanitizers do not know and in
// memory it shares with the suspended parent: no instrumentation at all.
#if defined(__clang__) && __has_attribute(disable_sanitizer_instrumentation)
#define GREEN_CHILD_CODE __attribute__((disable_sanitizer_instrumentation))
#else
#define GREEN_CHILD_CODE __attribute__((no_sanitize("address", "thread", "undefined")))
#endif

namespace green::detail {
namespace {

constexpr std::size_t child_stack_size = 16 << 10;

// What the child reads (the plan, its vectors flattened to plain arrays: no
// std::vector member, an instrumented call in an unoptimised build, runs in
// the child) and writes (its error).
struct ChildStart {
    const ChildFdStep* fd_steps;
    std::size_t fd_step_count;
    const char* const* candidates;
    std::size_t candidate_count;
    const ChildPlan* plan;
    bool handlers_cleared;  // by the kernel (CLONE_CLEAR_SIGHAND)
    int error = 0;          // set by a child that failed; it then exits
};

// rt_sigaction's argument on x86-64 and arm64.
struct KernelSigaction {
    unsigned long handler, flags, restorer, mask;
};

GREEN_CHILD_CODE __attribute__((always_inline)) inline void set_default_handler(int sig) {
    KernelSigaction dfl{};  // SIG_DFL, no flags
    raw_syscall(SYS_rt_sigaction, sig, reinterpret_cast<long>(&dfl), 0, sizeof dfl.mask);
}

// What CLONE_CLEAR_SIGHAND does, the slow way: every handled signal back to its
// default (ignored ones stay ignored), so that no handler of the parent's can
// run in the child. Signals are blocked here until the mask is set.
GREEN_CHILD_CODE __attribute__((always_inline)) inline void reset_handlers() {
    for (int sig = 1; sig < _NSIG; ++sig) {
        KernelSigaction now{};
        if (raw_syscall(SYS_rt_sigaction, sig, 0, reinterpret_cast<long>(&now), sizeof now.mask) != 0) continue;
        if (now.handler != reinterpret_cast<unsigned long>(SIG_DFL) &&
            now.handler != reinterpret_cast<unsigned long>(SIG_IGN))
            set_default_handler(sig);
    }
}

// close_range's fallback for kernels before 5.9.
GREEN_CHILD_CODE __attribute__((always_inline)) inline void close_each_from(int lowest) {
    rlimit limit{};
    if (raw_syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, reinterpret_cast<long>(&limit)) != 0) return;
    for (unsigned long fd = static_cast<unsigned long>(lowest); fd < limit.rlim_cur; ++fd) raw_syscall(SYS_close, fd);
}

GREEN_CHILD_CODE __attribute__((always_inline)) inline long take_fd_step(const ChildFdStep& step) {
    switch (step.kind) {
    case ChildFdStep::dup:
        return raw_syscall(SYS_dup3, step.fd, step.target, 0);
    case ChildFdStep::keep_open:
        return raw_syscall(SYS_fcntl, step.fd, F_SETFD, 0);
    case ChildFdStep::close:
        raw_syscall(SYS_close, step.fd);  // as posix_spawn's, errors ignored
        return 0;
    case ChildFdStep::close_from:
        if (raw_syscall(SYS_close_range, step.fd, ~0U, 0) == -ENOSYS) close_each_from(step.fd);
        return 0;
    }
    return -EINVAL;
}

// execvp's search over the candidates; returns the error when none ran.
GREEN_CHILD_CODE __attribute__((always_inline)) inline int exec_first_runnable(const ChildStart& start) {
    int error = ENOENT;
    bool found_unrunnable = false;
    for (std::size_t i = 0; i < start.candidate_count; ++i) {
        error = static_cast<int>(-raw_syscall(SYS_execve, reinterpret_cast<long>(start.candidates[i]),
                                              reinterpret_cast<long>(start.plan->argv),
                                              reinterpret_cast<long>(start.plan->envp)));
        if (error == EACCES)
            found_unrunnable = true;
        else if (error != ENOENT && error != ESTALE && error != ENOTDIR && error != ENODEV && error != ETIMEDOUT)
            return error;
    }
    return found_unrunnable ? EACCES : error;
}

GREEN_CHILD_CODE int child_main(void* argument) {
    ChildStart& start = *static_cast<ChildStart*>(argument);
    const ChildPlan& plan = *start.plan;
    long failed = 0;
    if (!start.handlers_cleared) reset_handlers();
    set_default_handler(SIGPIPE);
    set_default_handler(SIGXFSZ);
    if (plan.new_session) {
        const long session = raw_syscall(SYS_setsid);
        failed = session < 0 ? session : 0;
    }
    for (std::size_t i = 0; failed >= 0 && i < start.fd_step_count; ++i) failed = take_fd_step(start.fd_steps[i]);
    if (failed >= 0 && plan.cwd) failed = raw_syscall(SYS_chdir, reinterpret_cast<long>(plan.cwd));
    if (failed >= 0) {
        const unsigned long none = 0;
        raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&none), 0, sizeof none);
        start.error = exec_first_runnable(start);
    } else {
        start.error = static_cast<int>(-failed);
    }
    raw_syscall(SYS_exit_group, 127);
    __builtin_unreachable();
}

#if defined(__x86_64__)
// The system call `nr` (clone or clone3, with its first two arguments) making
// a child that comes back from it on its own stack with every other register
// as the parent's: the child calls fn(arg) there and exits. Not glibc's
// clone(), which ThreadSanitizer intercepts (and breaks, for a CLONE_VM child).
long clone_calling(long nr, long a, long b, int (*fn)(void*), void* arg) noexcept {
    register long r10 asm("r10") = 0;
    register long r8 asm("r8") = 0;
    register long function asm("r12") = reinterpret_cast<long>(fn);
    register long argument asm("r13") = reinterpret_cast<long>(arg);
    long ret;
    asm volatile(
        "syscall\n\t"
        "test %%rax, %%rax\n\t"
        "jnz 1f\n\t"
        "xor %%ebp, %%ebp\n\t"
        "mov %%r13, %%rdi\n\t"
        "call *%%r12\n\t"
        "mov %%eax, %%edi\n\t"
        "mov %[exit], %%eax\n\t"
        "syscall\n\t"
        "hlt\n"
        "1:"
        : "=a"(ret)
        : "0"(nr), "D"(a), "S"(b), "d"(0L), "r"(r10), "r"(r8), "r"(function), "r"(argument),
          [exit] "i"(SYS_exit_group)
        : "rcx", "r11", "memory");
    return ret;
}

pid_t pid_or_errno(long ret) noexcept {
    if (ret >= 0) return static_cast<pid_t>(ret);
    errno = static_cast<int>(-ret);
    return -1;
}
#endif

// clone3 with CLONE_CLEAR_SIGHAND (Linux 5.5; glibc 2.36 has no wrapper), the
// child calling fn(arg) on `stack`. -1 with errno when the kernel (or a
// seccomp filter, as Docker's) refuses.
pid_t clone_clearing_handlers(int (*fn)(void*), void* arg, char* stack, std::size_t size) noexcept {
#if defined(__x86_64__) && defined(CLONE_CLEAR_SIGHAND)
    clone_args args{};
    args.flags = CLONE_VM | CLONE_VFORK | CLONE_CLEAR_SIGHAND;
    args.exit_signal = SIGCHLD;
    args.stack = reinterpret_cast<unsigned long>(stack);  // the lowest address: the kernel adds the size
    args.stack_size = size;
    return pid_or_errno(clone_calling(SYS_clone3, reinterpret_cast<long>(&args), sizeof args, fn, arg));
#else
    (void)fn, (void)arg, (void)stack, (void)size;
    errno = ENOSYS;
    return -1;
#endif
}

// The same with clone (no CLONE_CLEAR_SIGHAND): every signal stays blocked
// here until the child has reset its handlers.
pid_t clone_blocking_signals(int (*fn)(void*), void* arg, char* stack, std::size_t size) noexcept {
    sigset_t all, before;
    std::memset(&all, 0xff, sizeof all);
    sys::sigprocmask(SIG_SETMASK, &all, &before);
#if defined(__x86_64__)
    const pid_t pid = pid_or_errno(clone_calling(SYS_clone, CLONE_VM | CLONE_VFORK | SIGCHLD,
                                                 reinterpret_cast<long>(stack + size), fn, arg));
#else
    const pid_t pid = ::clone(fn, stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, arg);
#endif
    const int error = errno;
    sys::sigprocmask(SIG_SETMASK, &before, nullptr);
    errno = error;
    return pid;
}

}  // namespace

pid_t start_child(const ChildPlan& plan) noexcept {
    const std::unique_ptr<char[]> stack(new (std::nothrow) char[child_stack_size]);
    if (!stack) {
        errno = ENOMEM;
        return -1;
    }
    ChildStart start{plan.fd_steps.data(), plan.fd_steps.size(), plan.candidates.data(), plan.candidates.size(),
                     &plan, true};
    pid_t pid = clone_clearing_handlers(child_main, &start, stack.get(), child_stack_size);
    if (pid < 0 && (errno == ENOSYS || errno == EINVAL || errno == EPERM)) {
        start.handlers_cleared = false;
        pid = clone_blocking_signals(child_main, &start, stack.get(), child_stack_size);
    }
    if (pid < 0) return -1;
    if (start.error != 0) {  // the child exited: reap it
        while (sys::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
        errno = start.error;
        return -1;
    }
    return pid;
}

}  // namespace green::detail
