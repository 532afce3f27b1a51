// Thread-specific data: pthread_key_*, pthread_getspecific/setspecific and C11's
// tss_*. Keys come from glibc (so a real thread keeps its values there, and
// glibc runs their destructors when it ends); a green thread keeps its values
// in its record, each stamped with the key's generation so that a deleted and
// re-created key reads as empty, and its destructors run here when it ends.
#include <dlfcn.h>
#include <threads.h>

#include <atomic>
#include <cstdint>
#include <cerrno>
#include <limits.h>

#include "../real.hpp"
#include "../state.hpp"
#include "thread_state.hpp"

namespace shim::threads {
namespace {

struct Key {
    std::atomic<std::uint64_t> generation{0};  // odd while the key exists
    std::atomic<void (*)(void*)> destructor{nullptr};
};
Key keys[PTHREAD_KEYS_MAX];

bool live(pthread_key_t k, std::uint64_t& generation) noexcept {
    if (k >= PTHREAD_KEYS_MAX) return false;
    generation = keys[k].generation.load(std::memory_order_acquire);
    return generation & 1;
}

// Starts a new generation of key `k`, odd if it now exists: set, not toggled,
// since green_hooks_adopt_keys may have marked a key glibc just made already.
void new_generation(pthread_key_t k, bool exists) noexcept {
    std::uint64_t g = keys[k].generation.load(std::memory_order_acquire);
    while (!keys[k].generation.compare_exchange_weak(g, (g | 1) + (exists ? ((g & 1) ? 2 : 0) : 1),
                                                     std::memory_order_acq_rel, std::memory_order_acquire)) {
    }
}

// The green thread whose values live in its record (not an OS thread's own).
GreenThread* green_current() noexcept {
    GreenThread* t = enabled() ? current() : nullptr;
    return t && !t->main ? t : nullptr;
}

}  // namespace

void run_key_destructors(GreenThread& t) {
    // A green thread's values are in its record (usually none); an OS thread's are glibc's.
    const pthread_key_t end = t.main ? PTHREAD_KEYS_MAX : static_cast<pthread_key_t>(t.keys.size());
    for (int round = 0; round < PTHREAD_DESTRUCTOR_ITERATIONS; ++round) {
        bool ran = false;
        for (pthread_key_t k = 0; k < end; ++k) {
            std::uint64_t generation = 0;
            if (!live(k, generation)) continue;
            void (*destructor)(void*) = keys[k].destructor.load(std::memory_order_relaxed);
            if (!destructor) continue;
            void* value = nullptr;
            if (t.main) {
                value = real::pthread_getspecific(k);
                if (value) real::pthread_setspecific(k, nullptr);
            } else if (t.keys[k].seq == generation) {
                value = t.keys[k].value;
                t.keys[k].value = nullptr;
            }
            if (!value) continue;
            destructor(value);
            ran = true;
        }
        if (!ran) return;
    }
}

}  // namespace shim::threads

using namespace shim::threads;

GREEN_HOOK int pthread_key_create(pthread_key_t* key, void (*destructor)(void*)) noexcept {
    const int r = shim::real::pthread_key_create(key, destructor);
    if (r == 0 && *key < PTHREAD_KEYS_MAX) {
        keys[*key].destructor.store(destructor, std::memory_order_relaxed);
        new_generation(*key, true);
    }
    return r;
}

GREEN_HOOK int pthread_key_delete(pthread_key_t key) noexcept {
    const int r = shim::real::pthread_key_delete(key);
    if (r == 0 && key < PTHREAD_KEYS_MAX) new_generation(key, false);
    return r;
}

GREEN_HOOK void* pthread_getspecific(pthread_key_t key) noexcept {
    GreenThread* t = green_current();
    if (!t) return shim::real::pthread_getspecific(key);
    std::uint64_t generation = 0;
    if (!live(key, generation) || key >= t->keys.size() || t->keys[key].seq != generation) return nullptr;
    return t->keys[key].value;
}

GREEN_HOOK int pthread_setspecific(pthread_key_t key, const void* value) noexcept {
    GreenThread* t = green_current();
    if (!t) return shim::real::pthread_setspecific(key, value);
    std::uint64_t generation = 0;
    if (!live(key, generation)) return EINVAL;
    if (key >= t->keys.size()) {
        try {
            t->keys.resize(std::max<std::size_t>(key + 1, 32));
        } catch (...) {
            return ENOMEM;
        }
    }
    t->keys[key] = KeyValue{generation, const_cast<void*>(value)};
    return 0;
}

// The preload stub (shim/stub) loads these hooks at the program's first need
// of them, and libraries may have made keys through glibc before then (in
// their constructors, as AddressSanitizer's runtime does): those are taken from
// glibc's own table of keys, which libthread_db reads too, destructors and all.
GREEN_HOOK void green_hooks_adopt_keys() noexcept {
    struct GlibcKey {
        std::uintptr_t seq;  // odd while the key exists
        void (*destructor)(void*);
    };
    const auto* glibc = static_cast<const GlibcKey*>(dlvsym(RTLD_DEFAULT, "__pthread_keys", "GLIBC_PRIVATE"));
    if (!glibc) return;
    for (pthread_key_t k = 0; k < PTHREAD_KEYS_MAX; ++k) {
        std::uint64_t generation = keys[k].generation.load(std::memory_order_acquire);
        if (!(glibc[k].seq & 1) || (generation & 1)) continue;
        keys[k].destructor.store(glibc[k].destructor, std::memory_order_relaxed);
        keys[k].generation.compare_exchange_strong(generation, generation + 1, std::memory_order_acq_rel);
    }
}

// The exported aliases old binaries may still reference.
GREEN_HOOK int __pthread_key_create(pthread_key_t* key, void (*destructor)(void*)) noexcept {
    return pthread_key_create(key, destructor);
}
GREEN_HOOK void* __pthread_getspecific(pthread_key_t key) noexcept { return pthread_getspecific(key); }
GREEN_HOOK int __pthread_setspecific(pthread_key_t key, const void* value) noexcept {
    return pthread_setspecific(key, value);
}

// C11: glibc's tss_* call its internal pthread functions, out of the hooks' reach.
// (Without noexcept, as <threads.h> declares them.)
GREEN_HOOK int tss_create(tss_t* key, tss_dtor_t destructor) {
    if (!enabled()) return shim::real::tss_create(key, destructor);
    return pthread_key_create(key, destructor) == 0 ? thrd_success : thrd_error;
}

GREEN_HOOK void tss_delete(tss_t key) {
    if (!enabled()) return shim::real::tss_delete(key);
    pthread_key_delete(key);
}

GREEN_HOOK void* tss_get(tss_t key) {
    if (!enabled()) return shim::real::tss_get(key);
    return pthread_getspecific(key);
}

GREEN_HOOK int tss_set(tss_t key, void* value) {
    if (!enabled()) return shim::real::tss_set(key, value);
    return pthread_setspecific(key, value) == 0 ? thrd_success : thrd_error;
}
