// pthread_once and C11's call_once: the first caller runs the initialiser,
// every other one arriving meanwhile waits for it in the parking lot (parks, if
// a green thread, where glibc would block its whole carrier). The states are
// glibc's: 0 not run, 1 running, 2 done. An initialiser that is cancelled (its
// stack unwound) leaves the once as not run and wakes the waiters, one of which
// runs it again, as POSIX says.
#include <threads.h>

#include <atomic>

#include "../real.hpp"
#include "../state.hpp"
#include "thread_state.hpp"

namespace shim::threads {
namespace {

constexpr int kNotRun = 0, kRunning = 1, kDone = 2;

struct Running {
    int* control;
    bool done = false;
    ~Running() {
        std::atomic_ref<int>(*control).store(done ? kDone : kNotRun, std::memory_order_release);
        api::unpark(control, SIZE_MAX, 0, false);
    }
};

void once(int* control, void (*init)()) {
    std::atomic_ref<int> state(*control);
    for (;;) {
        int s = state.load(std::memory_order_acquire);
        if (s == kDone) return;
        if (s == kNotRun && state.compare_exchange_strong(s, kRunning, std::memory_order_acquire)) {
            Running running{control};
            init();
            running.done = true;
            return;
        }
        api::park(
            control, [](void* c) { return std::atomic_ref<int>(*static_cast<int*>(c)).load() == kRunning; }, nullptr,
            control, Deadline(), "pthread_once", may_switch());
    }
}

}  // namespace
}  // namespace shim::threads

GREEN_HOOK int pthread_once(pthread_once_t* control, void (*init)()) {
    if (!shim::threads::enabled()) return shim::real::pthread_once(control, init);
    shim::threads::once(control, init);
    return 0;
}

GREEN_HOOK void call_once(once_flag* flag, void (*init)()) {
    if (!shim::threads::enabled()) return shim::real::call_once(flag, init);
    shim::threads::once(&flag->__data, init);
}
