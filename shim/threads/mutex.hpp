// Mutexes on glibc's pthread_mutex_t, for green threads and real threads alike
// (mutex_hooks.cpp). The condition variables lock and unlock them too.
#pragma once

#include <pthread.h>

#include <green/detail/time.hpp>

namespace shim::threads {

using green::detail::Deadline;

// Whether glibc keeps this mutex: process-shared, priority-inheriting or
// priority-protecting ones, which other processes or the kernel also act on.
bool glibc_mutex(const pthread_mutex_t* m) noexcept;

// pthread_mutex_lock with a deadline (Deadline(): none).
int lock_mutex(pthread_mutex_t* m, Deadline deadline);
int unlock_mutex(pthread_mutex_t* m) noexcept;
// Whether the caller may unlock `m`: EPERM for an error-checking, recursive or
// robust mutex it does not hold, as glibc's pthread_cond_wait checks.
int check_owner(const pthread_mutex_t* m) noexcept;

}  // namespace shim::threads
