#include "green/greenlet.hpp"

#include <stdexcept>

#include "core/greenlet_parts.hpp"
#include "core/hub.hpp"
#include "core/interrupt.hpp"
#include "core/loop.hpp"
#include "diag/report.hpp"
#include "green/timeout.hpp"

namespace green {

TimeoutError::TimeoutError(const Timeout* source) : std::runtime_error("green: timed out"), source_(source) {}
LoopExit::LoopExit()
    : std::runtime_error("green: this wait can never end: no other greenlet is runnable and nothing is pending in the loop") {}
ClosedError::ClosedError() : std::runtime_error("green: closed") {}

namespace detail {
namespace {

// The hub of `g`, which must be this thread's.
Hub& home_hub(const GreenletCore& g) {
    Hub* here = Hub::current_if_any();
    if (g.hub != here || !here)
        throw std::logic_error("green: greenlet " + display_name(g) + " belongs to another thread");
    return *here;
}

bool is_greenlet_exit(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const GreenletExit&) {
        return true;
    } catch (...) {
        return false;
    }
}

void on_start_timer(void* arg) {
    auto* g = static_cast<GreenletCore*>(arg);
    delete g->start_timer;
    g->start_timer = nullptr;
    g->hub->make_ready(*g);
}

}  // namespace

GreenletCore::~GreenletCore() = default;

void throw_negative_timeout() { throw std::invalid_argument("green: negative timeout"); }

void throw_empty_handle() { throw std::logic_error("green: operation on an empty greenlet handle"); }

void start(GreenletCore& g, SpawnOptions& options) {
    Hub& hub = Hub::current();
    hub.start(g, checked_stack_size(options.stack_size));
    g.name = std::move(options.name);
    hub.make_ready(g);
}

void start_later(GreenletCore& g, SpawnOptions& options, double delay) {
    if (delay == kForever) throw std::invalid_argument("green: spawn_later needs a finite delay");
    Hub& hub = Hub::current();
    auto* timer = new WatcherSlot;
    try {
        hub.start(g, checked_stack_size(options.stack_size));
    } catch (...) {
        delete timer;
        throw;
    }
    g.name = std::move(options.name);
    g.start_timer = timer;
    timer_start(hub.loop(), *timer, delay, on_start_timer, &g);
}

bool join(GreenletCore& g, double timeout) {
    if (g.state == State::dead) return true;
    Hub& hub = home_hub(g);
    if (&g == hub.running()) throw std::logic_error("green: greenlet " + display_name(g) + " cannot join itself");
    if (timeout == 0) return false;
    hub.park(&g.exit_waiters, timeout, "join", &g);
    return g.state == State::dead;
}

void join_for_result(GreenletCore& g, double timeout) {
    if (!join(g, timeout)) throw TimeoutError();
    if (g.error) std::rethrow_exception(g.error);
}

void kill(GreenletCore& g, std::exception_ptr e, bool block, double timeout) {
    if (g.state == State::dead) return;
    Hub& hub = home_hub(g);
    if (!e) e = std::make_exception_ptr(GreenletExit{});
    if (&g == hub.running()) std::rethrow_exception(e);
    if (g.state == State::unstarted) {
        const bool exit = is_greenlet_exit(e);
        hub.end_unstarted(g, std::move(e), exit);
        return;
    }
    post_kill(g, std::move(e));
    hub.wake(g, WakeReason::woken);
    if (block) join(g, timeout);
}

void add_link(GreenletCore& g, std::function<void()> fn) {
    Hub& hub = home_hub(g);
    if (g.state == State::dead) {
        hub.call_soon(std::move(fn));
        return;
    }
    if (!g.links) g.links = new LinkCallbacks;
    g.links->callbacks.push_back(std::move(fn));
}

std::string name_of(const GreenletCore& g) { return display_name(g); }

}  // namespace detail

AnyGreenlet getcurrent() {
    detail::GreenletCore& g = detail::current();
    detail::retain(&g);
    return AnyGreenlet::adopt(&g);
}

}  // namespace green
