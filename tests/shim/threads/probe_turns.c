// Thread probe: threads whose calls never have to wait still take turns with
// the others, as the kernel's time slices make OS threads do. First three threads
// spin until the main thread stops them: one sends datagrams to a loopback
// socket nobody reads (a send that never blocks: the kernel drops what does
// not fit), one writes to /dev/null, one polls a pipe with a zero timeout.
// The main thread sleeps, waits until each has made progress and stops them.
// Then the main thread tries a mutex, a read-write lock, a spinlock and a
// semaphore in a loop while another thread holds it and sleeps.
// Under greenrun --threads, where the spinners share a carrier with each other
// and with the main thread, this needs the monitor to end a green thread's
// turn after its time slice (the shim then lets the others run at the next
// call): without that the first spinner keeps its carrier and the watchdog
// ends the probe. A forked child has a monitor of its own for that.
#include "probe_threads.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <semaphore.h>
#include <sys/socket.h>
#include <sys/wait.h>

enum { kSpinners = 3 };

static int stop;
static unsigned long rounds[kSpinners];

static int running(void) { return !__atomic_load_n(&stop, __ATOMIC_SEQ_CST); }
static void count(int i) { __atomic_add_fetch(&rounds[i], 1, __ATOMIC_SEQ_CST); }

static int sink_fd;  // a bound UDP socket on 127.0.0.1 that nobody reads
static struct sockaddr_in sink;

static void* send_datagrams(void* unused) {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) must(-1, "socket");
    while (running()) {
        if (sendto(fd, "x", 1, 0, (const struct sockaddr*)&sink, sizeof sink) != 1) must(-1, "sendto");
        count(0);
    }
    close(fd);
    return unused;
}

static void* write_to_null(void* unused) {
    const int fd = open("/dev/null", O_WRONLY);
    if (fd < 0) must(-1, "open /dev/null");
    while (running()) {
        if (write(fd, "x", 1) != 1) must(-1, "write /dev/null");
        count(1);
    }
    close(fd);
    return unused;
}

static void* poll_without_waiting(void* unused) {
    int p[2];
    must(pipe(p), "pipe");
    while (running()) {
        struct pollfd fd = {p[0], POLLIN, 0};
        if (poll(&fd, 1, 0) != 0) must(-1, "poll of an empty pipe");
        count(2);
    }
    close(p[0]);
    close(p[1]);
    return unused;
}

// A loop of tries: the holder takes the lock, sleeps and lets it go; the
// main thread tries until it gets it.
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_spinlock_t spin;
static sem_t sem;

struct lockable {
    const char* try_call;
    void (*take)(void);  // by the holder
    void (*give)(void);  // by the holder, 30 ms later
    int (*try_once)(void);  // by the main thread: 1 once it got it (and let it go)
};

static void mutex_take(void) { pthread_mutex_lock(&mutex); }
static void mutex_give(void) { pthread_mutex_unlock(&mutex); }
static int mutex_try(void) { return pthread_mutex_trylock(&mutex) == 0 ? (pthread_mutex_unlock(&mutex), 1) : 0; }
static void rwlock_take(void) { pthread_rwlock_wrlock(&rwlock); }
static void rwlock_give(void) { pthread_rwlock_unlock(&rwlock); }
static int rwlock_try(void) { return pthread_rwlock_tryrdlock(&rwlock) == 0 ? (pthread_rwlock_unlock(&rwlock), 1) : 0; }
static void spin_take(void) { pthread_spin_lock(&spin); }
static void spin_give(void) { pthread_spin_unlock(&spin); }
static int spin_try(void) { return pthread_spin_trylock(&spin) == 0 ? (pthread_spin_unlock(&spin), 1) : 0; }
static void sem_take(void) {}  // the semaphore starts at 0
static void sem_give(void) { sem_post(&sem); }
static int sem_try(void) { return sem_trywait(&sem) == 0; }

static int taken;  // the holder has it

static void* hold(void* p) {
    const struct lockable* l = p;
    l->take();
    __atomic_store_n(&taken, 1, __ATOMIC_SEQ_CST);
    sleep_ms(30);
    l->give();
    return NULL;
}

static void tries(const struct lockable* l) {
    __atomic_store_n(&taken, 0, __ATOMIC_SEQ_CST);
    pthread_t t = spawn(hold, (void*)l);
    while (!__atomic_load_n(&taken, __ATOMIC_SEQ_CST)) sched_yield();
    const double start = now();
    while (!l->try_once()) {
    }
    join(t);
    char line[128];
    snprintf(line, sizeof line, "a loop of %s gets it from a holder that sleeps", l->try_call);
    check_str(line, now() - start < 5.0 ? "yes" : "too slow", "yes");
}

static void spin_and_try(void) {
    sink_fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (sink_fd < 0) must(-1, "socket");
    sink.sin_family = AF_INET;
    sink.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sink;
    must(bind(sink_fd, (const struct sockaddr*)&sink, sizeof sink), "bind");
    must(getsockname(sink_fd, (struct sockaddr*)&sink, &len), "getsockname");

    void* (*const spinners[kSpinners])(void*) = {send_datagrams, write_to_null, poll_without_waiting};
    pthread_t threads[kSpinners];
    const double start = now();
    for (int i = 0; i < kSpinners; ++i) threads[i] = spawn(spinners[i], NULL);
    sleep_ms(50);
    int all_ran = 0;
    while (!all_ran && now() - start < 10.0) {
        all_ran = 1;
        for (int i = 0; i < kSpinners; ++i) all_ran &= __atomic_load_n(&rounds[i], __ATOMIC_SEQ_CST) != 0;
        if (!all_ran) sleep_ms(1);
    }
    check_yes("each spinning thread made progress while the others spun", all_ran);
    __atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < kSpinners; ++i) join(threads[i]);
    // Generous: the point is "soon", not "after the watchdog".
    check_str("the main thread stopped them soon", now() - start < 5.0 ? "yes" : "too slow", "yes");
    close(sink_fd);

    must(pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE), "pthread_spin_init");
    must(sem_init(&sem, 0, 0), "sem_init");
    static const struct lockable kLockables[] = {
        {"pthread_mutex_trylock", mutex_take, mutex_give, mutex_try},
        {"pthread_rwlock_tryrdlock", rwlock_take, rwlock_give, rwlock_try},
        {"pthread_spin_trylock", spin_take, spin_give, spin_try},
        {"sem_trywait", sem_take, sem_give, sem_try},
    };
    for (size_t i = 0; i < sizeof kLockables / sizeof kLockables[0]; ++i) tries(&kLockables[i]);
}

static void* nothing(void* unused) { return unused; }

// With "fork": the same in a child forked by a thread that has had threads
// (under --threads, a thread with a hub), which must take turns too.
int main(int argc, char** argv) {
    watchdog(30);
    if (argc < 2 || strcmp(argv[1], "fork") != 0) {
        spin_and_try();
        return finish();
    }
    join(spawn(nothing, NULL));
    fflush(stdout);
    const pid_t child = fork();
    if (child < 0) must(-1, "fork");
    if (child == 0) {
        watchdog(30);
        spin_and_try();
        _exit(finish());
    }
    int status = 0;
    if (waitpid(child, &status, 0) != child) must(-1, "waitpid");
    check_yes("the forked child took turns and finished", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return finish();
}
