// A ThreadTask's way home: a call that ran on another thread (a pool's
// worker, another carrier) is handed back to the hub of the greenlet that
// waits for it.
#pragma once

#include "core/hub.hpp"
#include "green/thread_pool.hpp"

namespace green::detail {

// On the thread that ran `t`: posts it to its waiter's hub, which marks it
// done, wakes the waiter (if it still waits), lets its loop go idle again
// (the waiter held it) and drops the runner's reference.
void send_home(ThreadTask* t) noexcept;

// In the calling greenlet: hands `task` to a runner with hand_over() and waits
// until it is home. Killed first, the waiter calls withdraw(): true when it took
// the task back before a runner saw it; otherwise the runner finishes it and
// its result is dropped. The exception then goes on.
template <class HandOver, class Withdraw>
void wait_for_runner(ThreadTask& task, const char* what, HandOver&& hand_over, Withdraw&& withdraw) {
    Hub& hub = Hub::current();
    task.waiter = &current();
    task.home = hub.inbox();
    hub.loop().hold();  // outstanding work: the loop must not look idle
    try {
        hand_over();
    } catch (...) {
        hub.loop().unhold();
        --task.refs;  // no runner took its reference
        throw;
    }
    try {
        while (!task.done) hub.park(nullptr, kForever, what, &task);
    } catch (...) {
        if (!task.done) {
            if (withdraw()) {
                hub.loop().unhold();
                --task.refs;  // no runner will ever see it
            } else {
                task.waiter = nullptr;  // send_home's completion drops the result
            }
        }
        throw;
    }
}

}  // namespace green::detail
