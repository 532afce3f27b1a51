// Thread probe: a program whose threads have all ended waits on its own, in
// calls that a signal handler would cut short (sleep, nanosleep, poll, sem_
// timedwait). Each runs its full time and is not interrupted, and nothing is
// printed on stderr: under greenrun --threads (whose monitor is on) the main
// thread is then alone on its hub and keeps nobody waiting, so there is
// nothing to report and no reason to signal it.
#include "probe_threads.h"

#include <poll.h>
#include <semaphore.h>

static void* nothing(void* p) { return p; }

int main(void) {
    watchdog(30);
    // A thread, so that under greenrun --threads the main thread has a hub.
    join(spawn(nothing, NULL));
    const double kWait = 0.6;  // longer than the monitor's 200 ms and its tick

    double start = now();
    const unsigned left = sleep(1);
    check_int("sleep(1) returns", left, 0);
    check_took("sleep(1) took", now() - start, 1.0);

    struct timespec ts = {0, (long)(kWait * 1e9)}, rem = {0, 0};
    start = now();
    check_err("nanosleep(0.6 s)", rc_errno(nanosleep(&ts, &rem)), 0);
    check_took("nanosleep(0.6 s) took", now() - start, kWait);

    start = now();
    check_int("poll(no fds, 600 ms)", poll(NULL, 0, (int)(kWait * 1000)), 0);
    check_took("poll(no fds, 600 ms) took", now() - start, kWait);

    sem_t sem;
    must(sem_init(&sem, 0, 0), "sem_init");
    const struct timespec at = deadline(CLOCK_REALTIME, kWait);
    start = now();
    check_err("sem_timedwait(0.6 s) of a semaphore nobody posts", rc_errno(sem_timedwait(&sem, &at)), ETIMEDOUT);
    check_took("sem_timedwait(0.6 s) took", now() - start, kWait);
    sem_destroy(&sem);
    return finish();
}
