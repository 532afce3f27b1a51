#include "green/semaphore.hpp"

#include <stdexcept>
#include <string>

namespace green {

Semaphore::Semaphore(long value) : counter_(value) {
    if (value < 0) throw std::invalid_argument("green: Semaphore initial value " + std::to_string(value) + " is negative");
}

bool Semaphore::acquire_for(double timeout) {
    if (counter_ > 0) {
        --counter_;
        return true;
    }
    if (timeout == 0) return false;
    switch (detail::wait_on(waiters_, timeout, "Semaphore::acquire", this)) {
    case detail::WakeReason::handoff: return true;
    case detail::WakeReason::closed: throw std::logic_error("green: Semaphore destroyed while a greenlet waited on it");
    default: return false;
    }
}

void Semaphore::release() {
    if (!waiters_.empty())
        waiters_.wake_one(detail::WakeReason::handoff);
    else
        ++counter_;
}

BoundedSemaphore::BoundedSemaphore(long value) : Semaphore(value), initial_(value) {}

void BoundedSemaphore::release() {
    if (waiters_.empty() && counter_ >= initial_)
        throw std::logic_error("green: BoundedSemaphore released too many times (above its initial value " +
                               std::to_string(initial_) + ")");
    Semaphore::release();
}

}  // namespace green
