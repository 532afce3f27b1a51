// Every hub of the process, for a request any of them may have to answer: a
// program's dup2 onto a descriptor of the runtime's whose hub is unknown.
#pragma once

#include <vector>

#include "base/raw_lock.hpp"

namespace green::detail {

class Hub;

// As each hub is made (the constructor may throw) and before it goes.
void register_hub(Hub& hub);
void unregister_hub(Hub& hub) noexcept;
// In a forked child: only the forking thread's hub is left (null: none).
void registry_after_fork(Hub* kept) noexcept;

namespace hub_registry {
RawLock& lock() noexcept;
std::vector<Hub*>& hubs() noexcept;
}  // namespace hub_registry

// Calls fn(hub) for every hub, under the registry's lock: none goes away
// meanwhile. fn must be short and must not wait or switch.
template <class Fn>
void for_each_hub(Fn&& fn) {
    RawLockGuard held(hub_registry::lock());
    for (Hub* hub : hub_registry::hubs()) fn(*hub);
}

}  // namespace green::detail
