// Thread probe: System V semaphores and message queues, and POSIX message
// queues, as threads hand each other work through them. A thread waiting for
// a post, a message or room gets it from another thread of the program (with
// green threads on one carrier, a kernel wait stopped the thread that would
// post: both waited forever); a wait for another process lets the other
// threads run; timeouts, signal handlers (EINTR with or without SA_RESTART as
// the kernel says), removal while waiting (EIDRM), cancellation and bad
// arguments behave as the kernel's.
#include "probe_threads.h"

#include <fcntl.h>
#include <mqueue.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/time.h>
#include <sys/wait.h>

static int sem_id, msg_id;
static mqd_t queue = (mqd_t)-1;

struct msg {
    long type;
    char text[16];
};

static void* post_later(void* p) {
    (void)p;
    sleep_ms(50);
    struct sembuf up = {0, 1, 0};
    must(semop(sem_id, &up, 1), "semop +1");
    return NULL;
}

static void* send_later(void* p) {
    (void)p;
    sleep_ms(50);
    struct msg m = {7, "hello"};
    must(msgsnd(msg_id, &m, sizeof m.text, 0), "msgsnd");
    return NULL;
}

static void* drain_later(void* p) {
    (void)p;
    sleep_ms(50);
    struct msg m;
    for (int i = 0; i < 2; ++i)
        if (msgrcv(msg_id, &m, sizeof m.text, 0, 0) < 0) must(-1, "msgrcv");
    return NULL;
}

static void on_alarm(int sig) { (void)sig; }

static void alarm_in_50ms(int restart) {
    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = restart ? SA_RESTART : 0};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static void* remove_sem_later(void* p) {
    sleep_ms(50);
    must(semctl(*(int*)p, 0, IPC_RMID), "semctl IPC_RMID");
    return NULL;
}

static void* cancelled_msgrcv(void* p) {
    (void)p;
    struct msg m;
    msgrcv(msg_id, &m, sizeof m.text, 99, 0);
    printf("  not reached\n");
    return NULL;
}

static void system_v(void) {
    printf("-- System V semaphores\n");
    sem_id = semget(IPC_PRIVATE, 1, 0600);
    if (sem_id < 0) must(-1, "semget");
    struct sembuf down = {0, -1, 0};
    double t0 = now();
    pthread_t t = spawn(post_later, NULL);
    check_err("  semop waits for another thread's post", rc_errno(semop(sem_id, &down, 1)), 0);
    join(t);
    check_took("  took", now() - t0, 0.05);
    struct timespec tenth = {0, 100000000};
    t0 = now();
    check_err("  semtimedop with nobody posting", rc_errno(semtimedop(sem_id, &down, 1, &tenth)), EAGAIN);
    check_took("  timed out after", now() - t0, 0.1);
    struct sembuf nowait = {0, -1, IPC_NOWAIT};
    check_err("  IPC_NOWAIT", rc_errno(semop(sem_id, &nowait, 1)), EAGAIN);
    alarm_in_50ms(1);
    check_err("  a handler with SA_RESTART ends the wait", rc_errno(semop(sem_id, &down, 1)), EINTR);
    watchdog(60);
    struct timespec bad = {0, 2000000000L};
    check_err("  semtimedop with a bad timeout", rc_errno(semtimedop(sem_id, &down, 1, &bad)), EINVAL);
    check_err("  semop on -1", rc_errno(semop(-1, &down, 1)), EINVAL);
    check_err("  semop of no operation", rc_errno(semop(sem_id, &down, 0)), EINVAL);
    struct sembuf beyond = {5, -1, 0};
    check_err("  semop on a semaphore the set lacks", rc_errno(semop(sem_id, &beyond, 1)), EFBIG);
    // A waiting operation beside an IPC_NOWAIT one: the waiting one decides.
    int pair = semget(IPC_PRIVATE, 2, 0600);
    const int saved = sem_id;
    sem_id = pair;
    t = spawn(post_later, NULL);
    struct sembuf mixed[2] = {{0, -1, 0}, {1, 1, IPC_NOWAIT}};
    check_err("  a waiting operation beside an IPC_NOWAIT one waits", rc_errno(semop(pair, mixed, 2)), 0);
    join(t);
    struct sembuf nowait_blocks[2] = {{1, -5, IPC_NOWAIT}, {0, -1, 0}};
    check_err("  an IPC_NOWAIT operation that cannot go on first", rc_errno(semop(pair, nowait_blocks, 2)), EAGAIN);
    sem_id = saved;
    semctl(pair, 0, IPC_RMID);
    int doomed = semget(IPC_PRIVATE, 1, 0600);
    t = spawn(remove_sem_later, &doomed);
    check_err("  the set removed while waiting", rc_errno(semop(doomed, &down, 1)), EIDRM);
    join(t);

    // Another process posts 0.3 s later; a counter thread ticks meanwhile.
    const pthread_t counter = counter_start();
    const pid_t child = fork();
    if (child == 0) {
        struct timespec ts = {0, 300000000};
        nanosleep(&ts, NULL);
        struct sembuf up = {0, 1, 0};
        _exit(semop(sem_id, &up, 1) == 0 ? 0 : 1);
    }
    const int before = counter_ticks();
    check_err("  semop waits for another process's post", rc_errno(semop(sem_id, &down, 1)), 0);
    const int ticks = counter_ticks() - before;
    counter_stop(counter);
    check_yes("  another thread ran meanwhile (10 ticks or more)", ticks >= 10);
    waitpid(child, NULL, 0);
    semctl(sem_id, 0, IPC_RMID);

    printf("-- System V message queues\n");
    msg_id = msgget(IPC_PRIVATE, 0600);
    if (msg_id < 0) must(-1, "msgget");
    struct msg m;
    t = spawn(send_later, NULL);
    const ssize_t got = msgrcv(msg_id, &m, sizeof m.text, 0, 0);
    printf("  msgrcv waits for another thread's message: %zd %s type %ld\n", got, got > 0 ? m.text : en(errno), m.type);
    join(t);
    check_err("  msgrcv IPC_NOWAIT on an empty queue", rc_errno(msgrcv(msg_id, &m, sizeof m.text, 0, IPC_NOWAIT) < 0 ? -1 : 0), ENOMSG);
    struct msqid_ds ds;
    must(msgctl(msg_id, IPC_STAT, &ds), "msgctl IPC_STAT");
    ds.msg_qbytes = 2 * sizeof m.text;
    must(msgctl(msg_id, IPC_SET, &ds), "msgctl IPC_SET");
    struct msg full = {1, "x"};
    must(msgsnd(msg_id, &full, sizeof full.text, 0), "msgsnd 1");
    must(msgsnd(msg_id, &full, sizeof full.text, 0), "msgsnd 2");
    check_err("  msgsnd IPC_NOWAIT to a full queue", rc_errno(msgsnd(msg_id, &full, sizeof full.text, IPC_NOWAIT)), EAGAIN);
    t = spawn(drain_later, NULL);
    check_err("  msgsnd waits for room another thread makes", rc_errno(msgsnd(msg_id, &full, sizeof full.text, 0)), 0);
    join(t);
    if (msgrcv(msg_id, &m, sizeof m.text, 0, 0) < 0) must(-1, "msgrcv the last");
    alarm_in_50ms(0);
    check_err("  a handler ends msgrcv's wait", rc_errno(msgrcv(msg_id, &m, sizeof m.text, 0, 0) < 0 ? -1 : 0), EINTR);
    watchdog(60);
    struct msg typeless = {0, "x"};
    check_err("  msgsnd of type 0", rc_errno(msgsnd(msg_id, &typeless, sizeof typeless.text, 0)), EINVAL);
    check_err("  msgrcv on -1", rc_errno(msgrcv(-1, &m, sizeof m.text, 0, 0) < 0 ? -1 : 0), EINVAL);
    t = spawn(cancelled_msgrcv, NULL);
    sleep_ms(50);
    pthread_cancel(t);
    check_yes("  a thread cancelled in msgrcv ends", join(t) == PTHREAD_CANCELED);
    msgctl(msg_id, IPC_RMID, NULL);
}

static void* mq_send_later(void* p) {
    (void)p;
    sleep_ms(50);
    must(mq_send(queue, "ping", 5, 3), "mq_send");
    return NULL;
}

static void* mq_receive_later(void* p) {
    (void)p;
    sleep_ms(50);
    char buf[64];
    if (mq_receive(queue, buf, sizeof buf, NULL) < 0) must(-1, "mq_receive");
    return NULL;
}

static struct timespec realtime_after(int ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

static void posix_queues(void) {
    printf("-- POSIX message queues\n");
    char name[64];
    snprintf(name, sizeof name, "/green-probe-%d", (int)getpid());
    struct mq_attr attr = {.mq_maxmsg = 1, .mq_msgsize = 64};
    queue = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    if (queue == (mqd_t)-1) {
        printf("  no POSIX message queues here (%s)\n", en(errno));
        return;
    }
    mq_unlink(name);
    char buf[64];
    unsigned int priority = 0;
    pthread_t t = spawn(mq_send_later, NULL);
    const ssize_t got = mq_receive(queue, buf, sizeof buf, &priority);
    printf("  mq_receive waits for another thread's message: %zd %s priority %u\n", got, got > 0 ? buf : en(errno), priority);
    join(t);
    struct timespec at = realtime_after(100);
    double t0 = now();
    check_err("  mq_timedreceive with nobody sending", rc_errno(mq_timedreceive(queue, buf, sizeof buf, NULL, &at) < 0 ? -1 : 0), ETIMEDOUT);
    check_took("  timed out after", now() - t0, 0.1);
    must(mq_send(queue, "full", 5, 0), "mq_send to fill");
    t = spawn(mq_receive_later, NULL);
    check_err("  mq_send waits for room another thread makes", rc_errno(mq_send(queue, "more", 5, 0)), 0);
    join(t);
    at = realtime_after(100);
    check_err("  mq_timedsend to a full queue", rc_errno(mq_timedsend(queue, "x", 2, 0, &at)), ETIMEDOUT);
    if (mq_receive(queue, buf, sizeof buf, NULL) < 0) must(-1, "mq_receive the last");
    alarm_in_50ms(0);
    check_err("  a handler without SA_RESTART ends the wait", rc_errno(mq_receive(queue, buf, sizeof buf, NULL) < 0 ? -1 : 0), EINTR);
    watchdog(60);
    check_err("  mq_receive into a buffer under mq_msgsize", rc_errno(mq_receive(queue, buf, 8, NULL) < 0 ? -1 : 0), EMSGSIZE);
    check_err("  mq_receive on -1", rc_errno(mq_receive((mqd_t)-1, buf, sizeof buf, NULL) < 0 ? -1 : 0), EBADF);
    struct timespec bad = {0, 2000000000L};
    check_err("  mq_timedreceive with a bad deadline", rc_errno(mq_timedreceive(queue, buf, sizeof buf, NULL, &bad) < 0 ? -1 : 0), EINVAL);
    struct mq_attr nonblocking = {.mq_flags = O_NONBLOCK};
    mq_setattr(queue, &nonblocking, NULL);
    check_err("  an O_NONBLOCK queue", rc_errno(mq_receive(queue, buf, sizeof buf, NULL) < 0 ? -1 : 0), EAGAIN);
    mq_close(queue);
}

int main(void) {
    watchdog(60);
    setvbuf(stdout, NULL, _IOLBF, 0);
    system_v();
    posix_queues();
    return finish();
}
