// Waiting for a child process to change state without blocking the thread: the
// one step that green::waitpid and the shim's wait hooks repeat between their
// non-blocking waitpid calls.
#pragma once

#include <sys/types.h>

namespace green::detail {

// Parks the running greenlet once, until a child in `pid`'s set (waitpid's
// meaning of pid) may have changed state, or a signal handler reported through
// the shim ran on this thread. One child's exit (`pid` > 0, `exits_only`) is
// watched through a pidfd; for any child, a process group, or stops and
// continues no descriptor tells, so the step is a sleep of 1 ms that doubles
// with each `round` up to 50 ms. May throw (kill, Timeout).
void wait_for_child(pid_t pid, bool exits_only, unsigned& round);

}  // namespace green::detail
