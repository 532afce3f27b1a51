// Thread probe: fork from a thread other than main while other threads are
// blocked (one holding a mutex and waiting on a semaphore, one in a condition
// wait, main in pthread_join). In the child only the forking thread exists:
// nothing the others wait for wakes them there, the mutex they held stays
// locked, the process has one thread, pthread_self is the forking thread's;
// the child can create and join a new thread and exit 0. pthread_atfork
// handlers run in order on each side. The parent reports the child's status.
#include "probe_threads.h"

#include <semaphore.h>
#include <sys/wait.h>

static pthread_mutex_t s_held = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t s_cond_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_cond = PTHREAD_COND_INITIALIZER;
static int s_cond_flag;
static sem_t s_holder_ready, s_holder_go, s_waiter_ready;
static int s_ghosts;  // set by a parent thread that runs where it should not exist
static char s_atfork[64];

static void note(const char* what) {
    strncat(s_atfork, what, sizeof s_atfork - strlen(s_atfork) - 1);
}
static void prepare(void) { note("prepare "); }
static void parent(void) { note("parent"); }
static void child(void) { note("child"); }

static void* holder(void* p) {
    pid_t* forked_in = p;
    pthread_mutex_lock(&s_held);
    sem_post(&s_holder_ready);
    sem_wait(&s_holder_go);
    if (getpid() != *forked_in) __atomic_add_fetch(&s_ghosts, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&s_held);
    return NULL;
}

static void* cond_waiter(void* p) {
    pid_t* forked_in = p;
    pthread_mutex_lock(&s_cond_mutex);
    sem_post(&s_waiter_ready);
    while (!s_cond_flag) pthread_cond_wait(&s_cond, &s_cond_mutex);
    if (getpid() != *forked_in) __atomic_add_fetch(&s_ghosts, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&s_cond_mutex);
    return NULL;
}

static void* child_thread(void* p) {
    (void)p;
    sleep_ms(5);
    return (void*)9L;
}

static void in_child(pthread_t forker) {
    printf("child: atfork handlers: %s\n", s_atfork);
    check_yes("child: pthread_self is the forking thread's", pthread_equal(pthread_self(), forker));
    check_int("child: threads in /proc/self/task", count_tasks(), 1);
    check_err("child: trylock of the mutex a parent thread held", pthread_mutex_trylock(&s_held), EBUSY);
    // Wake what a parent thread waits for: it is not here to run. (The
    // condition variable is left alone: its state counts a waiter that is gone.)
    sem_post(&s_holder_go);
    sleep_ms(50);
    check_int("child: the parent's other threads ran", s_ghosts, 0);
    pthread_t t;
    check_err("child: pthread_create", pthread_create(&t, NULL, child_thread, NULL), 0);
    void* value = NULL;
    check_err("child: pthread_join", pthread_join(t, &value), 0);
    check_int("child: its value", (long)value, 9);
    exit(finish());
}

static void* forker(void* p) {
    (void)p;
    fflush(stdout);
    const pid_t pid = fork();
    if (pid < 0) must(-1, "fork");
    if (pid == 0) in_child(pthread_self());
    int status = 0;
    waitpid(pid, &status, 0);
    printf("parent: atfork handlers: %s\n", s_atfork);
    check_yes("parent: the child exited", WIFEXITED(status));
    check_int("parent: its status", WEXITSTATUS(status), 0);
    return NULL;
}

int main(void) {
    watchdog(30);
    must(pthread_atfork(prepare, parent, child), "pthread_atfork");
    sem_init(&s_holder_ready, 0, 0);
    sem_init(&s_holder_go, 0, 0);
    sem_init(&s_waiter_ready, 0, 0);
    static pid_t parent_pid;
    parent_pid = getpid();
    pthread_t h = spawn(holder, &parent_pid), w = spawn(cond_waiter, &parent_pid);
    sem_wait(&s_holder_ready);
    sem_wait(&s_waiter_ready);
    sleep_ms(10);
    printf("parent: two threads blocked, forking from a third\n");
    join(spawn(forker, NULL));
    sem_post(&s_holder_go);
    pthread_mutex_lock(&s_cond_mutex);
    s_cond_flag = 1;
    pthread_cond_broadcast(&s_cond);
    pthread_mutex_unlock(&s_cond_mutex);
    join(h);
    join(w);
    check_int("parent: ghosts (threads that ran elsewhere)", s_ghosts, 0);
    return finish();
}
