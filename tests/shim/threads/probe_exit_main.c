// Thread probe: main calls pthread_exit while its threads still run. main's
// key destructor runs, the process lives until the last thread ends, their
// output appears (in the order they hand the turn to each other), atexit
// handlers run, and the exit status is 0; or that of exit() when a thread
// calls it.
//   probe_exit_main            joinable threads, the last one returns
//   probe_exit_main detached   detached threads
//   probe_exit_main exit3      the last thread calls exit(3)
#include "probe_threads.h"

#include <semaphore.h>

enum { kThreads = 3 };

static sem_t s_turn[kThreads];
static int s_mode_exit3;
static pthread_key_t s_key;

static void* worker(void* p) {
    const int id = (int)(long)p;
    sem_wait(&s_turn[id]);
    printf("thread %d: running after main's pthread_exit\n", id);
    sleep_ms(20);
    printf("thread %d: done\n", id);
    if (id + 1 < kThreads) {
        sem_post(&s_turn[id + 1]);
        return NULL;
    }
    if (s_mode_exit3) {
        printf("thread %d: exit(3)\n", id);
        exit(3);
    }
    return NULL;
}

static void main_key_destructor(void* v) {
    printf("main's key destructor: %s\n", (const char*)v);
    sem_post(&s_turn[0]);  // the threads go on only now
}

static void at_exit(void) {
    printf("atexit handler\n");
    fflush(stdout);
}

int main(int argc, char** argv) {
    watchdog(30);
    const char* mode = argc > 1 ? argv[1] : "joinable";
    s_mode_exit3 = strcmp(mode, "exit3") == 0;
    atexit(at_exit);
    for (int i = 0; i < kThreads; ++i) sem_init(&s_turn[i], 0, 0);
    must(pthread_key_create(&s_key, main_key_destructor), "key_create");
    pthread_setspecific(s_key, "main's value");
    pthread_attr_t a;
    pthread_attr_init(&a);
    if (strcmp(mode, "detached") == 0) pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    for (int i = 0; i < kThreads; ++i) {
        pthread_t t;
        must(pthread_create(&t, &a, worker, (void*)(long)i), "pthread_create");
    }
    pthread_attr_destroy(&a);
    printf("main: %d threads (%s), calling pthread_exit\n", kThreads, mode);
    pthread_exit(NULL);
}
