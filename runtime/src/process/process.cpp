#include "green/process.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

#include "base/sys.hpp"
#include "core/fd_table.hpp"
#include "core/hub.hpp"
#include "core/runtime_fds.hpp"
#include "diag/report.hpp"
#include "green/greenlet.hpp"
#include "process/child_wait.hpp"

namespace green {

pid_t fork() {
    detail::Hub::current();  // the atfork handler that re-initialises the child is registered with the hub
    const pid_t pid = ::fork();
    if (pid < 0) detail::throw_errno(errno, "green::fork");
    return pid;
}

void detail::wait_for_child(pid_t pid, ChildWait& wait) {
    Hub& hub = Hub::current();
    if (wait.round++ == 0) {
        give_child_the_cpu();
        return;
    }
    const double pause = std::min(0.001 * double(1u << std::min(wait.round - 1, 6u)), 0.05);
    if (pid > 0 && !wait.pidfd_failed) {
        const int pidfd = make_runtime_fd([pid] { return sys::pidfd_open(pid); });
        if (pidfd >= 0) {
            const WakeReason why = hub.wait_held_fd(pidfd, pause, "waitpid");
            // Woken by the pidfd (or a signal handler): if the next look finds
            // nothing, the pidfd cannot be trusted for this child. One a
            // program's dup2 took (closed) is made again at the next look.
            wait.pidfd_failed = why == WakeReason::woken;
            return;
        }
        if (errno == ESRCH) return;  // already reaped, or never ours: waitpid says which
    }
    hub.park(&hub.interruptible(), pause, "waitpid", nullptr);
}

void detail::give_child_the_cpu() noexcept {
    if (Hub::current().ready_count() == 0) sys::yield();
}

pid_t waitpid(pid_t pid, int* status, int options) {
    detail::ChildWait wait;
    for (;;) {
        const pid_t r = detail::sys::waitpid(pid, status, options | WNOHANG);
        if (r < 0) detail::throw_errno(errno, "green::waitpid");
        if (r > 0 || (options & WNOHANG)) return r;
        detail::wait_for_child(pid, wait);
    }
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
    // A fault's signal comes back the moment the kernel's handler returns (the
    // faulting instruction runs again) long before a greenlet could act on it.
    if (signum == SIGSEGV || signum == SIGBUS || signum == SIGILL || signum == SIGFPE)
        throw std::invalid_argument("green: signal " + std::to_string(signum) + " (" + strsignal(signum) +
                                    ") reports a fault in the thread that caused it; signal_handler cannot handle it");
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
