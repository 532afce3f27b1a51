// Thread probe: file locks. flock and open file description (OFD) locks
// taken by two threads through two opens of one file exclude each other (with
// green threads on one carrier, a kernel wait for the lock would stop the
// holder too: both would wait forever); a lock another process holds is
// waited for while the program's other threads go on (fcntl F_SETLKW, lockf
// F_LOCK, flock); a signal handler without SA_RESTART interrupts the wait
// (EINTR), one with SA_RESTART does not; a thread cancelled while it waits in
// F_SETLKW ends; bad arguments fail as the kernel says.
#include "probe_threads.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/time.h>
#include <sys/wait.h>

static char path[64];

static int open_file(void) {
    const int fd = open(path, O_RDWR);
    if (fd < 0) must(-1, "open");
    return fd;
}

// ---------------------------------------------------------------------------
// Two threads of this process.

enum kind { kFlock, kOfd };

static int take(int fd, enum kind k, int exclusive) {
    if (k == kFlock) return flock(fd, exclusive ? LOCK_EX : LOCK_SH);
    struct flock fl = {.l_type = exclusive ? F_WRLCK : F_RDLCK, .l_whence = SEEK_SET};
    return fcntl(fd, F_OFD_SETLKW, &fl);
}

static int drop(int fd, enum kind k) {
    if (k == kFlock) return flock(fd, LOCK_UN);
    struct flock fl = {.l_type = F_UNLCK, .l_whence = SEEK_SET};
    return fcntl(fd, F_OFD_SETLK, &fl);
}

struct contest {
    enum kind kind;
    int held;          // the first thread holds the lock
    int second_inside; // the second got it while the first held it
    int order[2];
    int next;
};

static void* first_locker(void* p) {
    struct contest* c = p;
    const int fd = open_file();
    must(take(fd, c->kind, 1), "take the lock");
    __atomic_store_n(&c->held, 1, __ATOMIC_SEQ_CST);
    sleep_ms(100);
    c->order[__atomic_fetch_add(&c->next, 1, __ATOMIC_SEQ_CST)] = 1;
    __atomic_store_n(&c->held, 0, __ATOMIC_SEQ_CST);
    must(drop(fd, c->kind), "drop the lock");
    sleep_ms(20);
    close(fd);
    return NULL;
}

static void* second_locker(void* p) {
    struct contest* c = p;
    while (!__atomic_load_n(&c->held, __ATOMIC_SEQ_CST)) sleep_ms(1);
    const int fd = open_file();
    const int rc = take(fd, c->kind, 1);
    if (__atomic_load_n(&c->held, __ATOMIC_SEQ_CST)) c->second_inside = 1;
    c->order[__atomic_fetch_add(&c->next, 1, __ATOMIC_SEQ_CST)] = 2;
    check_err("  the second thread's lock", rc_errno(rc), 0);
    close(fd);
    return NULL;
}

static void two_threads(enum kind k, const char* name) {
    printf("-- %s between two threads, two opens\n", name);
    struct contest c = {.kind = k};
    const double t0 = now();
    pthread_t a = spawn(first_locker, &c), b = spawn(second_locker, &c);
    join(a);
    join(b);
    check_yes("  the second waited for the first to unlock", !c.second_inside && c.order[0] == 1 && c.order[1] == 2);
    check_took("  took", now() - t0, 0.1);
}

struct shared_pair {
    enum kind kind;
    int inside;
    int both;
};

static void* shared_locker(void* p) {
    struct shared_pair* s = p;
    const int fd = open_file();
    must(take(fd, s->kind, 0), "take a shared lock");
    if (__atomic_add_fetch(&s->inside, 1, __ATOMIC_SEQ_CST) == 2) s->both = 1;
    for (int i = 0; i < 50 && !s->both; ++i) sleep_ms(2);
    must(drop(fd, s->kind), "drop a shared lock");
    close(fd);
    return NULL;
}

static void shared_locks(enum kind k, const char* name) {
    struct shared_pair s = {.kind = k};
    pthread_t a = spawn(shared_locker, &s), b = spawn(shared_locker, &s);
    join(a);
    join(b);
    printf("%s: two shared locks at once: %s\n", name, s.both ? "yes" : "no");
}

// ---------------------------------------------------------------------------
// Another process holds the lock.

// A child that takes a whole-file write lock (POSIX record lock, or flock),
// says so through `ready`, holds it for `ms` and exits.
static pid_t child_holding(int use_flock, int ms) {
    int ready[2];
    must(pipe(ready), "pipe");
    const pid_t pid = fork();
    if (pid == 0) {
        const int fd = open(path, O_RDWR);
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        if (fd < 0 || (use_flock ? flock(fd, LOCK_EX) : fcntl(fd, F_SETLK, &fl)) != 0) _exit(3);
        (void)!write(ready[1], "x", 1);
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        _exit(0);
    }
    char x;
    if (read(ready[0], &x, 1) != 1) must(-1, "the child's lock");
    close(ready[0]);
    close(ready[1]);
    return pid;
}

static void reap(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
}

enum wait_call { kFcntl, kLockf, kFlockCall };

static int lock_waiting(int fd, enum wait_call how) {
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    switch (how) {
    case kFcntl: return fcntl(fd, F_SETLKW, &fl);
    case kLockf: return lockf(fd, F_LOCK, 0);
    default: return flock(fd, LOCK_EX);
    }
}

static void other_process(enum wait_call how, const char* name) {
    printf("-- %s for another process's lock\n", name);
    const int fd = open_file();
    const pthread_t counter = counter_start();
    const pid_t child = child_holding(how == kFlockCall, 300);
    const int before = counter_ticks();
    const double t0 = now();
    const int rc = lock_waiting(fd, how);
    const double took = now() - t0;
    const int ticks = counter_ticks() - before;
    counter_stop(counter);
    check_err("  the lock", rc_errno(rc), 0);
    check_yes("  waited for the other process (0.2 s or more)", took > 0.2);
    check_yes("  another thread ran meanwhile (10 ticks or more)", ticks >= 10);
    reap(child);
    close(fd);
}

static void on_alarm(int sig) { (void)sig; }

static void interrupted(int restart) {
    printf("-- F_SETLKW and a handler %s SA_RESTART\n", restart ? "with" : "without");
    const int fd = open_file();
    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = restart ? SA_RESTART : 0};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    const pid_t child = child_holding(0, 300);
    struct itimerval it = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    const double t0 = now();
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    const int rc = fcntl(fd, F_SETLKW, &fl);
    const double took = now() - t0;
    check_err("  the lock", rc_errno(rc), restart ? 0 : EINTR);
    check_yes(restart ? "  went on after the handler" : "  ended by the handler", restart ? took > 0.2 : took < 0.2);
    reap(child);
    close(fd);
    watchdog(60);
}

static void* cancelled_waiter(void* p) {
    (void)p;
    const int fd = open_file();
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    fcntl(fd, F_SETLKW, &fl);
    printf("  not reached\n");
    return NULL;
}

static void cancelled(void) {
    printf("-- a thread cancelled in F_SETLKW\n");
    const pid_t child = child_holding(0, 300);
    pthread_t t = spawn(cancelled_waiter, NULL);
    sleep_ms(50);
    pthread_cancel(t);
    check_yes("  joined as cancelled", join(t) == PTHREAD_CANCELED);
    reap(child);
}

static void bad_arguments(void) {
    printf("-- bad arguments\n");
    const int fd = open_file();
    check_err("  flock(-1, LOCK_EX)", rc_errno(flock(-1, LOCK_EX)), EBADF);
    check_err("  flock(fd, 0)", rc_errno(flock(fd, 0)), EINVAL);
    struct flock bad = {.l_type = 77, .l_whence = SEEK_SET};
    check_err("  F_SETLKW with a bad l_type", rc_errno(fcntl(fd, F_SETLKW, &bad)), EINVAL);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    check_err("  F_SETLKW on -1", rc_errno(fcntl(-1, F_SETLKW, &fl)), EBADF);
    check_err("  F_OFD_SETLKW with l_pid set", rc_errno(fcntl(fd, F_OFD_SETLKW, &(struct flock){.l_type = F_WRLCK, .l_pid = 1})), EINVAL);
    check_err("  lockf(-1, F_LOCK)", rc_errno(lockf(-1, F_LOCK, 0)), EBADF);
    check_err("  lockf(fd, 99)", rc_errno(lockf(fd, 99, 0)), EINVAL);
    const int ro = open(path, O_RDONLY);
    check_err("  F_SETLKW write lock on a read-only fd", rc_errno(fcntl(ro, F_SETLKW, &fl)), EBADF);
    close(ro);
    close(fd);
}

int main(void) {
    watchdog(60);
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(path, sizeof path, "/tmp/green-probe-locks-%d", (int)getpid());
    const int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) must(-1, "create the file");
    close(fd);
    two_threads(kFlock, "flock");
    two_threads(kOfd, "OFD locks");
    shared_locks(kFlock, "flock");
    shared_locks(kOfd, "OFD locks");
    other_process(kFcntl, "fcntl F_SETLKW");
    other_process(kLockf, "lockf F_LOCK");
    other_process(kFlockCall, "flock");
    interrupted(0);
    interrupted(1);
    cancelled();
    bad_arguments();
    unlink(path);
    return finish();
}
