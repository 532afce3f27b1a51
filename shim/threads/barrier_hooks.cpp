// pthread_barrier_wait and pthread_barrier_destroy on glibc's pthread_barrier_t
// (whose pthread_barrier_init, left to glibc, checks the count). Its words:
// in (arrived this round), current_round, count, shared. Arriving is counted
// under the parking lot's bucket lock of the barrier's address, so the last
// arrival ends the round exactly once and every waiter of the round sees it.
#include <atomic>
#include <cerrno>

#include "../real.hpp"
#include "../state.hpp"
#include "thread_state.hpp"

namespace shim::threads {
namespace {

struct Barrier {
    unsigned in;
    unsigned current_round;
    unsigned count;
    int shared;
    unsigned out;
};
static_assert(sizeof(Barrier) <= sizeof(pthread_barrier_t), "glibc's barrier layout");

Barrier& view(pthread_barrier_t* b) noexcept { return *reinterpret_cast<Barrier*>(b); }

struct Arrival {
    Barrier* barrier;
    unsigned round = 0;
    bool arrived = false;
    bool last = false;
};

bool arrive(void* context) {
    auto& a = *static_cast<Arrival*>(context);
    Barrier& b = *a.barrier;
    std::atomic_ref<unsigned> round(b.current_round);
    if (a.arrived) return round.load() == a.round;  // woken early: wait on while the round lasts
    a.arrived = true;
    a.round = round.load();
    if (++b.in < b.count) return true;
    b.in = 0;
    round.store(a.round + 1);
    a.last = true;
    return false;
}

}  // namespace
}  // namespace shim::threads

using namespace shim::threads;

GREEN_HOOK int pthread_barrier_wait(pthread_barrier_t* b) noexcept {
    if (!enabled() || view(b).shared) return shim::real::pthread_barrier_wait(b);
    Arrival a{&view(b)};
    while (api::park(b, arrive, nullptr, &a, Deadline(), "pthread_barrier_wait", may_switch()).result !=
           api::ParkResult::invalid) {
    }
    if (!a.last) return 0;
    api::unpark(b, SIZE_MAX, 0, false);
    return PTHREAD_BARRIER_SERIAL_THREAD;
}

GREEN_HOOK int pthread_barrier_destroy(pthread_barrier_t* b) noexcept {
    if (!enabled() || view(b).shared) return shim::real::pthread_barrier_destroy(b);
    return std::atomic_ref<unsigned>(view(b).in).load() != 0 ? EBUSY : 0;
}
