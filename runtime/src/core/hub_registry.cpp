#include "core/hub_registry.hpp"

#include <algorithm>

#include "core/runtime_fds.hpp"

namespace green::detail {

namespace hub_registry {

RawLock& lock() noexcept {
    static RawLock registry_lock;
    return registry_lock;
}

std::vector<Hub*>& hubs() noexcept {
    static auto* all = new std::vector<Hub*>;  // never destroyed: hubs of other threads outlive static destructors
    return *all;
}

}  // namespace hub_registry

void register_hub(Hub& hub) {
    RuntimeScope ours;  // the allocator must not take a turn (the shim's mutexes) under the lock
    RawLockGuard held(hub_registry::lock());
    hub_registry::hubs().push_back(&hub);
}

void unregister_hub(Hub& hub) noexcept {
    RawLockGuard held(hub_registry::lock());
    std::erase(hub_registry::hubs(), &hub);
}

void registry_after_fork(Hub* kept) noexcept {
    hub_registry::lock().reset();
    std::erase_if(hub_registry::hubs(), [kept](Hub* h) { return h != kept; });
}

}  // namespace green::detail
