#include "detail/shim_api.hpp"

#include "detail/fd_table.hpp"
#include "detail/hub.hpp"
#include "green/errors.hpp"

namespace green::detail::shim_api {

bool cooperative() noexcept {
    Hub* hub = Hub::current_if_any();
    return hub && hub->running() && hub->others_need_hub();
}

bool can_use_runtime() noexcept {
    try {
        return Hub::current().running() != nullptr;
    } catch (...) {  // no memory for a hub
        return false;
    }
}

Woke wait_fds(const FdInterest* fds, std::size_t n, double timeout) {
    Hub& hub = Hub::current();
    FdTable::Interested small[8];
    std::vector<FdTable::Interested> many;
    FdTable::Interested* list = small;
    if (n > 8) {
        many.resize(n);
        list = many.data();
    }
    for (std::size_t i = 0; i < n; ++i) list[i] = {fds[i].fd, fds[i].write ? Interest::write : Interest::read};
    switch (hub.fds().wait_many(list, n, timeout, &hub.interruptible(), "a blocking call (shim)")) {
    case WakeReason::deadline: return Woke::timed_out;
    case WakeReason::closed: return Woke::closed;
    default: return Woke::ready;
    }
}

bool sleep_for(double seconds) {
    Hub& hub = Hub::current();
    return hub.park(&hub.interruptible(), seconds, "sleep (shim)", nullptr) == WakeReason::deadline;
}

SignalCount signals() noexcept {
    Hub* hub = Hub::current_if_any();
    if (!hub) return {};
    return {hub->signals_seen(), hub->interrupting_signals_seen()};
}

void note_signal(bool restart) noexcept {
    if (Hub* hub = Hub::current_if_any()) hub->note_signal(restart);
}

void forget_fd(int fd) noexcept {
    if (Hub* hub = Hub::current_if_any()) hub->fds().forget(fd);
}

void forget_fds(unsigned first, unsigned last) noexcept {
    if (Hub* hub = Hub::current_if_any()) hub->fds().forget_range(first, last);
}

int raw_query(const char* name, int dns_class, int type, bool search, std::vector<unsigned char>& answer) {
    return thread_dns_channel().raw(name, dns_class, type, search, answer).status;
}

void deliver_later(std::exception_ptr e) noexcept {
    Hub* hub = Hub::current_if_any();
    GreenletCore* g = hub ? hub->running() : nullptr;
    if (!g || !e) return;
    try {
        std::rethrow_exception(e);
    } catch (const TimeoutError& t) {
        if (!(g->pending & pending_timeout)) {
            g->pending |= pending_timeout;
            g->expired_timeout = t.source();
        }
    } catch (const LoopExit&) {
        g->pending |= pending_loop_exit;
    } catch (...) {
        g->kill_exception = e;
        g->pending |= pending_kill;
    }
}

}  // namespace green::detail::shim_api
