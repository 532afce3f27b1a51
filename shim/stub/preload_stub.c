// libgreen_preload.so, what greenrun preloads: a stub that loads the shim's
// hooks (libgreen_hooks.so, with libgreen and libstdc++ behind it) only when
// the program first needs them. Every program a shell script or a makefile
// starts under greenrun inherits the preload, and most of them never resolve
// a name nor start a greenlet: loading and relocating the C++ runtime cost
// each of them ~1.2 ms, this stub ~0.1 ms.
//
// Until then each interposed symbol (trampolines.S) goes to the definition
// that follows the stub (libc's), as it would without greenrun; the hooks would
// make the same plain call, since no hub exists. The hooks are loaded
//   - at start under GREEN_SHIM_COOPERATE=always, GREEN_LOG=2 (and a GREEN_LOG
//     or GREEN_DNS the hooks would warn about),
//   - at the first pthread_create or thrd_create under GREEN_THREADS,
//   - at the first name lookup under GREEN_DNS=ares or another GREEN_DNS_* or
//     GREEN_HOSTS_FILE setting (green's resolver; by default glibc's answers
//     where no greenlet waits),
//   - when the first hub starts (a program that uses green itself),
//   - when a symbol has no definition after the stub (the hook supplies it);
// from then on every symbol goes to its hook.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stub_symbols.h"

#define GREEN_STUB_VISIBLE __attribute__((visibility("default")))

enum when { eager, lazy, dns, threads };

#define GREEN_STUB_NAME(name, when) #name,
static const char* const names[] = {GREEN_STUB_SYMBOLS(GREEN_STUB_NAME)};
#undef GREEN_STUB_NAME
#define GREEN_STUB_WHEN(name, when) when,
static const unsigned char whens[] = {GREEN_STUB_SYMBOLS(GREEN_STUB_WHEN)};
#undef GREEN_STUB_WHEN
enum { symbol_count = sizeof names / sizeof names[0] };

// In trampolines.S, one per row of stub_symbols.h, in its order: the slots,
// and the lazy entry each starts at.
extern void* green_stub_slots[];
extern void* const green_stub_lazy_entries[];

static const char hooks_name[] = "libgreen_hooks.so.0";

// The hooks library once the slots point into it.
static void* hooks;
static int hooks_failed;
// Whether this thread is loading the hooks (their constructors may start a hub).
static __thread int loading __attribute__((tls_model("initial-exec")));
// How deep green_stub_resolve runs in itself on this thread (a malloc that an
// interposer gave the process may make an interposed call from inside dlsym).
static __thread int resolving __attribute__((tls_model("initial-exec")));

static int env_set(const char* name) {
    const char* v = secure_getenv(name);
    return v && *v;
}

static int env_is(const char* name, const char* value) { return env_set(name) && !strcmp(secure_getenv(name), value); }

// Set, and to none of `idle` (NULL-terminated): values that leave the hooks idle.
static int env_other_than(const char* name, const char* const* idle) {
    if (!env_set(name)) return 0;
    for (; *idle; ++idle)
        if (env_is(name, *idle)) return 0;
    return 1;
}

// The cooperative path forced, and what the hooks say when they start
// (GREEN_LOG=2, or a warning about a value they ignore) need them at once.
static int wants_hooks_at_start(void) {
    static const char* const log_idle[] = {"0", "1", NULL}, *const dns_idle[] = {"auto", "ares", "system", NULL};
    return env_is("GREEN_SHIM_COOPERATE", "always") || env_other_than("GREEN_LOG", log_idle) ||
           env_other_than("GREEN_DNS", dns_idle);
}

// GREEN_THREADS: the threads the program creates are green threads, which the
// hooks make (until the first, the program's one thread needs nothing of them).
static int threads_need_hooks(void) {
    static int answer = -1;  // racy but idempotent
    static const char* const threads_idle[] = {"0", NULL};
    if (answer < 0) answer = env_other_than("GREEN_THREADS", threads_idle);
    return answer;
}

// Whether green's resolver answers lookups made where no greenlet exists (none
// does before the hooks load): only when told to (dns_hooks.cpp).
static int dns_needs_hooks(void) {
    static int answer = -1;  // racy but idempotent
    if (answer < 0)
        answer = !env_is("GREEN_DNS", "system") &&
                 (env_is("GREEN_DNS", "ares") || env_set("GREEN_DNS_SERVERS") || env_set("GREEN_DNS_TIMEOUT") ||
                  env_set("GREEN_DNS_TRIES") || env_set("GREEN_HOSTS_FILE"));
    return answer;
}

// The hooks library beside this one, as loaded (greenrun preloads by absolute
// path); by name (this library's RUNPATH, $ORIGIN) if that path is unknown.
static void hooks_path(char* out, size_t size) {
    Dl_info self;
    const char* slash = NULL;
    if (dladdr(hooks_name, &self) && self.dli_fname) slash = strrchr(self.dli_fname, '/');
    const size_t dir = slash ? (size_t)(slash - self.dli_fname) + 1 : 0;
    if (dir + sizeof hooks_name > size) {
        snprintf(out, size, "%s", hooks_name);
        return;
    }
    memcpy(out, self.dli_fname, dir);
    memcpy(out + dir, hooks_name, sizeof hooks_name);
}

GREEN_STUB_VISIBLE void green_preload_activate(void) {
    if (__atomic_load_n(&hooks, __ATOMIC_ACQUIRE) || __atomic_load_n(&hooks_failed, __ATOMIC_RELAXED) || loading)
        return;
    loading = 1;
    char path[PATH_MAX];
    hooks_path(path, sizeof path);
    void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        if (!__atomic_exchange_n(&hooks_failed, 1, __ATOMIC_RELAXED))
            dprintf(2, "green: cannot load %s (%s): blocking calls stay blocking\n", path, dlerror());
        loading = 0;
        return;
    }
    // Another thread may fill the slots at the same time, with the same values.
    for (int i = 0; i < symbol_count; ++i) {
        void* hook = dlsym(h, names[i]);
        if (hook) __atomic_store_n(&green_stub_slots[i], hook, __ATOMIC_RELEASE);
    }
    void* none = NULL;
    if (__atomic_compare_exchange_n(&hooks, &none, h, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        // What the program made through libc before now and the hooks must
        // know: signal handlers (to see them run), thread-specific data keys.
        static const char* const adopters[] = {"green_hooks_adopt_signal_handlers", "green_hooks_adopt_keys"};
        for (size_t i = 0; i < sizeof adopters / sizeof adopters[0]; ++i) {
            void (*adopt)(void);
            void* p = dlsym(h, adopters[i]);
            memcpy(&adopt, &p, sizeof p);
            if (adopt) adopt();
        }
    }
    loading = 0;
}

// For the hooks: the definition that follows this library, libc's, which a
// hook calls for the plain call. Their own RTLD_NEXT would look among their
// own dependencies, which may hold an interposer (a sanitizer's runtime) whose
// calls come back through this stub to the hook.
GREEN_STUB_VISIBLE void* green_preload_next(const char* name) {
    void* next = dlsym(RTLD_NEXT, name);
    // Not a tail call: RTLD_NEXT counts from the library dlsym returns to.
    __asm__ volatile("" ::: "memory");
    return next;
}

static int hooks_loaded(void) { return __atomic_load_n(&hooks, __ATOMIC_ACQUIRE) != NULL; }

// Points slot `i` at the definition after this library (libc's), unless it
// was pointed somewhere meanwhile. Returns where the slot points, or NULL if
// there is no such definition.
static void* bind_next(int i) {
    void* lazy_entry = green_stub_lazy_entries[i];
    void* const now = __atomic_load_n(&green_stub_slots[i], __ATOMIC_ACQUIRE);
    if (now != lazy_entry) return now;  // resolved meanwhile, or the hooks loaded
    if (resolving > 8) {
        dprintf(2, "green: %s is called while it is being looked up\n", names[i]);
        abort();
    }
    ++resolving;
    void* next = dlsym(RTLD_NEXT, names[i]);
    --resolving;
    if (!next) return NULL;
    // Unless the hooks were loaded meanwhile: then the slot is theirs.
    if (!__atomic_compare_exchange_n(&green_stub_slots[i], &lazy_entry, next, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return lazy_entry;
    return next;
}

// Called by trampolines.S at the first call through `slot`: where it goes.
__attribute__((visibility("hidden"))) void* green_stub_resolve(void** slot) {
    const int i = (int)(slot - green_stub_slots);
    if ((whens[i] == dns && dns_needs_hooks()) || (whens[i] == threads && threads_need_hooks())) green_preload_activate();
    void* target = bind_next(i);
    if (target) return target;
    // A symbol this libc lacks (or keeps private): only the hook defines it.
    green_preload_activate();
    target = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (target != green_stub_lazy_entries[i]) return target;
    dprintf(2, "green: %s is defined nowhere but in green's hooks, which did not load\n", names[i]);
    abort();
}

__attribute__((constructor)) static void start(void) {
    if (wants_hooks_at_start()) green_preload_activate();
    if (hooks_loaded()) return;
    for (int i = 0; i < symbol_count; ++i)
        if (whens[i] == eager) bind_next(i);
}
