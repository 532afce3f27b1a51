// libprobe_realthread.so: a library that creates a thread itself. Under
// greenrun --threads with GREEN_THREADS_EXCLUDE=libprobe_realthread.so the
// thread it creates stays a real OS thread (probe_hybrid.c uses it).
#include <pthread.h>

__attribute__((visibility("default"))) int probe_start_real_thread(pthread_t* t, void* (*fn)(void*), void* arg) {
    return pthread_create(t, NULL, fn, arg);
}
