#include "threads/thread_task.hpp"

#include "core/hub.hpp"

namespace green::detail {

ThreadTask::~ThreadTask() = default;

// Called only on the waiting greenlet's thread, so the count needs no atomics.
void release_task(ThreadTask* t) noexcept {
    if (--t->refs == 0) delete t;
}

namespace {

// In the waiting hub: the runner is done with `t`.
void complete(ThreadTask* t) noexcept {
    t->done = true;
    if (GreenletCore* w = t->waiter) w->hub->wake(*w, WakeReason::woken);
    Hub::current().loop().unhold();
    release_task(t);
}

}  // namespace

void send_home(ThreadTask* t) noexcept {
    auto inbox = std::static_pointer_cast<Inbox>(t->home);
    bool posted = false;
    try {
        posted = inbox->post([t] { complete(t); });
    } catch (...) {
    }
    if (!posted) delete t;  // that hub and its thread are gone; nobody waits any more
}

}  // namespace green::detail
