// Carriers: the OS threads whose hubs run green threads spread over cores
// (thread patching with --threads=N, green::spawn_on / run_on). The first is
// the thread that started them; the others are the runtime's own threads, each
// running its hub until the process ends (its main greenlet parked for good,
// its loop held so that an idle carrier sleeps instead of reporting a
// deadlock). A greenlet never moves: where it runs is decided once, when it is
// started, and work for another carrier is posted to its hub (Hub::post).
#pragma once

#include <cstddef>

namespace green::detail {

class Hub;

namespace carriers {

// The most carriers a process may have.
constexpr std::size_t kMax = 256;

// Starts carriers until there are `n` (the calling thread, whose hub is made
// if needed, is the first); returns how many there are. Never stops one.
// Throws std::system_error when an OS thread cannot be started.
std::size_t start(std::size_t n);
// How many there are (0 before start).
std::size_t count() noexcept;
// Carrier `i`'s hub, or null.
Hub* hub(std::size_t i) noexcept;
// The carrier with the fewest threads (green threads, and the program's main
// thread on the first) that no greenlet keeps busy past
// the monitor's threshold (pinned): the calling thread's hub when there are no
// carriers, or when every one is pinned.
Hub& least_loaded();
// In a forked child: the calling thread's hub is the only carrier left.
void after_fork() noexcept;
// Whether this is a forked child of a thread other than the process's main
// thread (a green thread, or a carrier the runtime started): as in glibc, the
// process exits when its last thread, here its last green thread, ends.
bool main_thread_gone() noexcept;

}  // namespace carriers
}  // namespace green::detail
