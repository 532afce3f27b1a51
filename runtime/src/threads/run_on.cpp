// run_on: a call in a new greenlet of another carrier. The call's record
// there (CarrierCall) is the carrier's once posted; the task goes home through
// the waiter's inbox (thread_task.hpp), as a thread pool's does.
#include <atomic>
#include <stdexcept>
#include <string>

#include "core/carriers.hpp"
#include "core/hub.hpp"
#include "green/carriers.hpp"
#include "threads/thread_task.hpp"

namespace green {
namespace detail {
namespace {

struct CarrierCall;

struct CallWork : RemoteWork {
    CarrierCall* call = nullptr;
};

struct CarrierCall {
    CallWork start;  // runs the task in a new greenlet of the carrier
    CallWork stop;   // the waiter was killed: so is that greenlet
    ThreadTask* task = nullptr;
    GreenletCore* runner = nullptr;  // that greenlet while it runs the task (the carrier's thread only)
    bool stopped = false;            // (the carrier's thread only)
    std::atomic<int> refs{2};        // the runner's and the waiter's (whose stop work inherits it)
};

void drop(CarrierCall* c) noexcept {
    if (c->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete c;
}

void run_task(CarrierCall* c) noexcept {
    if (c->stopped) {
        c->task->error = std::make_exception_ptr(GreenletExit{});
    } else {
        c->runner = &current();
        c->task->run();
        c->runner = nullptr;
    }
    send_home(c->task);
    drop(c);
}

void start_posted(Hub&, RemoteWork& w) noexcept {
    CarrierCall* c = static_cast<CallWork&>(w).call;
    try {
        green::spawn([c] { run_task(c); });
    } catch (...) {  // no memory for its stack
        c->task->error = std::current_exception();
        send_home(c->task);
        drop(c);
    }
}

void stop_posted(Hub&, RemoteWork& w) noexcept {
    CarrierCall* c = static_cast<CallWork&>(w).call;
    c->stopped = true;
    if (c->runner) {
        try {
            kill(*c->runner, nullptr, false, 0.0);
        } catch (...) {  // no memory for the exception: the call runs to its end
        }
    }
    drop(c);
}

// The task's runner reference is given up when there is no such carrier.
Hub& carrier_hub(std::size_t carrier, ThreadTask& task) {
    Hub* hub = carriers::hub(carrier);
    if (!hub) {
        --task.refs;
        throw std::out_of_range("green: no carrier " + std::to_string(carrier) + " (there are " +
                                std::to_string(carriers::count()) + ")");
    }
    return *hub;
}

}  // namespace

void run_on_carrier(std::size_t carrier, ThreadTask& task) {
    Hub& there = carrier_hub(carrier, task);
    Hub& here = Hub::current();
    if (&there == &here) {
        --task.refs;  // no runner: the caller's reference is the only one
        task.run();
        return;
    }
    auto* call = new CarrierCall;
    call->task = &task;
    call->start.call = call->stop.call = call;
    call->start.run = start_posted;
    call->stop.run = stop_posted;
    bool posted = false, stopping = false;
    try {
        wait_for_runner(
            task, "run_on",
            [&] {
                there.post(call->start);
                posted = true;
            },
            [&] {
                there.post(call->stop);  // it carries the waiter's reference from here on
                stopping = true;
                return false;  // the runner has started, or will start only to end at once
            });
    } catch (...) {
        if (!posted) delete call;  // the carrier never saw it
        else if (!stopping) drop(call);
        throw;
    }
    drop(call);
}

}  // namespace detail

std::size_t start_carriers(std::size_t n) {
    if (n == 0 || n > detail::carriers::kMax)
        throw std::invalid_argument("green: start_carriers needs 1 to " + std::to_string(detail::carriers::kMax) +
                                    " carriers, not " + std::to_string(n));
    return detail::carriers::start(n);
}

std::size_t carrier_count() noexcept { return detail::carriers::count(); }

std::optional<std::size_t> current_carrier() noexcept {
    detail::Hub* here = detail::Hub::current_if_any();
    for (std::size_t i = 0, n = detail::carriers::count(); here && i < n; ++i)
        if (detail::carriers::hub(i) == here) return i;
    return std::nullopt;
}

}  // namespace green
