// Interruptions: a kill, an expired Timeout, LoopExit, and for green threads a
// pthread_cancel and signals sent with pthread_kill. This file's functions are
// the only code that touches a greenlet's pending bits and their payloads
// (interruption, expired_timeout, thrown). A greenlet's `interruption` holds a
// pending kill's exception, and from throw_pending on the interruption thrown
// last, so that repost can recognise it.
//
// The life of one interruption:
//   posted     post_*() records it; the caller then wakes the greenlet if it is parked;
//   thrown     Hub::throw_pending() throws it at the greenlet's next suspension
//              point (park and yield call it) and clears it;
//   withdrawn  withdraw_*() forgets one not yet thrown (a Timeout cancelled or left
//              its scope first; a cancellation that was disabled);
//   held back  hold_back() / restore() set interruptions aside around a wait that
//              must not be interrupted (the parking lot's pthread waits);
//   reposted   repost() posts it again when it was caught where it could not be let
//              through (the shim's extern "C" boundary, a handover to be taken
//              first): the greenlet gets the exception at its next suspension point.
// Several may be pending at once. Signals are handed over first (their handlers
// run on the greenlet's stack); then a kill is thrown, then a Timeout, then
// LoopExit, then a cancellation (only inside a cancellation point). Of two
// Timeouts, the first to expire is the one thrown.
#pragma once

#include <cstdint>
#include <exception>

#include "green/detail/core.hpp"

namespace green::detail {

void post_kill(GreenletCore& g, std::exception_ptr e) noexcept;
void post_timeout(GreenletCore& g, const Timeout* t) noexcept;
void post_loop_exit(GreenletCore& g) noexcept;
void post_cancel(GreenletCore& g) noexcept;
void post_signal(GreenletCore& g) noexcept;

void withdraw_timeout(GreenletCore& g, const Timeout* t) noexcept;
void withdraw_cancel(GreenletCore& g) noexcept;

// Sets aside every pending interruption but those in `keep` (PendingBits) and
// returns them, for restore() once the wait is over.
std::uint8_t hold_back(GreenletCore& g, std::uint8_t keep = 0) noexcept;
void restore(GreenletCore& g, std::uint8_t held) noexcept;

// Whether `e` is the interruption Hub::throw_pending threw last in g; if it is,
// it is posted again. Anything else (an error) is left alone.
bool repost(GreenletCore& g, const std::exception_ptr& e) noexcept;

}  // namespace green::detail
