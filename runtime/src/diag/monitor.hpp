// GREEN_MONITOR_MS: a thread that notices a greenlet keeping its hub busy —
// running without switching — for longer than that many milliseconds, and has
// that thread print, on stderr, the greenlet's name and its backtrace (gevent's
// monitor thread). The report comes from a signal (SIGRTMAX - 1) delivered to
// the busy thread, so the backtrace is the greenlet's own. Under thread patching
// the same thread also ends a greenlet's turn after a time slice (Hub::end_turn).
#pragma once

namespace green::detail {

class Hub;

// Called as each hub is created and destroyed; the monitor starts with the first
// hub when GREEN_MONITOR_MS is set, or under GREEN_THREADS (for the time slices
// only when GREEN_MONITOR_MS is 0), and does nothing otherwise.
void monitor_hub(Hub& hub);
void unmonitor_hub(Hub& hub);
// In a forked child (from the hub's pthread_atfork handler): the monitor thread
// stayed in the parent; the child gets one of its own with its first green
// thread (monitor_green_thread_started) or its next hub.
void monitor_after_fork() noexcept;
void monitor_green_thread_started() noexcept;
// Under thread patching: a green thread that computes a time slice past the
// end of its turn without a hooked call gets `signal`, queued (SI_QUEUE) with
// `mark` as its value, whose handler (the shim's) takes the turn if it may.
// The monitor sends it only to a thread that is running, not asleep in the
// kernel. 0: none from now on.
void monitor_preempt_with(int signal, const void* mark) noexcept;
// The monitor's own thread, if it runs (0 or 1): not a thread of the program.
unsigned monitor_threads() noexcept;

}  // namespace green::detail
