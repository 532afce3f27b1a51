// Thread probe (C++): cancellation and pthread_exit unwind the stack. A thread
// cancelled while blocked (read of a pipe, condition wait) or calling
// pthread_exit deep in a call chain runs the destructors of its locals in
// every frame, a catch (...) that rethrows sees the unwinding, a catch of
// abi::__forced_unwind too, and join returns PTHREAD_CANCELED or the value.
#include "probe_threads.h"

#include <cxxabi.h>
#include <semaphore.h>

#include <string>

namespace {

struct Trace {
    std::string events;
    void add(const std::string& e) { events += (events.empty() ? "" : " ") + e; }
};

struct Guard {
    Trace* trace;
    const char* name;
    ~Guard() { trace->add(std::string("~") + name); }
};

struct Blocked {
    Trace trace;
    sem_t ready;
    int fds[2];
    pthread_mutex_t m = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;  // unlock says whether we held it
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    bool passed = false;
    bool held_in_destructor = false;
};

void block_in_read(Blocked* b) {
    Guard inner{&b->trace, "inner"};
    sem_post(&b->ready);
    char c;
    (void)!read(b->fds[0], &c, 1);
    b->passed = true;
}

void* read_catch_all(void* p) {
    auto* b = static_cast<Blocked*>(p);
    Guard outer{&b->trace, "outer"};
    try {
        block_in_read(b);
    } catch (...) {
        b->trace.add("catch(...)");
        throw;
    }
    return nullptr;
}

void* read_catch_forced(void* p) {
    auto* b = static_cast<Blocked*>(p);
    Guard outer{&b->trace, "outer"};
    try {
        block_in_read(b);
    } catch (abi::__forced_unwind&) {
        b->trace.add("catch(forced_unwind)");
        throw;
    }
    return nullptr;
}

struct Unlocker {
    Blocked* b;
    ~Unlocker() {
        b->held_in_destructor = pthread_mutex_unlock(&b->m) == 0;
        b->trace.add("~unlocker");
    }
};

void* cond_wait_guarded(void* p) {
    auto* b = static_cast<Blocked*>(p);
    Guard outer{&b->trace, "outer"};
    pthread_mutex_lock(&b->m);
    Unlocker u{b};
    sem_post(&b->ready);
    for (;;) pthread_cond_wait(&b->c, &b->m);
    b->passed = true;
    return nullptr;
}

[[noreturn]] void frame2(Trace* t) {
    Guard g{t, "frame2"};
    pthread_exit(reinterpret_cast<void*>(11L));
}

void frame1(Trace* t) {
    Guard g{t, "frame1"};
    frame2(t);
}

void frame0(Trace* t) {
    Guard g{t, "frame0"};
    frame1(t);
}

void* exits_deep(void* p) {
    auto* t = static_cast<Trace*>(p);
    try {
        frame0(t);
    } catch (...) {
        t->add("catch(...)");
        throw;
    }
    return nullptr;
}

void cancel_blocked(const char* what, void* (*fn)(void*), const char* want) {
    Blocked b;
    sem_init(&b.ready, 0, 0);
    must(pipe(b.fds), "pipe");
    pthread_t t = spawn(fn, &b);
    sem_wait(&b.ready);
    sleep_ms(20);
    must(pthread_cancel(t), "pthread_cancel");
    void* value = join(t);
    std::string line = std::string(what) + ": join returned PTHREAD_CANCELED";
    check_yes(line.c_str(), value == PTHREAD_CANCELED);
    line = std::string(what) + ": unwinding";
    check_str(line.c_str(), b.trace.events.c_str(), want);
    line = std::string(what) + ": got past the blocking call";
    check_str(line.c_str(), b.passed ? "yes" : "no", "no");
    if (fn == cond_wait_guarded) {
        line = std::string(what) + ": the mutex was held again in the destructor";
        check_yes(line.c_str(), b.held_in_destructor);
        line = std::string(what) + ": mutex free afterwards (trylock)";
        check_err(line.c_str(), pthread_mutex_trylock(&b.m), 0);
        pthread_mutex_unlock(&b.m);
    }
    close(b.fds[0]);
    close(b.fds[1]);
}

}  // namespace

int main() {
    watchdog(30);
    cancel_blocked("cancelled in read, catch (...) rethrows", read_catch_all, "~inner catch(...) ~outer");
    cancel_blocked("cancelled in read, catch (abi::__forced_unwind&) rethrows", read_catch_forced,
                   "~inner catch(forced_unwind) ~outer");
    cancel_blocked("cancelled in pthread_cond_wait", cond_wait_guarded, "~unlocker ~outer");
    Trace t;
    void* value = join(spawn(exits_deep, &t));
    check_str("pthread_exit three frames deep: unwinding", t.events.c_str(), "~frame2 ~frame1 ~frame0 catch(...)");
    check_int("pthread_exit three frames deep: join value", reinterpret_cast<long>(value), 11);
    return finish();
}
