// The libc functions the shim interposes, as libc (the next definition after
// ours) implements them: shim::real::NAME for every row of real_symbols.hpp.
// Hooks and the shim's own code call these, never the interposed names, so the
// shim never re-enters itself.
//
// All are resolved when the library loads (resolve_all): the definition after
// the preload stub, or with dlsym(RTLD_NEXT) where this library is the preload.
// dlsym may allocate, and an interposed malloc (jemalloc, tcmalloc) may call read
// or close while it initialises: a hook reached while its symbol is still being
// resolved on this thread falls back to the raw system call instead of recursing.
#pragma once

#include <locale.h>
#include <mqueue.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <threads.h>
#include <sys/epoll.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#include "real_symbols.hpp"

namespace shim::real {

// Looks every symbol up now (from the library constructor).
void resolve_all() noexcept;

#define SHIM_DECLARE_REAL(name, R, params, args, fallback) R name params;
SHIM_REAL_SYMBOLS(SHIM_DECLARE_REAL)
#undef SHIM_DECLARE_REAL

}  // namespace shim::real
