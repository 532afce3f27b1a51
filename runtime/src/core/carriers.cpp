#include "core/carriers.hpp"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <system_error>

#include "base/raw_lock.hpp"
#include "base/sys.hpp"
#include "core/hub.hpp"
#include "core/runtime_fds.hpp"
#include "green/detail/time.hpp"

namespace green::detail::carriers {
namespace {

std::atomic<Hub*> all[kMax];
std::atomic<std::size_t> started{0};
std::atomic<std::uint32_t> announced{0};  // bumped (futex word) as each new carrier's hub exists
RawLock starting;                         // one start() at a time
bool main_gone = false;                   // a forked child of a thread other than main

// A carrier's own thread: its hub runs green threads posted to it until the
// process ends.
void* carrier_main(void* slot) {
    Hub& hub = Hub::current();
    hub.become_carrier();
    hub.loop().hold();  // waiting for work is not a deadlock
    static_cast<std::atomic<Hub*>*>(slot)->store(&hub, std::memory_order_release);
    announced.fetch_add(1, std::memory_order_release);
    sys::futex_wake(&announced, INT32_MAX);
    for (;;) {
        try {
            hub.park(nullptr, kForever, "a carrier's own greenlet, waiting for green threads", nullptr);
        } catch (...) {  // nothing ends it
        }
    }
}

}  // namespace

std::size_t start(std::size_t n) {
    if (n > kMax) n = kMax;
    RawLockGuard lock(starting);
    std::size_t have = started.load(std::memory_order_acquire);
    if (have == 0) {
        Hub& hub = Hub::current();
        hub.become_carrier();
        all[0].store(&hub, std::memory_order_release);
        started.store(have = 1, std::memory_order_release);
    }
    while (have < n) {
        RuntimeScope ours;  // a plain OS thread, even under thread patching
        sigset_t every, old;
        sigfillset(&every);
        pthread_sigmask(SIG_SETMASK, &every, &old);  // until its green threads say otherwise
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        const std::uint32_t seen = announced.load(std::memory_order_acquire);
        pthread_t t;
        const int r = pthread_create(&t, &attr, carrier_main, &all[have]);
        pthread_attr_destroy(&attr);
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        if (r != 0) throw std::system_error(r, std::generic_category(), "green: starting a carrier thread");
        // Its hub exists before anyone posts to it.
        while (announced.load(std::memory_order_acquire) == seen) sys::futex_wait(&announced, seen, nullptr);
        started.store(++have, std::memory_order_release);
    }
    return have;
}

std::size_t count() noexcept { return started.load(std::memory_order_acquire); }

Hub* hub(std::size_t i) noexcept { return i < count() ? all[i].load(std::memory_order_acquire) : nullptr; }

Hub& least_loaded() {
    Hub* best = nullptr;
    std::size_t best_load = 0;
    for (std::size_t i = 0, n = count(); i < n; ++i) {
        Hub* h = all[i].load(std::memory_order_acquire);
        if (!h || h->pinned()) continue;
        const std::size_t load = h->green_threads() + (i == 0 ? 1 : 0);  // the first runs the program's main thread
        if (!best || load < best_load) best = h, best_load = load;
    }
    return best ? *best : Hub::current();
}

bool main_thread_gone() noexcept { return main_gone; }

void after_fork() noexcept {
    starting.reset();
    Hub* here = Hub::current_if_any();
    const bool started_carrier = here && here->carrier() && here != all[0].load(std::memory_order_relaxed);
    main_gone = here && (here->running() != &here->main_greenlet() || started_carrier);
    if (count() == 0) return;
    for (auto& h : all) h.store(nullptr, std::memory_order_relaxed);
    started.store(0, std::memory_order_relaxed);
    if (!here) return;
    all[0].store(here, std::memory_order_relaxed);
    started.store(1, std::memory_order_relaxed);
}

}  // namespace green::detail::carriers
