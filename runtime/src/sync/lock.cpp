#include "green/lock.hpp"

#include <stdexcept>

#include "core/park.hpp"

namespace green {
namespace detail {

OwnedLock::~OwnedLock() { set_owner(nullptr); }

void OwnedLock::set_owner(GreenletCore* g) noexcept {
    if (g) retain(g);
    if (owner_) release(owner_);
    owner_ = g;
}

bool OwnedLock::take(GreenletCore& self, double timeout, const char* what) {
    if (!owner_) {
        set_owner(&self);
        return true;
    }
    if (timeout == 0) return false;
    switch (Hub::current().park_inline(&waiters_, timeout, what, this)) {
    case WakeReason::handoff: return true;  // hand_on made us the owner
    case WakeReason::closed: throw std::logic_error("green: lock destroyed while a greenlet waited on it");
    default: return false;
    }
}

void OwnedLock::hand_on() noexcept {
    if (waiters_.empty()) {
        set_owner(nullptr);
        return;
    }
    set_owner(waiters_.front().greenlet);
    wake_one_here(waiters_, WakeReason::handoff);
}

}  // namespace detail

bool Lock::acquire_for(double timeout) {
    detail::GreenletCore& self = detail::current();
    if (owner_ == &self)
        throw std::logic_error("green: Lock already held by this greenlet (acquiring it again would deadlock; use RLock)");
    return take(self, timeout, "Lock::acquire");
}

void Lock::release() {
    if (owner_ != &detail::current()) throw std::logic_error("green: Lock released by a greenlet that does not hold it");
    hand_on();
}

bool RLock::acquire_for(double timeout) {
    detail::GreenletCore& self = detail::current();
    if (owner_ == &self) {
        ++depth_;
        return true;
    }
    if (!take(self, timeout, "RLock::acquire")) return false;
    depth_ = 1;
    return true;
}

void RLock::release() {
    if (owner_ != &detail::current()) throw std::logic_error("green: RLock released by a greenlet that does not hold it");
    if (--depth_ == 0) hand_on();
}

}  // namespace green
