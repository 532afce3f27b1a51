// Thread probe: a program with a thread-local variable of its own (a PT_TLS
// segment), which each of its threads sets, keeps across a blocking call and
// reads back. Green threads of a carrier would share the variable, so under
// greenrun --threads this program's threads stay OS threads and each keeps its
// own value, as plainly. With GREEN_THREADS_INCLUDE naming the program they
// are green, and all read the value the last of them stored.
// On stderr (not compared): "tasks: N", the process's OS threads while all
// of its threads are alive.
#include "probe_threads.h"


enum { kThreads = 8 };

static __thread int t_own;
static pthread_barrier_t s_all;  // the threads and main
static int s_kept;

static void* keep_own(void* arg) {
    const int id = (int)(long)arg;
    t_own = id;
    pthread_barrier_wait(&s_all);  // every thread has stored its value
    usleep(20 * 1000);
    if (t_own == id) __atomic_add_fetch(&s_kept, 1, __ATOMIC_SEQ_CST);
    pthread_barrier_wait(&s_all);
    return NULL;
}

int main(void) {
    watchdog(30);
    pthread_barrier_init(&s_all, NULL, kThreads + 1);
    pthread_t t[kThreads];
    for (int i = 0; i < kThreads; ++i) pthread_create(&t[i], NULL, keep_own, (void*)(long)(i + 1));
    pthread_barrier_wait(&s_all);
    fprintf(stderr, "tasks: %d\n", count_tasks());
    pthread_barrier_wait(&s_all);
    for (int i = 0; i < kThreads; ++i) pthread_join(t[i], NULL);
    check_int("threads that kept their thread-local value across a sleep", s_kept, kThreads);
    printf("done\n");
    return probe_failures ? 1 : 0;
}
