// green::signal_handler: a signal, arriving on any thread, spawns a greenlet
// in the hub that installed the handler. The process-wide handler installed
// here only wakes that hub's loop (an async watcher: atomics and a raw eventfd
// write, async-signal-safe), and the hub spawns each handler's function. Not
// libev's ev_signal: its signal eventfd keeps one number for the loop's life,
// which a program's dup2 could then never have (docs/shim.md).
#include <signal.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/hub.hpp"
#include "core/runtime_fds.hpp"
#include "diag/report.hpp"
#include "green/greenlet.hpp"
#include "green/process.hpp"

namespace green {
namespace {

// Which hub handles each signal, the functions it spawns for it, and the
// disposition the signal had before.
struct SignalOwner {
    std::atomic<detail::Hub*> hub{nullptr};  // read by the handler
    std::atomic<int> arriving{0};            // handlers between reading `hub` and waking it
    std::vector<const std::function<void()>*> handlers;
    detail::WatcherSlot wakeup;
    struct sigaction previous {};
};
std::mutex owners_mutex;
SignalOwner owners[NSIG];

void on_signal(int signum) {
    const int saved = errno;
    SignalOwner& o = owners[signum];
    o.arriving.fetch_add(1, std::memory_order_seq_cst);
    if (detail::Hub* hub = o.hub.load(std::memory_order_seq_cst)) detail::async_send(hub->loop(), o.wakeup);
    o.arriving.fetch_sub(1, std::memory_order_seq_cst);
    errno = saved;
}

// In the hub, once after any number of arrivals.
void spawn_handlers(void* owner) {
    for (const std::function<void()>* fn : static_cast<SignalOwner*>(owner)->handlers) {
        try {
            green::spawn(*fn);
        } catch (...) {
            detail::report_exception("spawning a signal handler", std::current_exception());
        }
    }
}

}  // namespace

struct SignalHandler::Impl {
    int signum;
    std::function<void()> fn;
    detail::Hub* hub;
};

SignalHandler::SignalHandler(int signum, std::function<void()> fn) {
    if (signum <= 0 || signum >= NSIG || signum == SIGKILL || signum == SIGSTOP)
        throw std::invalid_argument("green: cannot handle signal " + std::to_string(signum));
    // A fault's signal comes back the moment the kernel's handler returns (the
    // faulting instruction runs again) long before a greenlet could act on it.
    if (signum == SIGSEGV || signum == SIGBUS || signum == SIGILL || signum == SIGFPE)
        throw std::invalid_argument("green: signal " + std::to_string(signum) + " (" + strsignal(signum) +
                                    ") reports a fault in the thread that caused it; signal_handler cannot handle it");
    if (!fn) throw std::invalid_argument("green: signal_handler needs a function");
    detail::Hub& hub = detail::Hub::current();
    auto impl = std::make_unique<Impl>(Impl{signum, std::move(fn), &hub});
    {
        std::lock_guard<std::mutex> lock(owners_mutex);
        SignalOwner& o = owners[signum];
        if (!o.handlers.empty() && o.hub.load() != &hub)
            throw std::logic_error("green: signal " + std::to_string(signum) + " is already handled by another thread's hub");
        o.handlers.push_back(&impl->fn);
        if (o.handlers.size() == 1) {
            sigaction(signum, nullptr, &o.previous);
            detail::async_start(hub.loop(), o.wakeup, spawn_handlers, &o);
            o.hub.store(&hub);
            struct sigaction sa {};
            sa.sa_handler = on_signal;
            sigfillset(&sa.sa_mask);
            sa.sa_flags = SA_RESTART;
            const detail::RuntimeScope ours;  // the runtime's handler: the shim leaves it unwrapped
            sigaction(signum, &sa, nullptr);
        }
    }
    impl_ = std::move(impl);
    hub.add_hub_user();
}

SignalHandler::~SignalHandler() { cancel(); }

SignalHandler::SignalHandler(SignalHandler&&) noexcept = default;

SignalHandler& SignalHandler::operator=(SignalHandler&& other) noexcept {
    if (this != &other) {
        cancel();
        impl_ = std::move(other.impl_);
    }
    return *this;
}

int SignalHandler::signum() const noexcept { return impl_ ? impl_->signum : 0; }

void SignalHandler::cancel() noexcept {
    if (!impl_) return;
    {
        std::lock_guard<std::mutex> lock(owners_mutex);
        SignalOwner& o = owners[impl_->signum];
        std::erase(o.handlers, &impl_->fn);
        if (o.handlers.empty()) {
            sigaction(impl_->signum, &o.previous, nullptr);
            o.hub.store(nullptr);
            while (o.arriving.load(std::memory_order_seq_cst) != 0) sched_yield();  // a handler on another thread
            detail::async_stop(impl_->hub->loop(), o.wakeup);
        }
    }
    impl_->hub->remove_hub_user();
    impl_.reset();
}

}  // namespace green
