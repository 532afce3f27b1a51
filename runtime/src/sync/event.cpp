#include "green/event.hpp"

#include <stdexcept>

#include "core/hub.hpp"

namespace green {

void Event::set() noexcept {
    flag_ = true;
    detail::wake_all_here(waiters_, detail::WakeReason::woken);
}

bool Event::wait_for(double timeout) {
    if (flag_) return true;
    if (timeout == 0) return false;
    switch (detail::Hub::current().park(&waiters_, timeout, "Event::wait", this)) {
    case detail::WakeReason::deadline: return false;
    case detail::WakeReason::closed: throw std::logic_error("green: Event destroyed while a greenlet waited on it");
    default: return true;
    }
}

}  // namespace green
