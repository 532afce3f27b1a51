// The bridge's thread-patching half: green threads for the shim's
// pthread_create, the parking lot for its pthread objects, cancellation.
#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "base/sys.hpp"
#include "bridge/shim_api.hpp"
#include "core/carriers.hpp"
#include "core/context.hpp"
#include "core/hub.hpp"
#include "core/interrupt.hpp"
#include "core/parking_lot.hpp"
#include "diag/monitor.hpp"

namespace green::detail::shim_api {
namespace {

struct ThreadBody;

// Work for the hub that runs a green thread, posted by another thread.
struct BodyWork : RemoteWork {
    ThreadBody* body = nullptr;
};

// A green thread's greenlet: runs the shim's entry with the shim's record.
// Only the hub that runs it touches it; other threads post work to that hub.
struct ThreadBody final : GreenletCore {
    void (*entry)(void*) = nullptr;
    void (*gone)(void*) = nullptr;
    void* record = nullptr;  // `thread` until the shim clears it as the thread ends
    Stack stack;          // made by the creator, adopted by the hub that runs it
    BodyWork start_work;  // the creator's, when that hub is another thread's
    BodyWork release_work;  // the shim's reference, dropped from another thread
    BodyWork request_work;  // pthread_cancel, pthread_kill from another thread
    std::atomic<std::uint8_t> requests{0};  // PendingBits asked for meanwhile

    void run() override {
        entry(record);
        // The thread has ended (key destructors ran, a sanitizer's own thread
        // state among them); what is left of the greenlet runs as its carrier,
        // which must learn this stack before anything calls a no-return function
        // (an instrumented caller unpoisons by the carrier's idea of its stack).
        sanitizer_on_stack(ctx);
        if (hub->remove_green_thread() == 0 && carriers::main_thread_gone()) std::exit(0);  // as its last thread would
    }
    void drop_body() noexcept override {}
    // A joiner may free a stack the caller supplied as soon as it is told: tell
    // it only now, off that stack (another carrier's joiner runs at once).
    void left_stack() noexcept override { gone(record); }
};

bool on_own_hub(const GreenletCore& g) noexcept { return g.hub == Hub::current_if_any(); }

void post(ThreadBody& body, BodyWork& work, void (*run)(Hub&, RemoteWork&)) noexcept {
    work.body = &body;
    work.run = run;
    body.hub->post(work);
}

void start_posted(Hub& hub, RemoteWork& w) noexcept {
    ThreadBody& body = *static_cast<BodyWork&>(w).body;
    hub.start_thread(body, body.stack);
    hub.make_ready(body);
}

void release_posted(Hub&, RemoteWork& w) noexcept { release(static_cast<BodyWork&>(w).body); }

std::atomic<bool (*)(GreenletCore&)> cancel_wanted{nullptr};

// A cancellation or a signal for `g`, on its hub's thread: a parked green
// thread is woken to act on it (a cancellation only inside a cancellation point).
void deliver_request(GreenletCore& g, std::uint8_t bits) noexcept {
    if (bits & pending_cancel) {
        auto wanted = cancel_wanted.load(std::memory_order_relaxed);
        if (wanted && !wanted(g)) bits &= static_cast<std::uint8_t>(~pending_cancel);
    }
    if (bits & pending_cancel) post_cancel(g);
    if (bits & pending_signal) post_signal(g);
    if (g.state != State::parked) return;
    if ((bits & pending_signal) || g.cancel_point) g.hub->wake(g, WakeReason::woken);
}

void request_posted(Hub&, RemoteWork& w) noexcept {
    ThreadBody& body = *static_cast<BodyWork&>(w).body;
    deliver_request(body, body.requests.exchange(0, std::memory_order_acq_rel));
}

// A request for an OS thread's own greenlet (the main thread's cancellation).
struct MainRequest : RemoteWork {
    GreenletCore* greenlet = nullptr;
    std::uint8_t bits = 0;
};

void request(GreenletCore& g, std::uint8_t bit) noexcept {
    if (on_own_hub(g)) return deliver_request(g, bit);
    if (&g == &g.hub->main_greenlet()) {
        auto* r = new (std::nothrow) MainRequest;
        if (!r) return;
        r->greenlet = &g;
        r->bits = bit;
        r->run = [](Hub&, RemoteWork& w) {
            auto* r = static_cast<MainRequest*>(&w);
            deliver_request(*r->greenlet, r->bits);
            delete r;
        };
        return g.hub->post(*r);
    }
    auto& body = static_cast<ThreadBody&>(g);  // a green thread
    if (body.requests.fetch_or(bit, std::memory_order_acq_rel) == 0) post(body, body.request_work, request_posted);
}

Parked from_lot(lot::Parked p) noexcept { return {static_cast<ParkResult>(p.result), p.token}; }

static_assert(static_cast<int>(ParkResult::interrupted) == static_cast<int>(lot::ParkResult::interrupted),
              "the bridge's ParkResult mirrors the lot's");

}  // namespace

Parked park(const void* address, bool (*validate)(void*), void (*before_sleep)(void*), void* context,
            Deadline deadline, const char* what, bool may_switch, bool signals_interrupt) {
    return from_lot(lot::park(address, validate, before_sleep, context, deadline, what, may_switch, signals_interrupt));
}

bool unpark_one(const void* address, std::uintptr_t (*decide)(void*, bool, bool), void* context) {
    return lot::unpark_one(address, decide, context);
}

std::size_t unpark(const void* address, std::size_t count, std::uintptr_t token, bool from_signal_handler) {
    return lot::unpark(address, count, token, from_signal_handler);
}

StartedThread make_thread(void (*entry)(void*), void (*gone)(void*), void* record, const ThreadStack& stack) {
    Hub& hub = carriers::count() > 1 ? carriers::least_loaded() : Hub::current();
    auto* body = new ThreadBody;  // refs 1: the caller's reference (the stack's own is taken by start_thread)
    body->entry = entry;
    body->gone = gone;
    body->thread = body->record = record;
    try {
        body->stack = hub.thread_stack(ThreadStackSpec{stack.size, stack.guard, stack.caller_lo});
    } catch (...) {
        delete body;
        throw;
    }
    body->hub = &hub;  // where it runs, known to other threads at once
    hub.add_green_thread();
    return StartedThread{body, body->stack.lo, body->stack.size, hub.os_thread()};
}

void launch_thread(GreenletCore* g) noexcept {
    auto& body = static_cast<ThreadBody&>(*g);
    if (!on_own_hub(body)) return post(body, body.start_work, start_posted);  // the carrier's from here on
    body.hub->start_thread(body, body.stack);
    body.hub->make_ready(body);
}

std::size_t start_carriers(std::size_t n) { return carriers::start(n); }

void release_greenlet(GreenletCore* g) noexcept {
    // A request another thread posted for a green thread may still wait in
    // its hub's queue: the release then goes behind it (the queue is FIFO).
    if (on_own_hub(*g) && g == &g->hub->main_greenlet()) return release(g);
    auto& body = static_cast<ThreadBody&>(*g);
    if (on_own_hub(body) && body.requests.load(std::memory_order_acquire) == 0) return release(g);
    post(body, body.release_work, release_posted);
}

GreenletCore* running_greenlet() noexcept {
    Hub* hub = Hub::current_if_any();
    return hub ? hub->running() : nullptr;
}

GreenletCore* main_greenlet() noexcept {
    Hub* hub = Hub::current_if_any();
    return hub ? &hub->main_greenlet() : nullptr;
}

void set_greenlet_name(GreenletCore& g, const char* name) { g.name = name; }

void request_cancel(GreenletCore& g) noexcept { request(g, pending_cancel); }

void set_cancel_filter(bool (*wanted)(GreenletCore&)) noexcept { cancel_wanted.store(wanted); }

void clear_cancel(GreenletCore& g) noexcept { withdraw_cancel(g); }

void set_signal_taker(void (*take)(GreenletCore&)) noexcept { Hub::set_signal_taker(take); }

void request_signal(GreenletCore& g) noexcept { request(g, pending_signal); }

void yield() { Hub::current().yield_now(); }

void keep_locale_per_fiber() noexcept {
    if (Hub* hub = Hub::current_if_any()) hub->keep_locale_per_fiber();
}

void set_deadlock_handler(void (*handler)()) noexcept { Hub::set_deadlock_handler(handler); }

std::size_t other_greenlets() noexcept {
    Hub* here = Hub::current_if_any();
    std::size_t n = here ? here->live_greenlets() - 1 : 0;
    for (std::size_t i = 0, carriers = carriers::count(); i < carriers; ++i)
        if (Hub* hub = carriers::hub(i); hub && hub != here) n += hub->green_threads();
    return n;
}

long other_os_threads() noexcept {
    const long threads = sys::thread_count();
    const std::size_t carriers = carriers::count();
    const long own = static_cast<long>(monitor_threads() + (carriers > 1 ? carriers - 1 : 0));
    return threads < 0 ? -1 : threads - 1 - own;
}

}  // namespace green::detail::shim_api
