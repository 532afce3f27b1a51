// The shim's own state: whether it is live, whether the calling thread is where
// the hooks must stay plain (a signal handler, a vfork child), and its settings
// (GREEN_DNS, GREEN_LOG).
#pragma once

#include <atomic>

#define GREEN_HOOK extern "C" __attribute__((visibility("default")))

namespace shim::state {

// Live from the end of the library's constructor to the start of its destructor.
// Before and after, every hook makes the plain libc call.
extern std::atomic<bool> live;

// Depth, on this thread, of what the hooks must leave the runtime alone in:
// they make the plain libc call and change no state of the shim's or the
// runtime's. The shim's signal-handler trampolines raise it (the code a handler
// interrupted may be halfway through that state), and so does vfork (vfork.S)
// in the child, which runs in the parent's memory until it execs or exits.
extern thread_local int plain_depth [[gnu::tls_model("initial-exec")]];
// Set in a vfork child (vfork.S), where the sigaction hook must not record the
// program's handler either: the record is the parent's.
extern thread_local bool vfork_child [[gnu::tls_model("initial-exec")]];

// GREEN_DNS: who answers the DNS entry points. `automatic` (the default):
// green's resolver where that helps, glibc's elsewhere (dns_hooks.cpp).
enum class Dns : unsigned char { automatic, ares, system };
extern Dns dns;
// One of resolver_settings.h's variables is set: green's resolver answers
// every lookup (unless GREEN_DNS=system).
extern bool dns_configured;

// GREEN_LOG: 0 quiet, 1 normal, 2 verbose.
extern int log_level;

// GREEN_SHIM_COOPERATE=always: hooks cooperate even when no other greenlet
// exists (the hub parks the lone greenlet in its loop). Behaviour must not
// change; the tests use it to run real programs through the cooperative paths.
extern bool always_cooperate;

}  // namespace shim::state
