// Waiting for a child process to change state without blocking the thread: the
// one step that green::waitpid and the shim's wait hooks repeat between their
// non-blocking waitpid calls.
#pragma once

#include <sys/types.h>

#include "bridge/shim_api.hpp"  // ChildWait, the state the shim keeps between looks

namespace green::detail {

// Parks the running greenlet once, until a child in `pid`'s set (waitpid's
// meaning of pid) may have changed state, or a signal handler reported through
// the shim ran on this thread; the first round of a wait only gives the child
// the CPU (give_child_the_cpu: one being waited for is often already ending).
// The pause lasts 1 ms, doubling with each round up to 50 ms, since no
// descriptor tells of stops, continues, any child or a process group. For one
// child (`pid` > 0) a pidfd also ends it at once when the child exits, unless
// it already woke a look that then found nothing (a tracer holds the exited
// child). May throw (kill, Timeout).
void wait_for_child(pid_t pid, ChildWait& wait);

// Lets a child run (sched_yield) before this thread parks for it, unless other
// greenlets are ready to use the CPU: a child about to end most often ends
// meanwhile, which costs less than parking and being woken for it
// (run({"true"}): 2.0 context switches per child instead of 3.8, and no wait
// in epoll).
void give_child_the_cpu() noexcept;

}  // namespace green::detail
