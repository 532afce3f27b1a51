/* usage: thread_bench create|mutex|cond|futex|compute [N]
 * POSIX thread costs, run as it is and under `greenrun --threads` (the same
 * binary: what a legacy program pays either way). Prints "RESULT name value ns".
 *   create:  pthread_create + pthread_join of a thread that returns at once
 *   mutex:   an uncontended pthread_mutex_lock + pthread_mutex_unlock pair
 *   cond:    two threads hand a turn back and forth through a mutex and a
 *            condition variable; the time per hand-over
 *   futex:   the same hand-over through a bare futex word (FUTEX_WAIT and
 *            FUTEX_WAKE, no mutex): the least two OS threads can pay
 *   compute: two threads each run the same fixed CPU loop (N steps), no I/O
 *            and no locks; the wall time from the first pthread_create to the
 *            last pthread_join
 * cond, futex and compute also print how many OS threads (distinct gettid()
 * values) their two threads ran on: 2 under --threads=2 when they were
 * placed on different carriers, 1 when they share one.
 * Build: gcc -O2 thread_bench.c -o thread_bench -pthread
 */
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void* nothing(void* arg) { return arg; }

static void bench_create(long n) {
    const double t0 = now();
    for (long i = 0; i < n; ++i) {
        pthread_t t;
        if (pthread_create(&t, NULL, nothing, NULL) != 0) { perror("pthread_create"); exit(1); }
        pthread_join(t, NULL);
    }
    printf("RESULT thread_create_join_ns %.1f ns\n", (now() - t0) / n);
}

static void bench_mutex(long n) {
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_t t;  /* a second thread exists, as in any program that needs a mutex */
    pthread_create(&t, NULL, nothing, NULL);
    pthread_join(t, NULL);
    const double t0 = now();
    for (long i = 0; i < n; ++i) {
        pthread_mutex_lock(&m);
        pthread_mutex_unlock(&m);
    }
    printf("RESULT mutex_pair_ns %.2f ns\n", (now() - t0) / n);
}

static pthread_mutex_t turn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static int turn;
static long rounds;
static pid_t player_tid[2];  /* the OS thread each of the two threads ran on */

static pid_t os_tid(void) { return (pid_t)syscall(SYS_gettid); }

static void print_os_threads(const char* what) {
    printf("RESULT %s_os_threads %d threads\n", what, player_tid[0] == player_tid[1] ? 1 : 2);
}

static void* player(void* arg) {
    const int me = (int)(long)arg;
    player_tid[me] = os_tid();
    pthread_mutex_lock(&turn_lock);
    for (long i = 0; i < rounds; ++i) {
        while (turn != me) pthread_cond_wait(&turn_changed, &turn_lock);
        turn = 1 - me;
        pthread_cond_signal(&turn_changed);
    }
    pthread_mutex_unlock(&turn_lock);
    return NULL;
}

/* Runs fn(0) and fn(1) in two threads, `n` rounds each; returns the wall time in ns. */
static double run_pair(void* (*fn)(void*), long n) {
    rounds = n;
    pthread_t a, b;
    const double t0 = now();
    pthread_create(&a, NULL, fn, (void*)0L);
    pthread_create(&b, NULL, fn, (void*)1L);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    return now() - t0;
}

static void bench_cond(long n) {
    printf("RESULT cond_handover_ns %.1f ns\n", run_pair(player, n) / (2.0 * n));
    print_os_threads("cond");
}

static int futex_turn;  /* whose turn: 0 or 1, the futex word */

static void* futex_player(void* arg) {
    const int me = (int)(long)arg;
    player_tid[me] = os_tid();
    for (long i = 0; i < rounds; ++i) {
        int t;
        while ((t = __atomic_load_n(&futex_turn, __ATOMIC_ACQUIRE)) != me)
            syscall(SYS_futex, &futex_turn, FUTEX_WAIT_PRIVATE, t, NULL, NULL, 0);
        __atomic_store_n(&futex_turn, 1 - me, __ATOMIC_RELEASE);
        syscall(SYS_futex, &futex_turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
    return NULL;
}

static void bench_futex(long n) {
    printf("RESULT futex_handover_ns %.1f ns\n", run_pair(futex_player, n) / (2.0 * n));
    print_os_threads("futex");
}

static uint64_t crunched[2];

static void* cruncher(void* arg) {
    const int me = (int)(long)arg;
    player_tid[me] = os_tid();
    uint64_t x = 88172645463325252ull + (uint64_t)me;  /* xorshift64: a dependent chain the compiler can't fold */
    for (long i = 0; i < rounds; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    crunched[me] = x;
    return NULL;
}

static void bench_compute(long n) {
    const double ms = run_pair(cruncher, n) / 1e6;
    if (crunched[0] == crunched[1]) fprintf(stderr, "thread_bench: (unlikely) equal results\n");
    printf("RESULT compute_wall_ms %.1f ms\n", ms);
    print_os_threads("compute");
}

int main(int argc, char** argv) {
    if (argc < 2) { fprintf(stderr, "usage: thread_bench create|mutex|cond|futex|compute [N]\n"); return 2; }
    const long n = argc > 2 ? atol(argv[2]) : 0;
    if (!strcmp(argv[1], "create")) bench_create(n ? n : 20000);
    else if (!strcmp(argv[1], "mutex")) bench_mutex(n ? n : 20000000);
    else if (!strcmp(argv[1], "cond")) bench_cond(n ? n : 200000);
    else if (!strcmp(argv[1], "futex")) bench_futex(n ? n : 200000);
    else if (!strcmp(argv[1], "compute")) bench_compute(n ? n : 400000000);
    else { fprintf(stderr, "thread_bench: unknown benchmark %s\n", argv[1]); return 2; }
    return 0;
}
