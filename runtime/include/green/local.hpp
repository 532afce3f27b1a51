// Local<T>: one T per greenlet (gevent.local). Each greenlet that touches it gets
// its own value, default-constructed on first access and destroyed when that
// greenlet ends (the thread's main greenlet: when the thread ends).
#pragma once

#include <cstdint>
#include <memory>
#include <utility>

#include "green/detail/config.hpp"

namespace green {

namespace detail {
GREEN_API std::uint64_t new_local_key() noexcept;
// The current greenlet's value for `key`, or nullptr. Throws std::logic_error in the hub.
GREEN_API void* local_find(std::uint64_t key);
// Gives the current greenlet `value` for `key` (which it must not have yet).
GREEN_API void local_store(std::uint64_t key, void* value, void (*destroy)(void*) noexcept);
}  // namespace detail

template <class T>
class Local {
public:
    Local() : key_(detail::new_local_key()) {}
    Local(const Local&) = delete;
    Local& operator=(const Local&) = delete;

    // This greenlet's value, created with T() on first access.
    T& get() {
        if (void* p = detail::local_find(key_)) return *static_cast<T*>(p);
        return adopt(std::make_unique<T>());
    }
    void set(T value) {
        if (void* p = detail::local_find(key_))
            *static_cast<T*>(p) = std::move(value);
        else
            adopt(std::make_unique<T>(std::move(value)));
    }
    bool has_value() const { return detail::local_find(key_) != nullptr; }

    T& operator*() { return get(); }
    T* operator->() { return &get(); }

private:
    T& adopt(std::unique_ptr<T> v) {
        detail::local_store(key_, v.get(), [](void* p) noexcept { delete static_cast<T*>(p); });
        return *v.release();
    }

    std::uint64_t key_;
};

}  // namespace green
