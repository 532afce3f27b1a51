#include "real.hpp"

#include <dlfcn.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <type_traits>

#include "stub/glibc_base_version.h"

namespace shim::real {
namespace {

// One libc symbol, looked up once.
struct Symbol {
    const char* name;
    std::atomic<void*> address{nullptr};
};

thread_local int resolving [[gnu::tls_model("initial-exec")]] = 0;

}  // namespace
}  // namespace shim::real

// Defined by the preload stub (shim/stub), which loads these hooks: the
// definition after the stub. Without the stub, this library is the preload and
// its own RTLD_NEXT is that definition.
extern "C" [[gnu::weak, gnu::visibility("default")]] void* green_preload_next(const char* name) noexcept;

namespace shim::real {
namespace {

// The definition after this library: its default version, else the old one.
// Not tail calls: RTLD_NEXT counts from the library dlsym returns to.
[[gnu::noinline]] void* next_definition(const char* name) noexcept {
    void* p = dlsym(RTLD_NEXT, name);
#ifdef GREEN_GLIBC_BASE_VERSION
    if (!p) p = dlvsym(RTLD_NEXT, name, GREEN_GLIBC_BASE_VERSION);
#endif
    if (!p) dlerror();  // not the program's error
    asm volatile("" ::: "memory");
    return p;
}

void* lookup(Symbol& s) noexcept {
    void* p = s.address.load(std::memory_order_acquire);
    if (p) [[likely]]
        return p;
    if (resolving) return nullptr;  // dlsym is running on this thread: use the fallback
    ++resolving;
    p = green_preload_next ? green_preload_next(s.name) : next_definition(s.name);
    --resolving;
    s.address.store(p, std::memory_order_release);
    return p;
}

// What a call does while its symbol is being resolved on this thread: the
// system call `Nr`, or (Nr < 0) a failure with ENOSYS.
constexpr long none = -1;

template <class R, long Nr>
struct Fallback {
    template <class... Args>
    R operator()(Args... args) const noexcept {
        if constexpr (Nr >= 0) {
            return static_cast<R>(::syscall(Nr, args...));
        } else {
            errno = ENOSYS;
            if constexpr (std::is_pointer_v<R>)
                return nullptr;
            else if constexpr (!std::is_void_v<R>)
                return static_cast<R>(-1);
        }
    }
};

#define SHIM_SYMBOL(name, R, params, args, fallback) Symbol name##_{#name};
SHIM_REAL_SYMBOLS(SHIM_SYMBOL)
#undef SHIM_SYMBOL

#define SHIM_SYMBOL_ADDRESS(name, R, params, args, fallback) &name##_,
Symbol* const all[] = {SHIM_REAL_SYMBOLS(SHIM_SYMBOL_ADDRESS)};
#undef SHIM_SYMBOL_ADDRESS

}  // namespace

void resolve_all() noexcept {
    for (Symbol* s : all) lookup(*s);
}

#define SHIM_DEFINE_REAL(name, R, params, args, fallback)                  \
    R name params {                                                        \
        if (auto real_fn = reinterpret_cast<R(*) params>(lookup(name##_))) return real_fn args; \
        return Fallback<R, fallback>{} args;                               \
    }
SHIM_REAL_SYMBOLS(SHIM_DEFINE_REAL)
#undef SHIM_DEFINE_REAL

}  // namespace shim::real
