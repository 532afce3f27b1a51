#include "green/local.hpp"

#include <atomic>

#include "core/greenlet_parts.hpp"
#include "core/hub.hpp"

namespace green::detail {

std::uint64_t new_local_key() noexcept {
    // Keys are never reused, so a value left behind by a destroyed Local can never
    // be mistaken for the value of a new one at the same address.
    static std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
}

void* local_find(std::uint64_t key) {
    for (LocalSlot* s = current().locals; s; s = s->next)
        if (s->key == key) return s->value;
    return nullptr;
}

void local_store(std::uint64_t key, void* value, void (*destroy)(void*) noexcept) {
    GreenletCore& g = current();
    g.locals = new LocalSlot{g.locals, key, value, destroy};
}

void destroy_locals(GreenletCore& g) noexcept {
    // A value's destructor may touch other Locals and so create new slots.
    while (LocalSlot* s = g.locals) {
        g.locals = s->next;
        s->destroy(s->value);
        delete s;
    }
}

}  // namespace green::detail
