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
//   - at start under GREEN_THREADS (objects the program used before its first
//     thread, a read-write lock say, must have the hooks' layout from the
//     start), GREEN_SHIM_COOPERATE=always, GREEN_LOG=2 (and a GREEN_LOG or
//     GREEN_DNS the hooks would warn about),
//   - at the first name lookup under GREEN_DNS=ares or another GREEN_DNS_* or
//     GREEN_HOSTS_FILE setting (green's resolver; by default glibc's answers
//     where no greenlet waits),
//   - when the first hub starts (a program that uses green itself),
//   - when a symbol has no definition after the stub (the hook supplies it);
// from then on every symbol goes to its hook.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "../resolver_settings.h"
#include "glibc_base_version.h"
#include "next_symbol.h"
#include "stub_symbols.h"

#define GREEN_STUB_VISIBLE __attribute__((visibility("default")))

enum when { libc, dns };

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

// Where the hooks are: beside this library, as an absolute path.
static char hooks_file[PATH_MAX];

// The hooks: not loaded, being loaded (by one thread; the others wait),
// loaded with what the program made before adopted, or failed to load.
enum { hooks_absent, hooks_loading, hooks_ready, hooks_failed };
static int hooks_state = hooks_absent;
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

// Green threads, the cooperative path forced, and what the hooks say when they
// start (GREEN_LOG=2, or a warning about a value they ignore) need them at once.
static int wants_hooks_at_start(void) {
    static const char* const threads_idle[] = {"0", NULL}, *const log_idle[] = {"0", "1", NULL},
                             *const dns_idle[] = {"auto", "ares", "system", NULL};
    return env_other_than("GREEN_THREADS", threads_idle) || env_is("GREEN_SHIM_COOPERATE", "always") ||
           env_other_than("GREEN_LOG", log_idle) || env_other_than("GREEN_DNS", dns_idle);
}

// Whether green's resolver answers lookups made where no greenlet exists (none
// does before the hooks load): only when told to (dns_hooks.cpp).
static int dns_needs_hooks(void) {
    static int answer = -1;  // racy but idempotent
    if (answer < 0) {
        static const char* const settings[] = {GREEN_RESOLVER_SETTINGS};
        int configured = env_is("GREEN_DNS", "ares");
        for (size_t i = 0; i < sizeof settings / sizeof settings[0]; ++i) configured = configured || env_set(settings[i]);
        answer = configured && !env_is("GREEN_DNS", "system");
    }
    return answer;
}

// Finds the hooks beside this library, resolved now: the loader keeps the path
// it was given, which may be relative to a directory the program leaves. By
// name (this library's RUNPATH, $ORIGIN) if the path is unknown.
static void find_hooks(void) {
    if (hooks_file[0]) return;
    Dl_info self;
    const char* slash = NULL;
    if (dladdr(hooks_name, &self) && self.dli_fname) slash = strrchr(self.dli_fname, '/');
    char dir[PATH_MAX], real[PATH_MAX];
    const char* where = NULL;
    if (slash && (size_t)(slash - self.dli_fname) < sizeof dir) {
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - self.dli_fname), self.dli_fname);
        where = dir[0] == '/' ? dir : !dir[0] ? "/" : realpath(dir, real);
    }
    if (!where || snprintf(hooks_file, sizeof hooks_file, "%s/%s", where, hooks_name) >= (int)sizeof hooks_file)
        snprintf(hooks_file, sizeof hooks_file, "%s", hooks_name);
}

// A scheduler yield that no hook sees.
static void yield_cpu(void) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"((long)SYS_sched_yield) : "rcx", "r11", "memory");
    (void)r;
}

// Calls the hooks' function `name` that takes and returns nothing, if it exists.
static void call_hook(void* hooks, const char* name) {
    void (*fn)(void);
    void* p = dlsym(hooks, name);
    memcpy(&fn, &p, sizeof p);
    if (fn) fn();
}

GREEN_STUB_VISIBLE void green_preload_activate(void) {
    int state = __atomic_load_n(&hooks_state, __ATOMIC_ACQUIRE);
    if (state == hooks_ready || state == hooks_failed || loading) return;
    if (state == hooks_loading ||
        !__atomic_compare_exchange_n(&hooks_state, &state, hooks_loading, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        // Another thread loads them: returning earlier would let this one run
        // green code before the program's handlers and keys are adopted.
        while (__atomic_load_n(&hooks_state, __ATOMIC_ACQUIRE) == hooks_loading) yield_cpu();
        return;
    }
    loading = 1;
    find_hooks();
    void* h = dlopen(hooks_file, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        dprintf(2, "green: cannot load %s (%s): blocking calls stay blocking\n", hooks_file, dlerror());
        __atomic_store_n(&hooks_state, hooks_failed, __ATOMIC_RELEASE);
        loading = 0;
        return;
    }
    for (int i = 0; i < symbol_count; ++i) {
        void* hook = dlsym(h, names[i]);
        if (hook) __atomic_store_n(&green_stub_slots[i], hook, __ATOMIC_RELEASE);
    }
    dlerror();  // a name the hooks lack is not the program's error
    // What the program made through libc before now and the hooks must know:
    // signal handlers (to see them run), thread-specific data keys.
    call_hook(h, "green_hooks_adopt_signal_handlers");
    call_hook(h, "green_hooks_adopt_keys");
    __atomic_store_n(&hooks_state, hooks_ready, __ATOMIC_RELEASE);
    loading = 0;
}

// The definition of `name` after this library: its default version, else its
// first (glibc keeps some symbols only under the versions old binaries use).
// From the symbol tables once the constructor has found them, else dlsym's.
static void* next_definition(const char* name) {
    void* next = green_next_symbol(name);
    if (next) return next;
    next = dlsym(RTLD_NEXT, name);
#ifdef GREEN_GLIBC_BASE_VERSION
    if (!next) next = dlvsym(RTLD_NEXT, name, GREEN_GLIBC_BASE_VERSION);
#endif
    if (!next) dlerror();  // not the program's error
    // Not a tail call: RTLD_NEXT counts from the library dlsym returns to.
    __asm__ volatile("" ::: "memory");
    return next;
}

// For the hooks: the definition that follows this library, libc's, which a
// hook calls for the plain call. Their own RTLD_NEXT would look among their
// own dependencies, which may hold an interposer (a sanitizer's runtime) whose
// calls come back through this stub to the hook.
GREEN_STUB_VISIBLE void* green_preload_next(const char* name) { return next_definition(name); }

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
    void* next = next_definition(names[i]);
    --resolving;
    if (!next) return NULL;
    // Unless the hooks were loaded meanwhile: then the slot is theirs.
    if (!__atomic_compare_exchange_n(&green_stub_slots[i], &lazy_entry, next, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return lazy_entry;
    return next;
}

// Called by trampolines.S at the first call through `slot` (before this
// library's constructor, or a lookup that loads green's resolver): where it goes.
__attribute__((visibility("hidden"))) void* green_stub_resolve(void** slot) {
    const int i = (int)(slot - green_stub_slots);
    if (whens[i] == dns && dns_needs_hooks()) green_preload_activate();
    void* target = bind_next(i);
    if (target) return target;
    // A symbol this libc lacks: only the hook defines it.
    green_preload_activate();
    target = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (target != green_stub_lazy_entries[i]) return target;
    dprintf(2, "green: %s is defined nowhere but in green's hooks, which did not load\n", names[i]);
    abort();
}

// Binds every slot now, but those of the lookups green's resolver is to
// answer: a first call never runs dlsym then, which takes the loader's lock (a
// thread making its first call would wait for another's dlopen, which may wait
// for it) and is no call for a signal handler.
// A child forked while another thread loaded the hooks has no such thread:
// it loads them again when it needs them (dlopen gives the same handle if the
// load had ended; slots are filled only after it).
static void after_fork_in_child(void) {
    if (!loading && __atomic_load_n(&hooks_state, __ATOMIC_ACQUIRE) == hooks_loading)
        __atomic_store_n(&hooks_state, hooks_absent, __ATOMIC_RELEASE);
}

__attribute__((constructor)) static void start(void) {
    pthread_atfork(NULL, NULL, after_fork_in_child);
    find_hooks();
    green_next_symbol_init(hooks_name);
    if (wants_hooks_at_start()) green_preload_activate();
    if (__atomic_load_n(&hooks_state, __ATOMIC_ACQUIRE) == hooks_ready) return;
    for (int i = 0; i < symbol_count; ++i)
        if (!(whens[i] == dns && dns_needs_hooks())) bind_next(i);
}
