#include "bridge/shim_api.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>

#include "base/env.hpp"
#include "core/fd_table.hpp"
#include "core/hub.hpp"
#include "core/interrupt.hpp"
#include "core/loop.hpp"
#include "core/runtime_fds.hpp"
#include "diag/monitor.hpp"
#include "dns/digits_dots.hpp"
#include "dns/hosts_file.hpp"
#include "green/detail/time.hpp"
#include "process/child_wait.hpp"

namespace green::detail::shim_api {

const char* env(const char* name) noexcept { return detail::env(name); }
long env_long(const char* name, long min, long max, long fallback) noexcept {
    return detail::env_long(name, min, max).value_or(fallback);
}

bool cooperative() noexcept {
    Hub* hub = Hub::current_if_any();
    // The runtime's own calls that reach the hooks (libev's write to a loop's
    // eventfd, from a greenlet that wakes another thread's) never wait, and
    // must never switch: they are made inside the runtime's protocols.
    return hub && hub->running() && hub->others_need_hub() && !RuntimeScope::active();
}

namespace {
[[gnu::noinline, gnu::cold]] void take_turn(Hub& hub) noexcept {
    if (RuntimeScope::active()) return;
    const int saved = errno;
    try {
        hub.take_turn();
    } catch (...) {  // no memory for the hub's stack: go on without the turn
    }
    errno = saved;
}
}  // namespace

void take_turn_if_over() noexcept {
    Hub* hub = Hub::current_if_any();
    if (hub && hub->turn_over()) [[unlikely]]
        take_turn(*hub);
}

void preempt_with(int signal, const void* mark) noexcept { monitor_preempt_with(signal, mark); }

bool can_use_runtime() noexcept {
    if (RuntimeScope::active()) return false;  // the runtime's own threads and calls get no hub
    try {
        return Hub::current().running() != nullptr;
    } catch (...) {  // no memory for a hub
        return false;
    }
}

bool can_resolve() noexcept {
    if (RuntimeScope::active()) return false;
    const Hub* hub = Hub::current_if_any();
    return !hub || hub->running() != nullptr;  // no hub yet: the thread's own code, its main greenlet to be
}

namespace {

Woke woke_by(WakeReason reason) noexcept {
    switch (reason) {
    case WakeReason::deadline: return Woke::timed_out;
    case WakeReason::closed: return Woke::closed;
    default: return Woke::ready;
    }
}

}  // namespace

Woke wait_fds(const FdInterest* fds, std::size_t n, double timeout) {
    // Nothing to wait on and no end (poll with nfds 0, select with empty sets):
    // only a signal handler ends it, as pause's wait, which must not look like a
    // deadlock to the loop.
    if (n == 0 && timeout == kForever) {
        wait_for_signal();
        return Woke::ready;
    }
    Hub& hub = Hub::current();
    FdTable::Interested small[8];
    std::vector<FdTable::Interested> many;
    FdTable::Interested* list = small;
    if (n > 8) {
        many.resize(n);
        list = many.data();
    }
    for (std::size_t i = 0; i < n; ++i) list[i] = {fds[i].fd, fds[i].write ? Interest::write : Interest::read};
    return woke_by(hub.fds().wait_many(list, n, timeout, &hub.interruptible(), "a blocking call (shim)"));
}

Woke wait_held_fd(int fd, double timeout) { return woke_by(Hub::current().wait_held_fd(fd, timeout, "sigwait")); }

bool sleep_for(double seconds) {
    Hub& hub = Hub::current();
    return hub.park(&hub.interruptible(), seconds, "sleep (shim)", nullptr) == WakeReason::deadline;
}

void wait_for_signal() {
    Hub& hub = Hub::current();
    hub.loop().hold();
    struct Release {
        Loop& loop;
        ~Release() { loop.unhold(); }
    } release{hub.loop()};
    hub.park(&hub.interruptible(), kForever, "pause (shim)", nullptr);
}

void wait_for_child(int pid, ChildWait& wait) { detail::wait_for_child(pid, wait); }

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

bool is_runtime_fd(int fd) noexcept { return detail::is_runtime_fd(fd); }
std::vector<int> runtime_fds_between(unsigned first, unsigned last) { return detail::runtime_fds_between(first, last); }
bool in_runtime_scope() noexcept { return RuntimeScope::active(); }
void mark_runtime_fd(int fd) noexcept { detail::mark_runtime_fd(fd); }
void unmark_runtime_fd(int fd) noexcept { detail::unmark_runtime_fd(fd); }
int own_runtime_fd(int fd) noexcept { return detail::own_runtime_fd(fd); }
void note_runtime_epoll(int fd) noexcept { detail::note_made_epoll(fd); }
bool closes_lost_fd(int fd) noexcept { return detail::closes_lost_fd(fd); }

int raw_query(const char* name, int dns_class, int type, bool search, std::vector<unsigned char>& answer) {
    return thread_dns_channel().raw(name, dns_class, type, search, answer).status;
}

bool deliver_later(const std::exception_ptr& e) noexcept {
    Hub* hub = Hub::current_if_any();
    GreenletCore* g = hub ? hub->running() : nullptr;
    return g && repost(*g, e);
}

bool shaped_like_address(const char* name) noexcept {
    Address ignored;
    try {
        return digits_dots(name, AF_INET, ignored) != DigitsDots::not_address;
    } catch (...) {
        return false;
    }
}

bool host_buffer_too_small(const char* name, const void* address, unsigned address_len, int family,
                           const void* buffer, std::size_t buflen) {
    if (!address) {
        // glibc sizes its answer for an address-shaped name before it knows
        // whether the name is one: 16 address bytes, two pointers, one more, the name.
        const auto first = static_cast<unsigned char>(name[0]);
        if ((std::isdigit(first) || std::isxdigit(first) || first == ':') &&
            buflen < 16 + 2 * sizeof(char*) + sizeof(char*) + std::strlen(name) + 1)
            return true;
        Address ignored;
        if (digits_dots(name, family == AF_INET6 ? AF_INET6 : AF_INET, ignored) != DigitsDots::not_address) return false;
        return hosts_scan_runs_out(name, nullptr, family, buffer, buflen);
    }
    if ((family == AF_INET && address_len == sizeof(in_addr)) || (family == AF_INET6 && address_len == sizeof(in6_addr))) {
        const Address a = Address::from_bytes(family, address);
        return hosts_scan_runs_out({}, &a, family, buffer, buflen);
    }
    // The hosts file is still read through, matching nothing, before the family
    // or length is refused.
    return hosts_scan_runs_out({}, nullptr, family, buffer, buflen);
}

}  // namespace green::detail::shim_api
