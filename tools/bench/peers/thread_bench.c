/* usage: thread_bench create|mutex|cond [N]
 * POSIX thread costs, run as it is and under `greenrun --threads` (the same
 * binary: what a legacy program pays either way). Prints "RESULT name value ns".
 *   create: pthread_create + pthread_join of a thread that returns at once
 *   mutex:  an uncontended pthread_mutex_lock + pthread_mutex_unlock pair
 *   cond:   two threads hand a turn back and forth through a mutex and a
 *           condition variable; the time per hand-over
 * Build: gcc -O2 thread_bench.c -o thread_bench -pthread
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static void* player(void* arg) {
    const int me = (int)(long)arg;
    pthread_mutex_lock(&turn_lock);
    for (long i = 0; i < rounds; ++i) {
        while (turn != me) pthread_cond_wait(&turn_changed, &turn_lock);
        turn = 1 - me;
        pthread_cond_signal(&turn_changed);
    }
    pthread_mutex_unlock(&turn_lock);
    return NULL;
}

static void bench_cond(long n) {
    rounds = n;
    pthread_t a, b;
    const double t0 = now();
    pthread_create(&a, NULL, player, (void*)0L);
    pthread_create(&b, NULL, player, (void*)1L);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("RESULT cond_handover_ns %.1f ns\n", (now() - t0) / (2.0 * n));
}

int main(int argc, char** argv) {
    if (argc < 2) { fprintf(stderr, "usage: thread_bench create|mutex|cond [N]\n"); return 2; }
    const long n = argc > 2 ? atol(argv[2]) : 0;
    if (!strcmp(argv[1], "create")) bench_create(n ? n : 20000);
    else if (!strcmp(argv[1], "mutex")) bench_mutex(n ? n : 20000000);
    else if (!strcmp(argv[1], "cond")) bench_cond(n ? n : 200000);
    else { fprintf(stderr, "thread_bench: unknown benchmark %s\n", argv[1]); return 2; }
    return 0;
}
