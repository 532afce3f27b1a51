// What the thread probes share. A probe prints one line per check, "what:
// result", where the result never depends on scheduling or on whether threads
// are OS threads or green threads on one OS thread: errno names, counts,
// yes/no, and timings only as "ok" or "too slow". A check whose result is not
// the expected one adds " (expected X)" to its line and makes the probe exit 1.
// A watchdog (SIGALRM, default action) ends a probe that hangs.
#pragma once

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int probe_failures;

// The name of an error number ("EBUSY"), "0" for 0.
static inline const char* en(int e) {
    if (e == 0) return "0";
    const char* name = strerrorname_np(e);
    return name ? name : "E?";
}

// The process's OS threads now (/proc/self/task), -1 if it cannot be read.
static inline int count_tasks(void) {
    DIR* d = opendir("/proc/self/task");
    if (!d) return -1;
    int n = 0;
    for (struct dirent* e; (e = readdir(d));)
        if (e->d_name[0] != '.') ++n;
    closedir(d);
    return n;
}

// Prints "what: got" and checks that got is want.
static inline void check_str(const char* what, const char* got, const char* want) {
    if (strcmp(got, want) == 0) {
        printf("%s: %s\n", what, got);
    } else {
        printf("%s: %s (expected %s)\n", what, got, want);
        ++probe_failures;
    }
}

// Prints "what: N" and checks that N is want.
static inline void check_int(const char* what, long got, long want) {
    if (got == want) {
        printf("%s: %ld\n", what, got);
    } else {
        printf("%s: %ld (expected %ld)\n", what, got, want);
        ++probe_failures;
    }
}

// Prints "what: ENAME" for an error number (0 as "0") and checks it.
static inline void check_err(const char* what, int got, int want) { check_str(what, en(got), en(want)); }

// Prints "what: yes" or "what: no" and checks that it is yes.
static inline void check_yes(const char* what, int ok) { check_str(what, ok ? "yes" : "no", "yes"); }

// For calls that return -1 and set errno: "0" on success, the errno name otherwise.
static inline int rc_errno(int rc) { return rc == 0 ? 0 : errno; }

static inline double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// Prints "what: ok" when a wait that should take `want` seconds took at least
// 90% of it and less than two seconds more, "too slow"/"too fast" otherwise.
static inline void check_took(const char* what, double took, double want) {
    check_str(what, took < want * 0.9 ? "too fast" : took >= want + 2.0 ? "too slow" : "ok", "ok");
}

// The absolute time `seconds` from now on `clock`.
static inline struct timespec deadline(clockid_t clock, double seconds) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    long ns = ts.tv_nsec + (long)(seconds * 1e9);
    ts.tv_sec += ns / 1000000000L;
    ts.tv_nsec = ns % 1000000000L;
    return ts;
}

static inline void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

// A call that must work, or the probe cannot go on.
static inline void must(int rc, const char* what) {
    if (rc != 0) {
        printf("FATAL %s: %s\n", what, en(rc == -1 ? errno : rc));
        fflush(stdout);
        _exit(2);
    }
}

// pthread_create that must work.
static inline pthread_t spawn(void* (*fn)(void*), void* arg) {
    pthread_t t;
    must(pthread_create(&t, NULL, fn, arg), "pthread_create");
    return t;
}

// pthread_join that must work; returns the thread's value.
static inline void* join(pthread_t t) {
    void* value = NULL;
    must(pthread_join(t, &value), "pthread_join");
    return value;
}

// Ends the probe with SIGALRM if it runs longer than `seconds`.
static inline void watchdog(unsigned seconds) {
    signal(SIGALRM, SIG_DFL);
    alarm(seconds);
}

// The last line and the exit status of a probe.
static inline int finish(void) {
    if (probe_failures)
        printf("FAILED: %d checks\n", probe_failures);
    else
        printf("done\n");
    fflush(stdout);
    return probe_failures ? 1 : 0;
}

struct probe_call {
    int (*fn)(void*);
    void* arg;
    int result;
};

static inline void* probe_call_main(void* p) {
    struct probe_call* c = (struct probe_call*)p;
    c->result = c->fn(c->arg);
    return NULL;
}

// Runs fn(arg) in a new thread, waits for it to end and returns what fn returned.
static inline int in_thread(int (*fn)(void*), void* arg) {
    struct probe_call c = {fn, arg, -1};
    join(spawn(probe_call_main, &c));
    return c.result;
}

// A thread that sleeps 5 ms at a time, counting, until counter_stop(): how
// many turns the other threads leave it while they run.
static int probe_counter_stop;
static int probe_counter_ticks;

static inline void* probe_counter_main(void* unused) {
    (void)unused;
    while (!__atomic_load_n(&probe_counter_stop, __ATOMIC_SEQ_CST)) {
        sleep_ms(5);
        __atomic_add_fetch(&probe_counter_ticks, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

static inline pthread_t counter_start(void) {
    __atomic_store_n(&probe_counter_stop, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&probe_counter_ticks, 0, __ATOMIC_SEQ_CST);
    return spawn(probe_counter_main, NULL);
}

// The ticks so far.
static inline int counter_ticks(void) { return __atomic_load_n(&probe_counter_ticks, __ATOMIC_SEQ_CST); }

static inline void counter_stop(pthread_t counter) {
    __atomic_store_n(&probe_counter_stop, 1, __ATOMIC_SEQ_CST);
    join(counter);
}

// A thread that writes a byte into a pipe every `us` microseconds until
// ticker_stop(): a read of one byte from ticker_fd() blocks until the next tick,
// so a thread that reads it inside a critical section really waits there.
static int probe_tick_pipe[2];
static int probe_tick_stop;
static int probe_tick_us;
static pthread_t probe_ticker;

static inline void* probe_ticker_main(void* unused) {
    (void)unused;
    while (!__atomic_load_n(&probe_tick_stop, __ATOMIC_SEQ_CST)) {
        usleep((useconds_t)probe_tick_us);
        if (write(probe_tick_pipe[1], "t", 1) != 1) break;
    }
    return NULL;
}

static inline void ticker_start(int us) {
    must(pipe(probe_tick_pipe), "pipe");
    probe_tick_us = us;
    __atomic_store_n(&probe_tick_stop, 0, __ATOMIC_SEQ_CST);
    probe_ticker = spawn(probe_ticker_main, NULL);
}

static inline int ticker_fd(void) { return probe_tick_pipe[0]; }

// Waits for the next tick.
static inline void ticker_wait(void) {
    char c;
    if (read(probe_tick_pipe[0], &c, 1) != 1) must(-1, "read of the ticker pipe");
}

static inline void ticker_stop(void) {
    __atomic_store_n(&probe_tick_stop, 1, __ATOMIC_SEQ_CST);
    join(probe_ticker);
    close(probe_tick_pipe[0]);
    close(probe_tick_pipe[1]);
}
