// The bridge's thread-patching half: green threads for the shim's
// pthread_create, the parking lot for its pthread objects, cancellation.
#include <string>

#include "base/sys.hpp"
#include "bridge/shim_api.hpp"
#include "core/context.hpp"
#include "core/hub.hpp"
#include "core/interrupt.hpp"
#include "core/parking_lot.hpp"
#include "diag/monitor.hpp"

namespace green::detail::shim_api {
namespace {

// A green thread's greenlet: runs the shim's entry with the shim's record.
struct ThreadBody final : GreenletCore {
    void (*entry)(void*) = nullptr;
    void run() override {
        entry(thread);
        // The thread has ended (key destructors ran, a sanitizer's own thread
        // state among them); what is left of the greenlet runs as its carrier.
        sanitizer_on_stack(ctx);
    }
    void drop_body() noexcept override {}
};

Parked from_lot(lot::Parked p) noexcept { return {static_cast<ParkResult>(p.result), p.token}; }

static_assert(static_cast<int>(ParkResult::interrupted) == static_cast<int>(lot::ParkResult::interrupted),
              "the bridge's ParkResult mirrors the lot's");

}  // namespace

Parked park(const void* address, bool (*validate)(void*), void (*before_sleep)(void*), void* context,
            Deadline deadline, const char* what, bool may_switch) {
    return from_lot(lot::park(address, validate, before_sleep, context, deadline, what, may_switch));
}

bool unpark_one(const void* address, std::uintptr_t (*decide)(void*, bool, bool), void* context) {
    return lot::unpark_one(address, decide, context);
}

std::size_t unpark(const void* address, std::size_t count, std::uintptr_t token, bool from_signal_handler) {
    return lot::unpark(address, count, token, from_signal_handler);
}

GreenletCore* start_thread(void (*entry)(void*), void* record, const ThreadStack& stack) {
    Hub& hub = Hub::current();
    auto* body = new ThreadBody;  // refs 1: the caller's reference (the stack's own is taken by start_thread)
    body->entry = entry;
    body->thread = record;
    try {
        hub.start_thread(*body, ThreadStackSpec{stack.size, stack.guard, stack.caller_lo});
    } catch (...) {
        delete body;
        throw;
    }
    hub.make_ready(*body);
    return body;
}

void release_greenlet(GreenletCore* g) noexcept { release(g); }

GreenletCore* running_greenlet() noexcept {
    Hub* hub = Hub::current_if_any();
    return hub ? hub->running() : nullptr;
}

GreenletCore* main_greenlet() noexcept {
    Hub* hub = Hub::current_if_any();
    return hub ? &hub->main_greenlet() : nullptr;
}

void set_greenlet_name(GreenletCore& g, const char* name) { g.name = name; }

void request_cancel(GreenletCore& g) noexcept {
    post_cancel(g);
    if (g.cancel_point && g.state == State::parked && g.hub == Hub::current_if_any()) g.hub->wake(g, WakeReason::woken);
}

void clear_cancel(GreenletCore& g) noexcept { withdraw_cancel(g); }

void set_signal_taker(void (*take)(GreenletCore&)) noexcept { Hub::set_signal_taker(take); }

void request_signal(GreenletCore& g) noexcept {
    post_signal(g);
    if (g.state == State::parked && g.hub == Hub::current_if_any()) g.hub->wake(g, WakeReason::woken);
}

void yield() { Hub::current().yield_now(); }

void keep_locale_per_fiber() noexcept {
    if (Hub* hub = Hub::current_if_any()) hub->keep_locale_per_fiber();
}

void set_deadlock_handler(void (*handler)()) noexcept { Hub::set_deadlock_handler(handler); }

std::size_t other_greenlets() noexcept {
    Hub* hub = Hub::current_if_any();
    return hub ? hub->live_greenlets() - 1 : 0;
}

long other_os_threads() noexcept {
    const long threads = sys::thread_count();
    return threads < 0 ? -1 : threads - 1 - static_cast<long>(monitor_threads());
}

}  // namespace green::detail::shim_api
