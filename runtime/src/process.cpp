#include "green/process.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>

#include "detail/hub.hpp"
#include "detail/report.hpp"
#include "green/greenlet.hpp"

namespace green {

pid_t fork() {
    detail::Hub::current();  // the atfork handler that re-initialises the child is registered with the hub
    const pid_t pid = ::fork();
    if (pid < 0) throw std::system_error(errno, std::system_category(), "green::fork");
    return pid;
}

namespace {

// Which hub handles each signal, and the disposition it had before.
struct SignalOwner {
    detail::Hub* hub = nullptr;
    int handlers = 0;
    struct sigaction previous {};
};
std::mutex owners_mutex;
SignalOwner owners[NSIG];

}  // namespace

struct SignalHandler::Impl {
    int signum;
    std::function<void()> fn;
    detail::Hub* hub;
    detail::WatcherSlot watcher;

    static void on_signal(void* arg) {
        auto* self = static_cast<Impl*>(arg);
        try {
            green::spawn(self->fn);
        } catch (...) {
            detail::report_exception("spawning a signal handler", std::current_exception());
        }
    }
};

SignalHandler::SignalHandler(int signum, std::function<void()> fn) {
    if (signum <= 0 || signum >= NSIG || signum == SIGKILL || signum == SIGSTOP)
        throw std::invalid_argument("green: cannot handle signal " + std::to_string(signum));
    if (!fn) throw std::invalid_argument("green: signal_handler needs a function");
    detail::Hub& hub = detail::Hub::current();
    {
        std::lock_guard<std::mutex> lock(owners_mutex);
        SignalOwner& o = owners[signum];
        if (o.handlers > 0 && o.hub != &hub)
            throw std::logic_error("green: signal " + std::to_string(signum) + " is already handled by another thread's hub");
        if (o.handlers++ == 0) {
            o.hub = &hub;
            sigaction(signum, nullptr, &o.previous);
        }
    }
    impl_ = std::make_unique<Impl>(Impl{signum, std::move(fn), &hub, {}});
    detail::signal_start(hub.loop(), impl_->watcher, signum, Impl::on_signal, impl_.get());
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
    detail::signal_stop(impl_->hub->loop(), impl_->watcher);
    impl_->hub->remove_hub_user();
    {
        std::lock_guard<std::mutex> lock(owners_mutex);
        SignalOwner& o = owners[impl_->signum];
        if (--o.handlers == 0) {
            sigaction(impl_->signum, &o.previous, nullptr);  // libev leaves SIG_DFL behind
            o.hub = nullptr;
        }
    }
    impl_.reset();
}

}  // namespace green
