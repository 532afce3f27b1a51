// Per-greenlet extras allocated only when used: link callbacks and Local values.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "green/detail/core.hpp"

namespace green::detail {

// Callbacks to run in the hub when the greenlet ends (link and rawlink).
struct LinkCallbacks {
    std::vector<std::function<void()>> callbacks;
};

// One Local<T> value of one greenlet.
struct LocalSlot {
    LocalSlot* next;
    std::uint64_t key;
    void* value;
    void (*destroy)(void*) noexcept;
};

// Destroys the greenlet's Local values (on its own stack, at its end).
void destroy_locals(GreenletCore& g) noexcept;

}  // namespace green::detail
