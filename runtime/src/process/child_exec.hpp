// Starting a child process that shares this process's memory until its exec
// (vfork-like, as posix_spawn does), and what that child does before the exec.
//
// The parent computes everything (descriptor steps, the execve candidates) so
// that the child only makes system calls: no allocation, no libc symbol the
// shim could interpose, no sanitizer bookkeeping on a stack the sanitizers do
// not know. Where the kernel offers clone3's CLONE_CLEAR_SIGHAND, the child
// starts with its signal handlers at their defaults; otherwise it resets them
// itself, one rt_sigaction per signal, as glibc's posix_spawn always does.
#pragma once

#include <sys/types.h>

#include <vector>

namespace green::detail {

// One descriptor step in the child, taken in order.
struct ChildFdStep {
    enum Kind { dup, keep_open, close, close_from } kind;
    int fd;          // dup: the source; otherwise the descriptor (close_from: the lowest)
    int target = 0;  // dup only: where the source goes
};

// What the child does, in this order: a new session, the descriptor steps, the
// working directory, SIGPIPE and SIGXFSZ to their defaults (other handlers
// default, ignored signals stay ignored), an empty signal mask, then execve of
// each candidate with execvp's rules until one runs.
struct ChildPlan {
    bool new_session = false;
    std::vector<ChildFdStep> fd_steps;
    const char* cwd = nullptr;
    // Paths to execve in order; with more than one, execvp's search: a
    // candidate that is missing or cannot be run is passed over, and EACCES is
    // the error when one existed that could not run.
    std::vector<const char*> candidates;
    char* const* argv = nullptr;
    char* const* envp = nullptr;
};

// Starts the child. Returns its pid, or -1 with errno set: by the clone, or by
// the child's failed step (the child is reaped then; nothing is left behind).
pid_t start_child(const ChildPlan& plan) noexcept;

}  // namespace green::detail
