// libprobe_realthread.so: a library that creates a thread itself. Under
// greenrun --threads with GREEN_THREADS_EXCLUDE=libprobe_realthread.so the
// thread it creates stays a real OS thread (probe_hybrid.c uses it).
//
// It also makes a thread-specific data key in its constructor, which runs
// before greenrun's preload stub loads green's hooks (the stub's constructor
// comes after those of the program's libraries): green threads still keep
// their own values in it, and its destructor runs when each of them ends.
#include <pthread.h>
#include <stdlib.h>

static pthread_key_t s_key;
static int s_destroyed;

static void count_destroyed(void* value) {
    if (value) __atomic_add_fetch(&s_destroyed, 1, __ATOMIC_SEQ_CST);
}

__attribute__((constructor)) static void make_key(void) { pthread_key_create(&s_key, count_destroyed); }

__attribute__((visibility("default"))) pthread_key_t probe_constructor_key(void) { return s_key; }

__attribute__((visibility("default"))) int probe_constructor_key_destructions(void) {
    return __atomic_load_n(&s_destroyed, __ATOMIC_SEQ_CST);
}

// The thread starts in this library, as a library's own threads do, and runs
// the program's `fn`. probe_start_real_thread ends with its call to
// pthread_create, which the compiler makes a jump (a tail call): the shim sees
// the program's return address there, and must know the library's thread by
// where it starts. With PROBE_KEEP_CALL_SITE set the call is an ordinary one
// instead: a sanitizer's pthread_create interceptor, preloaded before the
// shim, starts every thread in its own code, and then only the call site
// tells (the sanitized test runs set it).
static struct {
    void* (*fn)(void*);
    void* arg;
} s_start;  // the probe starts one such thread

static void* library_thread(void* unused) {
    (void)unused;
    return s_start.fn(s_start.arg);
}

__attribute__((noinline)) static int start_from_here(pthread_t* t) {
    int rc = pthread_create(t, NULL, library_thread, NULL);
    __asm__ volatile("" : "+r"(rc));  // used after the call: no tail call
    return rc;
}

__attribute__((visibility("default"))) int probe_start_real_thread(pthread_t* t, void* (*fn)(void*), void* arg) {
    s_start.fn = fn;
    s_start.arg = arg;
    if (getenv("PROBE_KEEP_CALL_SITE")) return start_from_here(t);
    return pthread_create(t, NULL, library_thread, NULL);
}
