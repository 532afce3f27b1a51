/* What green reports about a thread-patched program, where a program run with
 * OS threads would crash silently or hang (only run under greenrun --threads):
 *
 *   probe_reports overflow   a thread named "deep-recursion" overflows its stack
 *   probe_reports busy       a thread blocks its carrier for 600 ms in a call the
 *                            shim does not reach (a raw nanosleep) while another waits;
 *                            a poll and a nanosleep of two more span the report
 *   probe_reports pinned     (--threads=2) a thread computes for 1.2 s on one carrier
 *                            (preempted, it lets others run, but stays busy);
 *                            the threads created meanwhile go to the other
 *   probe_reports deadlock   two threads each wait for a mutex the other holds,
 *                            main joins one; an alarm 2 s later kills the process
 *   probe_reports deadlock-handled   the same, but the alarm's handler ends it (exit 3)
 *   probe_reports versions   calls made through old symbol versions reach the hooks
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int depth(int n) {
    volatile char frame[4096];
    frame[0] = (char)n;
    if (n < 0) return 0; /* never: n only grows, until the stack runs out */
    return depth(n + 1) + frame[0];
}

static void* deep(void* arg) {
    pthread_setname_np(pthread_self(), "deep-recursion");
    return (void*)(long)depth((int)(long)arg);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void* block(void* arg) {
    pthread_setname_np(pthread_self(), "cruncher");
    struct timespec ts = {0, 600 * 1000 * 1000};
    while (syscall(SYS_nanosleep, &ts, &ts) != 0) {  // the rest, after a signal
    }
    return arg;
}

static void* nap(void* arg) {
    usleep(10000);
    return arg;
}

/* Waits that span the report: a poll of a pipe nobody writes and a nanosleep,
 * each for 1 s, in threads of their own. The report is the runtime's signal,
 * not the program's: neither ends early with EINTR. */
static int polled = -2, slept = -2;

static void* poll_through_the_report(void* arg) {
    int fds[2];
    if (pipe(fds) != 0) return arg;
    struct pollfd p = {fds[0], POLLIN, 0};
    polled = poll(&p, 1, 1000);
    close(fds[0]);
    close(fds[1]);
    return arg;
}

static void* sleep_through_the_report(void* arg) {
    const struct timespec ts = {1, 0};
    slept = nanosleep(&ts, NULL);
    return arg;
}

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;

static void* take_a_then_b(void* arg) {
    pthread_mutex_lock(&a);
    usleep(20000);
    pthread_mutex_lock(&b);
    return arg;
}

static void* take_b_then_a(void* arg) {
    pthread_mutex_lock(&b);
    usleep(20000);
    pthread_mutex_lock(&a);
    return arg;
}

static void alarm_ends_it(int sig) {
    (void)sig;
    static const char said[] = "deadlock: the alarm's handler ends it\n";
    (void)!write(STDOUT_FILENO, said, sizeof said - 1);
    _exit(3);
}

/* The versions a binary built against glibc before 2.34 (or before 2.3.2 for
 * condition variables) references. */
int create_2_2_5(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);
int join_2_2_5(pthread_t, void**);
int cond_wait_2_3_2(pthread_cond_t*, pthread_mutex_t*);
int cond_signal_2_3_2(pthread_cond_t*);
__asm__(".symver create_2_2_5, pthread_create@GLIBC_2.2.5");
__asm__(".symver join_2_2_5, pthread_join@GLIBC_2.2.5");
__asm__(".symver cond_wait_2_3_2, pthread_cond_wait@GLIBC_2.3.2");
__asm__(".symver cond_signal_2_3_2, pthread_cond_signal@GLIBC_2.3.2");

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int ready;

static void* signaller(void* arg) {
    pthread_mutex_lock(&m);
    ready = 1;
    cond_signal_2_3_2(&c);
    pthread_mutex_unlock(&m);
    return arg;
}

static int tasks(void) {
    FILE* p = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (p && fgets(line, sizeof line, p))
        if (sscanf(line, "Threads: %d", &n) == 1) break;
    if (p) fclose(p);
    return n;
}

static long busy_tid;

static void* compute_long(void* arg) {
    __atomic_store_n(&busy_tid, syscall(SYS_gettid), __ATOMIC_SEQ_CST);
    volatile unsigned long x = 0;
    for (const double until = now() + 1.2; now() < until;) x = x * 31 + 7;
    return arg;
}

static void* where(void* arg) {
    *(long*)arg = syscall(SYS_gettid);
    return NULL;
}

int main(int argc, char** argv) {
    const char* what = argc > 1 ? argv[1] : "";
    pthread_t t, u;
    if (!strcmp(what, "overflow")) {
        pthread_create(&t, NULL, deep, NULL);
        pthread_join(t, NULL);
        return 0;
    }
    if (!strcmp(what, "busy")) {
        pthread_t w, v;
        pthread_create(&w, NULL, poll_through_the_report, NULL);
        pthread_create(&v, NULL, sleep_through_the_report, NULL);
        pthread_create(&t, NULL, block, NULL);
        pthread_create(&u, NULL, nap, NULL);
        pthread_join(t, NULL);
        pthread_join(u, NULL);
        pthread_join(w, NULL);
        pthread_join(v, NULL);
        printf("busy: poll %d, nanosleep %d\n", polled, slept);
        puts("busy: done");
        return 0;
    }
    if (!strcmp(what, "pinned")) {
        pthread_create(&t, NULL, compute_long, NULL);
        usleep(500000);  /* the monitor (200 ms) has seen its carrier busy by now */
        enum { kLate = 4 };
        pthread_t late[kLate];
        long tids[kLate];
        for (int i = 0; i < kLate; ++i) pthread_create(&late[i], NULL, where, &tids[i]);
        int beside = 0;
        for (int i = 0; i < kLate; ++i) {
            pthread_join(late[i], NULL);
            beside += tids[i] == __atomic_load_n(&busy_tid, __ATOMIC_SEQ_CST);
        }
        pthread_join(t, NULL);
        printf("pinned: threads placed beside the busy one: %d\n", beside);
        return 0;
    }
    if (!strcmp(what, "deadlock") || !strcmp(what, "deadlock-handled")) {
        if (!strcmp(what, "deadlock-handled")) signal(SIGALRM, alarm_ends_it);
        alarm(2);
        pthread_create(&t, NULL, take_a_then_b, NULL);
        pthread_create(&u, NULL, take_b_then_a, NULL);
        pthread_join(t, NULL);
        puts("deadlock: not reached");
        return 0;
    }
    if (!strcmp(what, "versions")) {
        pthread_mutex_lock(&m);
        if (create_2_2_5(&t, NULL, signaller, NULL) != 0) return 1;
        while (!ready) cond_wait_2_3_2(&c, &m);
        pthread_mutex_unlock(&m);
        join_2_2_5(t, NULL);
        printf("versions: signalled, %d OS threads\n", tasks());
        return 0;
    }
    fprintf(stderr, "usage: probe_reports overflow|busy|pinned|deadlock|deadlock-handled|versions\n");
    return 2;
}
