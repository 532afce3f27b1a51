#include "green/event.hpp"

#include <stdexcept>

#include "core/park.hpp"

namespace green {

void Event::set() noexcept {
    flag_ = true;
    detail::wake_all_here(waiters_, detail::WakeReason::woken);
}

namespace {

bool woken_by_set(detail::WakeReason reason) {
    if (reason == detail::WakeReason::woken) [[likely]]
        return true;
    switch (reason) {
    case detail::WakeReason::deadline: return false;
    case detail::WakeReason::closed: throw std::logic_error("green: Event destroyed while a greenlet waited on it");
    default: return true;
    }
}

}  // namespace

bool Event::wait_for(double timeout) {
    if (flag_) return true;
    if (timeout == 0) return false;
    return woken_by_set(detail::Hub::current().park(&waiters_, timeout, "Event::wait", this));
}

// wait() without a deadline, the common case, with the park inlined.
bool Event::wait_forever() {
    return woken_by_set(detail::Hub::current().park_inline(&waiters_, detail::kForever, "Event::wait", this));
}

}  // namespace green
