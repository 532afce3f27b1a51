// Every libc function the shim interposes, once. Adding a hook is one row here
// (and its row in SYMBOLS.md); real.hpp declares and real.cpp defines
// shim::real::NAME from this table.
//
//   X(name, return type, (parameters), (arguments), fallback)
//
// fallback: the system call that does the same job while dlsym is still
// resolving the symbol on this thread (an interposed malloc may call read or
// close from inside dlsym), or `none` where no caller needs one: the call then
// fails with ENOSYS. fcntl and ioctl are variadic in libc and are called with
// their one argument as a pointer-sized word, which every ABI green runs on
// passes alike. syscall is called with all six argument words, as libc's own
// syscall() reads them.
#pragma once

#define SHIM_REAL_SYMBOLS(X)                                                                                     \
    X(socket, int, (int d, int t, int p), (d, t, p), SYS_socket)                                                  \
    X(socketpair, int, (int d, int t, int p, int sv[2]), (d, t, p, sv), SYS_socketpair)                           \
    X(accept4, int, (int fd, sockaddr* a, socklen_t* l, int fl), (fd, a, l, fl), SYS_accept4)                     \
    X(connect, int, (int fd, const sockaddr* a, socklen_t l), (fd, a, l), SYS_connect)                            \
    X(read, ssize_t, (int fd, void* b, size_t n), (fd, b, n), SYS_read)                                           \
    X(readv, ssize_t, (int fd, const iovec* v, int n), (fd, v, n), SYS_readv)                                     \
    X(write, ssize_t, (int fd, const void* b, size_t n), (fd, b, n), SYS_write)                                   \
    X(writev, ssize_t, (int fd, const iovec* v, int n), (fd, v, n), SYS_writev)                                   \
    X(recvfrom, ssize_t, (int fd, void* b, size_t n, int fl, sockaddr* a, socklen_t* l), (fd, b, n, fl, a, l),    \
      SYS_recvfrom)                                                                                              \
    X(recvmsg, ssize_t, (int fd, msghdr* m, int fl), (fd, m, fl), SYS_recvmsg)                                    \
    X(recvmmsg, int, (int fd, mmsghdr* v, unsigned int n, int fl, timespec* t), (fd, v, n, fl, t), SYS_recvmmsg)  \
    X(sendto, ssize_t, (int fd, const void* b, size_t n, int fl, const sockaddr* a, socklen_t l),                 \
      (fd, b, n, fl, a, l), SYS_sendto)                                                                          \
    X(sendmsg, ssize_t, (int fd, const msghdr* m, int fl), (fd, m, fl), SYS_sendmsg)                              \
    X(sendmmsg, int, (int fd, mmsghdr* v, unsigned int n, int fl), (fd, v, n, fl), SYS_sendmmsg)                  \
    X(sendfile, ssize_t, (int out, int in, off_t* off, size_t count), (out, in, off, count), SYS_sendfile)        \
    X(splice, ssize_t, (int in, loff_t* in_off, int out, loff_t* out_off, size_t len, unsigned int fl),          \
      (in, in_off, out, out_off, len, fl), SYS_splice)                                                            \
    X(tee, ssize_t, (int in, int out, size_t len, unsigned int fl), (in, out, len, fl), SYS_tee)                  \
    X(poll, int, (pollfd * fds, nfds_t n, int t), (fds, n, t), SYS_poll)                                          \
    X(ppoll, int, (pollfd * fds, nfds_t n, const timespec* t, const sigset_t* m), (fds, n, t, m), none)          \
    X(select, int, (int n, fd_set* r, fd_set* w, fd_set* e, timeval* t), (n, r, w, e, t), SYS_select)             \
    X(pselect, int, (int n, fd_set* r, fd_set* w, fd_set* e, const timespec* t, const sigset_t* m),              \
      (n, r, w, e, t, m), none)                                                                                   \
    X(epoll_wait, int, (int ep, epoll_event* ev, int max, int t), (ep, ev, max, t), SYS_epoll_wait)               \
    X(epoll_pwait, int, (int ep, epoll_event* ev, int max, int t, const sigset_t* m), (ep, ev, max, t, m), none)  \
    X(epoll_pwait2, int, (int ep, epoll_event* ev, int max, const timespec* t, const sigset_t* m),               \
      (ep, ev, max, t, m), none)                                                                                  \
    X(sleep, unsigned int, (unsigned int s), (s), none)                                                          \
    X(pause, int, (), (), none)                                                                                   \
    X(sigsuspend, int, (const sigset_t* mask), (mask), none)                                                      \
    X(usleep, int, (useconds_t us), (us), none)                                                                  \
    X(nanosleep, int, (const timespec* req, timespec* rem), (req, rem), SYS_nanosleep)                            \
    X(clock_nanosleep, int, (clockid_t c, int fl, const timespec* req, timespec* rem), (c, fl, req, rem), none)   \
    X(close, int, (int fd), (fd), SYS_close)                                                                      \
    X(close_range, int, (unsigned int first, unsigned int last, int fl), (first, last, fl), SYS_close_range)      \
    X(fclose, int, (FILE * f), (f), none)                                                                         \
    X(pclose, int, (FILE * f), (f), none)                                                                         \
    X(freopen, FILE*, (const char* p, const char* m, FILE* f), (p, m, f), none)                                   \
    X(freopen64, FILE*, (const char* p, const char* m, FILE* f), (p, m, f), none)                                 \
    X(dup, int, (int fd), (fd), SYS_dup)                                                                          \
    X(dup2, int, (int fd, int fd2), (fd, fd2), SYS_dup2)                                                          \
    X(dup3, int, (int fd, int fd2, int fl), (fd, fd2, fl), SYS_dup3)                                              \
    X(fcntl, int, (int fd, int cmd, void* arg), (fd, cmd, arg), SYS_fcntl)                                        \
    X(openat, int, (int d, const char* p, int fl, mode_t m), (d, p, fl, m), SYS_openat)                               \
    X(fopen, FILE*, (const char* p, const char* m), (p, m), none)                                                     \
    X(fopen64, FILE*, (const char* p, const char* m), (p, m), none)                                                   \
    X(flock, int, (int fd, int op), (fd, op), SYS_flock)                                                          \
    X(mq_close, int, (mqd_t q), (q), none)                                                                            \
    X(semop, int, (int id, sembuf* ops, size_t n), (id, ops, n), none)                                                \
    X(semtimedop, int, (int id, sembuf* ops, size_t n, const timespec* t), (id, ops, n, t), none)                     \
    X(msgsnd, int, (int id, const void* m, size_t n, int fl), (id, m, n, fl), none)                                   \
    X(msgrcv, ssize_t, (int id, void* m, size_t n, long type, int fl), (id, m, n, type, fl), none)                    \
    X(mq_timedsend, int, (mqd_t q, const char* m, size_t n, unsigned int pr, const timespec* t), (q, m, n, pr, t), none) \
    X(mq_timedreceive, ssize_t, (mqd_t q, char* m, size_t n, unsigned int* pr, const timespec* t), (q, m, n, pr, t), none) \
    X(lockf, int, (int fd, int cmd, off_t len), (fd, cmd, len), none)                                             \
    X(lockf64, int, (int fd, int cmd, off64_t len), (fd, cmd, len), none)                                         \
    X(ioctl, int, (int fd, unsigned long req, void* arg), (fd, req, arg), SYS_ioctl)                              \
    X(setsockopt, int, (int fd, int lv, int nm, const void* v, socklen_t l), (fd, lv, nm, v, l), SYS_setsockopt)  \
    X(getsockopt, int, (int fd, int lv, int nm, void* v, socklen_t* l), (fd, lv, nm, v, l), SYS_getsockopt)       \
    X(epoll_create, int, (int size), (size), none)                                                                \
    X(epoll_create1, int, (int fl), (fl), SYS_epoll_create1)                                                      \
    X(eventfd, int, (unsigned int count, int fl), (count, fl), SYS_eventfd2)                                      \
    X(pipe, int, (int fds[2]), (fds), SYS_pipe)                                                                   \
    X(pipe2, int, (int fds[2], int fl), (fds, fl), SYS_pipe2)                                                     \
    X(fork, pid_t, (), (), none)                                                                                  \
    X(waitpid, pid_t, (pid_t pid, int* status, int options), (pid, status, options), none)                        \
    X(wait4, pid_t, (pid_t pid, int* status, int options, struct rusage* usage), (pid, status, options, usage),    \
      SYS_wait4)                                                                                                  \
    X(waitid, int, (idtype_t type, id_t id, siginfo_t* info, int options), (type, id, info, options), none)       \
    X(sigaction, int, (int sig, const struct sigaction* act, struct sigaction* old), (sig, act, old), none)       \
    X(getaddrinfo, int, (const char* node, const char* service, const addrinfo* hints, addrinfo** res),          \
      (node, service, hints, res), none)                                                                          \
    X(freeaddrinfo, void, (addrinfo * res), (res), none)                                                          \
    X(getnameinfo, int,                                                                                           \
      (const sockaddr* sa, socklen_t l, char* h, socklen_t hl, char* s, socklen_t sl, int fl),                   \
      (sa, l, h, hl, s, sl, fl), none)                                                                            \
    X(gethostbyname, hostent*, (const char* name), (name), none)                                                  \
    X(gethostbyname2, hostent*, (const char* name, int af), (name, af), none)                                     \
    X(gethostbyaddr, hostent*, (const void* a, socklen_t l, int t), (a, l, t), none)                              \
    X(gethostbyname_r, int, (const char* n, hostent* r, char* b, size_t bl, hostent** res, int* he),             \
      (n, r, b, bl, res, he), none)                                                                               \
    X(gethostbyname2_r, int, (const char* n, int af, hostent* r, char* b, size_t bl, hostent** res, int* he),    \
      (n, af, r, b, bl, res, he), none)                                                                           \
    X(gethostbyaddr_r, int,                                                                                       \
      (const void* a, socklen_t l, int t, hostent* r, char* b, size_t bl, hostent** res, int* he),               \
      (a, l, t, r, b, bl, res, he), none)                                                                         \
    X(res_query, int, (const char* d, int c, int t, unsigned char* a, int l), (d, c, t, a, l), none)              \
    X(res_search, int, (const char* d, int c, int t, unsigned char* a, int l), (d, c, t, a, l), none)             \
    X(pthread_create, int, (pthread_t* t, const pthread_attr_t* a, void* (*f)(void*), void* arg), (t, a, f, arg), none) \
    X(pthread_join, int, (pthread_t t, void** r), (t, r), none)                                                   \
    X(pthread_tryjoin_np, int, (pthread_t t, void** r), (t, r), none)                                             \
    X(pthread_timedjoin_np, int, (pthread_t t, void** r, const timespec* at), (t, r, at), none)                   \
    X(pthread_clockjoin_np, int, (pthread_t t, void** r, clockid_t c, const timespec* at), (t, r, c, at), none)   \
    X(pthread_detach, int, (pthread_t t), (t), none)                                                              \
    X(pthread_exit, void, (void* r), (r), none)                                                                   \
    X(pthread_self, pthread_t, (), (), none)                                                                      \
    X(pthread_getattr_np, int, (pthread_t t, pthread_attr_t* a), (t, a), none)                                    \
    X(pthread_setname_np, int, (pthread_t t, const char* n), (t, n), none)                                        \
    X(pthread_getname_np, int, (pthread_t t, char* n, size_t l), (t, n, l), none)                                 \
    X(pthread_getcpuclockid, int, (pthread_t t, clockid_t* c), (t, c), none)                                      \
    X(pthread_kill, int, (pthread_t t, int s), (t, s), none)                                                      \
    X(pthread_sigqueue, int, (pthread_t t, int s, const union sigval v), (t, s, v), none)                         \
    X(pthread_cancel, int, (pthread_t t), (t), none)                                                              \
    X(pthread_testcancel, void, (), (), none)                                                                     \
    X(pthread_setcancelstate, int, (int s, int* o), (s, o), none)                                                 \
    X(pthread_setcanceltype, int, (int s, int* o), (s, o), none)                                                  \
    X(pthread_getschedparam, int, (pthread_t t, int* p, sched_param* s), (t, p, s), none)                         \
    X(pthread_setschedparam, int, (pthread_t t, int p, const sched_param* s), (t, p, s), none)                    \
    X(pthread_setschedprio, int, (pthread_t t, int p), (t, p), none)                                              \
    X(pthread_getaffinity_np, int, (pthread_t t, size_t n, cpu_set_t* c), (t, n, c), none)                        \
    X(pthread_setaffinity_np, int, (pthread_t t, size_t n, const cpu_set_t* c), (t, n, c), none)                  \
    X(__pthread_register_cancel, void, (__pthread_unwind_buf_t * b), (b), none)                                   \
    X(__pthread_unregister_cancel, void, (__pthread_unwind_buf_t * b), (b), none)                                 \
    X(__pthread_register_cancel_defer, void, (__pthread_unwind_buf_t * b), (b), none)                             \
    X(__pthread_unregister_cancel_restore, void, (__pthread_unwind_buf_t * b), (b), none)                         \
    X(__pthread_unwind_next, void, (__pthread_unwind_buf_t * b), (b), none)                                       \
    X(_pthread_cleanup_push, void, (_pthread_cleanup_buffer * b, void (*f)(void*), void* a), (b, f, a), none)     \
    X(_pthread_cleanup_pop, void, (_pthread_cleanup_buffer * b, int e), (b, e), none)                             \
    X(_pthread_cleanup_push_defer, void, (_pthread_cleanup_buffer * b, void (*f)(void*), void* a), (b, f, a), none) \
    X(_pthread_cleanup_pop_restore, void, (_pthread_cleanup_buffer * b, int e), (b, e), none)                     \
    X(pthread_mutex_init, int, (pthread_mutex_t * m, const pthread_mutexattr_t* a), (m, a), none)                  \
    X(pthread_mutex_lock, int, (pthread_mutex_t * m), (m), none)                                                  \
    X(pthread_mutex_trylock, int, (pthread_mutex_t * m), (m), none)                                               \
    X(pthread_mutex_timedlock, int, (pthread_mutex_t * m, const timespec* at), (m, at), none)                     \
    X(pthread_mutex_clocklock, int, (pthread_mutex_t * m, clockid_t c, const timespec* at), (m, c, at), none)     \
    X(pthread_mutex_unlock, int, (pthread_mutex_t * m), (m), none)                                                \
    X(pthread_mutex_destroy, int, (pthread_mutex_t * m), (m), none)                                               \
    X(pthread_mutex_consistent, int, (pthread_mutex_t * m), (m), none)                                            \
    X(pthread_cond_wait, int, (pthread_cond_t * c, pthread_mutex_t* m), (c, m), none)                             \
    X(pthread_cond_timedwait, int, (pthread_cond_t * c, pthread_mutex_t* m, const timespec* at), (c, m, at), none) \
    X(pthread_cond_clockwait, int, (pthread_cond_t * c, pthread_mutex_t* m, clockid_t k, const timespec* at), (c, m, k, at), none) \
    X(pthread_cond_signal, int, (pthread_cond_t * c), (c), none)                                                  \
    X(pthread_cond_broadcast, int, (pthread_cond_t * c), (c), none)                                               \
    X(pthread_cond_destroy, int, (pthread_cond_t * c), (c), none)                                                 \
    X(pthread_rwlock_rdlock, int, (pthread_rwlock_t * r), (r), none)                                              \
    X(pthread_rwlock_tryrdlock, int, (pthread_rwlock_t * r), (r), none)                                           \
    X(pthread_rwlock_timedrdlock, int, (pthread_rwlock_t * r, const timespec* at), (r, at), none)                 \
    X(pthread_rwlock_clockrdlock, int, (pthread_rwlock_t * r, clockid_t c, const timespec* at), (r, c, at), none) \
    X(pthread_rwlock_wrlock, int, (pthread_rwlock_t * r), (r), none)                                              \
    X(pthread_rwlock_trywrlock, int, (pthread_rwlock_t * r), (r), none)                                           \
    X(pthread_rwlock_timedwrlock, int, (pthread_rwlock_t * r, const timespec* at), (r, at), none)                 \
    X(pthread_rwlock_clockwrlock, int, (pthread_rwlock_t * r, clockid_t c, const timespec* at), (r, c, at), none) \
    X(pthread_rwlock_unlock, int, (pthread_rwlock_t * r), (r), none)                                              \
    X(pthread_rwlock_destroy, int, (pthread_rwlock_t * r), (r), none)                                             \
    X(pthread_spin_lock, int, (pthread_spinlock_t * s), (s), none)                                                \
    X(pthread_spin_trylock, int, (pthread_spinlock_t * s), (s), none)                                             \
    X(pthread_barrier_wait, int, (pthread_barrier_t * b), (b), none)                                              \
    X(pthread_barrier_destroy, int, (pthread_barrier_t * b), (b), none)                                           \
    X(pthread_once, int, (pthread_once_t * o, void (*f)()), (o, f), none)                                         \
    X(call_once, void, (once_flag * o, void (*f)()), (o, f), none)                                                \
    X(pthread_key_create, int, (pthread_key_t * k, void (*d)(void*)), (k, d), none)                               \
    X(pthread_key_delete, int, (pthread_key_t k), (k), none)                                                      \
    X(pthread_getspecific, void*, (pthread_key_t k), (k), none)                                                   \
    X(pthread_setspecific, int, (pthread_key_t k, const void* v), (k, v), none)                                   \
    X(sem_wait, int, (sem_t * s), (s), none)                                                                      \
    X(sem_timedwait, int, (sem_t * s, const timespec* at), (s, at), none)                                         \
    X(sem_clockwait, int, (sem_t * s, clockid_t c, const timespec* at), (s, c, at), none)                         \
    X(sem_post, int, (sem_t * s), (s), none)                                                                      \
    X(sem_trywait, int, (sem_t * s), (s), none)                                                                   \
    X(thrd_create, int, (thrd_t * t, thrd_start_t f, void* a), (t, f, a), none)                                   \
    X(thrd_join, int, (thrd_t t, int* r), (t, r), none)                                                           \
    X(thrd_detach, int, (thrd_t t), (t), none)                                                                    \
    X(thrd_exit, void, (int r), (r), none)                                                                        \
    X(thrd_sleep, int, (const timespec* d, timespec* r), (d, r), none)                                            \
    X(thrd_yield, void, (), (), none)                                                                             \
    X(mtx_lock, int, (mtx_t * m), (m), none)                                                                      \
    X(mtx_trylock, int, (mtx_t * m), (m), none)                                                                   \
    X(mtx_timedlock, int, (mtx_t * m, const timespec* at), (m, at), none)                                         \
    X(mtx_unlock, int, (mtx_t * m), (m), none)                                                                    \
    X(mtx_destroy, void, (mtx_t * m), (m), none)                                                                  \
    X(cnd_wait, int, (cnd_t * c, mtx_t* m), (c, m), none)                                                         \
    X(cnd_timedwait, int, (cnd_t * c, mtx_t* m, const timespec* at), (c, m, at), none)                            \
    X(cnd_signal, int, (cnd_t * c), (c), none)                                                                    \
    X(cnd_broadcast, int, (cnd_t * c), (c), none)                                                                 \
    X(cnd_destroy, void, (cnd_t * c), (c), none)                                                                  \
    X(tss_create, int, (tss_t * k, tss_dtor_t d), (k, d), none)                                                   \
    X(tss_delete, void, (tss_t k), (k), none)                                                                     \
    X(tss_get, void*, (tss_t k), (k), none)                                                                       \
    X(tss_set, int, (tss_t k, void* v), (k, v), none)                                                             \
    X(pthread_sigmask, int, (int how, const sigset_t* s, sigset_t* o), (how, s, o), none)                         \
    X(sigprocmask, int, (int how, const sigset_t* s, sigset_t* o), (how, s, o), none)                             \
    X(sigpending, int, (sigset_t * s), (s), none)                                                                 \
    X(sigwait, int, (const sigset_t* s, int* sig), (s, sig), none)                                                \
    X(sigwaitinfo, int, (const sigset_t* s, siginfo_t* i), (s, i), none)                                          \
    X(sigtimedwait, int, (const sigset_t* s, siginfo_t* i, const timespec* t), (s, i, t), none)                   \
    X(sched_yield, int, (), (), none)                                                                             \
    X(syscall, long, (long n, long a, long b, long c, long d, long e, long f), (n, a, b, c, d, e, f), none)       \
    X(uselocale, locale_t, (locale_t l), (l), none)                                                               \
    X(flockfile, void, (FILE * f), (f), none)                                                                     \
    X(ftrylockfile, int, (FILE * f), (f), none)                                                                   \
    X(funlockfile, void, (FILE * f), (f), none)                                                                   \
    X(fgets, char*, (char* s, int n, FILE* f), (s, n, f), none)                                                   \
    X(__fgets_chk, char*, (char* s, size_t z, int n, FILE* f), (s, z, n, f), none)                                \
    X(getdelim, ssize_t, (char** l, size_t* z, int d, FILE* f), (l, z, d, f), none)                               \
    X(fgetc, int, (FILE * f), (f), none)                                                                          \
    X(fread, size_t, (void* p, size_t z, size_t n, FILE* f), (p, z, n, f), none)                                  \
    X(__fread_chk, size_t, (void* p, size_t s, size_t z, size_t n, FILE* f), (p, s, z, n, f), none)              \
    X(fgets_unlocked, char*, (char* s, int n, FILE* f), (s, n, f), none)                                          \
    X(fread_unlocked, size_t, (void* p, size_t z, size_t n, FILE* f), (p, z, n, f), none)                         \
    X(fgetc_unlocked, int, (FILE * f), (f), none)                                                                 \
    X(__uflow, int, (FILE * f), (f), none)                                                                        \
    X(fwrite, size_t, (const void* p, size_t z, size_t n, FILE* f), (p, z, n, f), none)                           \
    X(fwrite_unlocked, size_t, (const void* p, size_t z, size_t n, FILE* f), (p, z, n, f), none)                  \
    X(fputs, int, (const char* s, FILE* f), (s, f), none)                                                         \
    X(fputs_unlocked, int, (const char* s, FILE* f), (s, f), none)                                                \
    X(puts, int, (const char* s), (s), none)                                                                      \
    X(fputc, int, (int c, FILE* f), (c, f), none)                                                                 \
    X(fputc_unlocked, int, (int c, FILE* f), (c, f), none)                                                        \
    X(__overflow, int, (FILE * f, int c), (f, c), none)                                                           \
    X(fflush, int, (FILE * f), (f), none)                                                                         \
    X(fflush_unlocked, int, (FILE * f), (f), none)                                                                \
    X(vfprintf, int, (FILE * f, const char* fmt, va_list ap), (f, fmt, ap), none)                                 \
    X(__vfprintf_chk, int, (FILE * f, int fl, const char* fmt, va_list ap), (f, fl, fmt, ap), none)               \
    X(vdprintf, int, (int fd, const char* fmt, va_list ap), (fd, fmt, ap), none)                                  \
    X(__vdprintf_chk, int, (int fd, int fl, const char* fmt, va_list ap), (fd, fl, fmt, ap), none)
