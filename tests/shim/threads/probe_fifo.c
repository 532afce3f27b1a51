// Thread probe: opening a FIFO waits for its other end. Two threads open the
// two ends (open, and fopen) and pass a line; a thread waits in its open for
// another process while the program's other threads go on; a signal handler
// without SA_RESTART interrupts the open (EINTR), one with SA_RESTART does
// not; a thread cancelled in its open ends; the rest fails as the kernel says.
#include "probe_threads.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

static char dir[64];

static void fifo_path(char* out, size_t size, const char* name) {
    snprintf(out, size, "%s/%s", dir, name);
    unlink(out);
    if (mkfifo(out, 0600) != 0) must(-1, "mkfifo");
}

struct ends {
    char path[128];
    int use_fopen;
    char line[32];
};

static void* reader(void* p) {
    struct ends* e = p;
    if (e->use_fopen) {
        FILE* f = fopen(e->path, "re");
        if (!f) must(-1, "fopen for reading");
        if (!fgets(e->line, sizeof e->line, f)) strcpy(e->line, "(nothing)\n");
        fclose(f);
        return NULL;
    }
    const int fd = open(e->path, O_RDONLY);
    if (fd < 0) must(-1, "open for reading");
    const ssize_t n = read(fd, e->line, sizeof e->line - 1);
    e->line[n > 0 ? n : 0] = 0;
    close(fd);
    return NULL;
}

static void* writer(void* p) {
    struct ends* e = p;
    sleep_ms(50);
    if (e->use_fopen) {
        FILE* f = fopen(e->path, "w");
        if (!f) must(-1, "fopen for writing");
        fputs("hello through fopen\n", f);
        fclose(f);
        return NULL;
    }
    const int fd = open(e->path, O_WRONLY);
    if (fd < 0) must(-1, "open for writing");
    (void)!write(fd, "hello through open\n", 19);
    close(fd);
    return NULL;
}

static void two_threads(int use_fopen) {
    struct ends e = {.use_fopen = use_fopen};
    fifo_path(e.path, sizeof e.path, use_fopen ? "by-fopen" : "by-open");
    pthread_t r = spawn(reader, &e), w = spawn(writer, &e);
    join(r);
    join(w);
    printf("two threads, %s: %s", use_fopen ? "fopen" : "open", e.line);
}

// A child that opens `path` for writing after `ms`, writes a line and exits.
static pid_t child_writer(const char* path, int ms) {
    const pid_t pid = fork();
    if (pid == 0) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        const int fd = open(path, O_WRONLY);
        if (fd < 0) _exit(3);
        (void)!write(fd, "from the child\n", 15);
        _exit(0);
    }
    return pid;
}

static void other_process(void) {
    char path[128];
    fifo_path(path, sizeof path, "from-child");
    const pthread_t counter = counter_start();
    const pid_t child = child_writer(path, 300);
    const int before = counter_ticks();
    const int fd = open(path, O_RDONLY);
    const int ticks = counter_ticks() - before;
    counter_stop(counter);
    char line[32] = {0};
    if (fd >= 0) (void)!read(fd, line, sizeof line - 1);
    printf("open waits for another process: %s", fd >= 0 ? line : "failed\n");
    check_yes("  another thread ran meanwhile (10 ticks or more)", ticks >= 10);
    close(fd);
    waitpid(child, NULL, 0);
}

static void on_alarm(int sig) { (void)sig; }

// The program's threads, once those that end have ended (a helper's, here).
static int settled_tasks(int want) {
    int n = count_tasks();
    for (int i = 0; i < 100 && n != want; ++i) {
        sleep_ms(2);
        n = count_tasks();
    }
    return n;
}

static void interrupted(int restart) {
    const int tasks = count_tasks();
    char path[128];
    fifo_path(path, sizeof path, restart ? "restarted" : "interrupted");
    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = restart ? SA_RESTART : 0};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    const pid_t child = restart ? child_writer(path, 200) : 0;
    struct itimerval it = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    const int fd = open(path, O_RDONLY);
    printf("a handler %s SA_RESTART: %s\n", restart ? "with" : "without", en(fd < 0 ? errno : 0));
    if (fd >= 0) close(fd);
    if (child) waitpid(child, NULL, 0);
    watchdog(60);
    check_yes("  no thread left behind", settled_tasks(tasks) == tasks);
}

static char cancelled_path[128];

static void* cancelled_opener(void* p) {
    open(cancelled_path, p ? O_WRONLY : O_RDONLY);
    printf("  not reached\n");
    return NULL;
}

static void cancelled(int writer) {
    const int tasks = count_tasks();
    fifo_path(cancelled_path, sizeof cancelled_path, "cancelled");
    pthread_t t = spawn(cancelled_opener, writer ? cancelled_path : NULL);
    sleep_ms(50);
    pthread_cancel(t);
    printf("a thread cancelled in its open for %s\n", writer ? "writing" : "reading");
    check_yes("  ends", join(t) == PTHREAD_CANCELED);
    check_yes("  no thread left behind", settled_tasks(tasks) == tasks);
}

static void bad_arguments(void) {
    char path[128];
    fifo_path(path, sizeof path, "lonely");
    check_err("O_WRONLY | O_NONBLOCK with no reader", rc_errno(open(path, O_WRONLY | O_NONBLOCK) < 0 ? -1 : 0), ENXIO);
    const int fd = open(path, O_RDONLY | O_NONBLOCK);
    check_err("O_RDONLY | O_NONBLOCK with no writer", fd < 0 ? errno : 0, 0);
    close(fd);
    check_err("a missing path", rc_errno(open("/nonexistent/fifo", O_RDONLY) < 0 ? -1 : 0), ENOENT);
    check_err("fopen of a missing path", fopen("/nonexistent/fifo", "r") ? 0 : errno, ENOENT);
    check_err("a bad dirfd", rc_errno(openat(-5, "fifo", O_RDONLY) < 0 ? -1 : 0), EBADF);
}

int main(void) {
    watchdog(60);
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(dir, sizeof dir, "/tmp/green-probe-fifo-%d", (int)getpid());
    if (mkdir(dir, 0700) != 0) must(-1, "mkdir");
    two_threads(0);
    two_threads(1);
    other_process();
    interrupted(0);
    interrupted(1);
    cancelled(1);
    cancelled(0);
    bad_arguments();
    const char* names[] = {"by-open", "by-fopen", "from-child", "restarted", "interrupted", "cancelled", "lonely"};
    char path[128];
    for (size_t i = 0; i < sizeof names / sizeof *names; ++i) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    return finish();
}
