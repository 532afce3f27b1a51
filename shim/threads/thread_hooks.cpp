// pthread_create and the lifecycle of a green thread: join, detach, exit,
// self, attributes, names, signals sent to it, cancellation requests; C11's
// thrd_*; sched_yield.
//
// A thread becomes green when thread patching is on and it is created from a
// greenlet of a hub (the process's initial thread gets one at its first
// pthread_create), not from inside the runtime, and not by a library listed in
// GREEN_THREADS_EXCLUDE (or the defaults: OpenMP and BLAS runtimes, which need
// their threads on cores) or one with thread-local variables of its own.
// Everything else gets glibc's real thread.
#include <dlfcn.h>
#include <link.h>
#include <setjmp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include <green/dump.hpp>

#include "../cooperate.hpp"
#include "../real.hpp"
#include "../state.hpp"
#include "thread_state.hpp"

namespace shim::threads {
namespace {

constexpr std::size_t kMinStack = 128 * 1024;  // libc may alloca 64 KiB

std::atomic<int> next_id{0};
int new_id() noexcept { return 0x20000000 | (next_id.fetch_add(1, std::memory_order_relaxed) & 0x0fffffff); }

// ---- which creators get green threads ---------------------------------------

// Libraries whose threads stay real: the OpenMP and BLAS runtimes' threads are
// meant to run on cores; perl's threads module (auto/threads/threads.so) runs
// interpreters that perl 5.36 finds through a thread-local variable
// (PL_current_context), which the green threads of a carrier would share; the
// java launcher (libjli) starts the JVM in a thread of its own, and the JVM
// finds its thread through a thread-local variable too.
constexpr const char* kDefaultExcluded[] = {"libgomp.so", "libomp.so", "libiomp5.so", "libopenblas", "libblas.so",
                                             "liblapack.so", "libmkl_", "libtbb", "threads.so", "libjli.so"};

// The comma-separated library names of the environment variable `name`.
std::vector<std::string> library_list(const char* name) {
    std::vector<std::string> out;
    if (const char* v = green::detail::shim_api::env(name)) {
        std::string_view rest(v);
        while (!rest.empty()) {
            const std::size_t comma = rest.find(',');
            std::string_view item = rest.substr(0, comma);
            if (!item.empty()) out.emplace_back(item);
            rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        }
    }
    return out;
}

template <typename Prefixes>
bool starts_with_any(std::string_view library, const Prefixes& prefixes) {
    for (std::string_view prefix : prefixes)
        if (library.substr(0, prefix.size()) == prefix) return true;
    return false;
}

bool is_excluded(std::string_view library) {
    static const std::vector<std::string> named = library_list("GREEN_THREADS_EXCLUDE");
    return starts_with_any(library, named);
}

// GREEN_THREADS_INCLUDE: libraries whose threads are green although the
// built-in rules (the defaults above, thread-local variables) keep them real.
bool is_included(std::string_view library) {
    static const std::vector<std::string> named = library_list("GREEN_THREADS_INCLUDE");
    return starts_with_any(library, named);
}

// Whether the object whose code is at `address` has thread-local variables of
// its own (a PT_TLS segment), which the green threads of a carrier would
// share: Rust's std keeps each thread's handle in one (a spawn aborts when the
// new thread finds its creator's), Ruby its execution context, the JVM its
// thread.
bool keeps_thread_locals(const void* address) {
    struct Search {
        std::uintptr_t address;
        bool tls = false;
    } search{reinterpret_cast<std::uintptr_t>(address)};
    dl_iterate_phdr(
        [](dl_phdr_info* info, std::size_t, void* arg) -> int {
            auto& s = *static_cast<Search*>(arg);
            bool inside = false;
            for (int i = 0; i < info->dlpi_phnum; ++i) {
                const ElfW(Phdr)& ph = info->dlpi_phdr[i];
                const std::uintptr_t start = info->dlpi_addr + ph.p_vaddr;
                if (ph.p_type == PT_LOAD && s.address - start < ph.p_memsz) inside = true;
            }
            if (!inside) return 0;
            s.tls = info->dlpi_tls_modid != 0;
            return 1;
        },
        &search);
    return search.tls;
}

// Libraries that call pthread_create on behalf of their caller: libstdc++
// (std::thread's constructor) and a sanitizer runtime preloaded before the
// shim (its pthread_create interceptor).
bool passes_through(std::string_view library) noexcept {
    return library.substr(0, 9) == "libstdc++" || in_sanitizer_runtime(library);
}

// The built-in rules: the default list, and thread-local variables of the
// code's own object. glibc, green's own libraries and those that pass
// pthread_create through have thread-local variables of their own but are
// judged by their callers (or not at all).
bool excluded_by_rule(std::string_view library, const void* address) {
    if (starts_with_any(library, kDefaultExcluded)) return true;
    if (passes_through(library) || library.substr(0, 7) == "libc.so" || library.substr(0, 8) == "libgreen") return false;
    return keeps_thread_locals(address);
}

// The first caller outside the shim and the libraries that pass
// pthread_create through.
struct FindCaller {
    std::string_view shim;  // the shim's own file name
    const void* found = nullptr;
    int frames = 0;
};

_Unwind_Reason_Code visit(_Unwind_Context* context, void* arg) {
    auto& f = *static_cast<FindCaller*>(arg);
    const void* ip = reinterpret_cast<const void*>(_Unwind_GetIP(context));
    const std::string_view lib = library_of(ip);
    if (lib != f.shim && !passes_through(lib)) {
        f.found = ip;
        return _URC_END_OF_STACK;
    }
    return ++f.frames > 32 ? _URC_END_OF_STACK : _URC_NO_REASON;
}

// Decisions by code address (a creator's call site, a thread's start routine):
// a program creates threads from a few places. One word each, the address
// with the decision in its top bit, which no user-space address has: readers
// never see one entry's address with another's decision.
constexpr std::uintptr_t kExcludedBit = std::uintptr_t{1} << 63;
std::atomic<std::uintptr_t> decisions[64];

// Whether the code at `address` belongs to an excluded library.
bool excluded_code(const void* address) {
    const auto a = reinterpret_cast<std::uintptr_t>(address);
    std::atomic<std::uintptr_t>& e = decisions[(a >> 4) % 64];
    const std::uintptr_t known = e.load(std::memory_order_relaxed);
    if ((known & ~kExcludedBit) == a) return (known & kExcludedBit) != 0;
    const std::string_view library = library_of(address);
    const bool excluded = is_excluded(library) || (!is_included(library) && excluded_by_rule(library, address));
    e.store(a | (excluded ? kExcludedBit : 0), std::memory_order_relaxed);
    return excluded;
}

// Whether the code that creates a thread from `caller` is excluded. A caller
// inside a library that passes the call through stands for every program and
// library that uses it: the decision goes by the first caller outside it,
// found anew each time.
bool excluded_caller(const void* caller) {
    if (passes_through(library_of(caller))) {
        FindCaller f;
        f.shim = library_of(reinterpret_cast<const void*>(&excluded_caller));
        _Unwind_Backtrace(visit, &f);
        if (!f.found) return false;
        caller = f.found;
    }
    return excluded_code(caller);
}

bool initial_thread() noexcept { return ::getpid() == ::gettid(); }

// Whether pthread_create called from `caller` on this thread for a thread that
// starts in `start` makes a green thread. An excluded library's thread is known
// by either: a library that ends a function with its call to pthread_create
// (a tail call) leaves its caller's return address, but its threads start in
// its own code.
bool makes_green_thread(const void* caller, const void* start) {
    if (!enabled() || api::in_runtime_scope() || state::plain_depth != 0) return false;
    if (!api::running_greenlet() && !(initial_thread() && !api::main_greenlet())) return false;
    return !excluded_caller(caller) && !excluded_code(start);
}

// ---- records ------------------------------------------------------------------

// The records of ended threads are kept for the threads created next, as
// glibc keeps the descriptors of ended threads in its stack cache: a handle
// the program still holds then names a record that says "ended, detached"
// (joins and pthread_detach say EINVAL, as glibc's), never freed memory. stunnel
// joins, at its exit, threads that may have detached themselves and ended
// meanwhile. A record is reused whole, so memory stays at the most threads
// alive at once. Spare records are linked through `arg`.
std::atomic_flag spare_lock = ATOMIC_FLAG_INIT;
GreenThread* spare_records = nullptr;

void keep_spare(GreenThread* t) noexcept {
    SpinGuard guard(spare_lock);
    t->arg = spare_records;
    spare_records = t;
}

GreenThread* take_spare() noexcept {
    SpinGuard guard(spare_lock);
    GreenThread* t = spare_records;
    if (t) spare_records = static_cast<GreenThread*>(t->arg);
    return t;
}

GreenThread* new_record() noexcept {
    GreenThread* t = take_spare();
    if (!t) return new (std::nothrow) GreenThread;
    std::destroy_at(t);
    return std::construct_at(t);
}

void free_record(GreenThread* t) noexcept {
    // Null is what tells an ended record from a live one; once no other
    // thread's pin (GreenletPin) can see the greenlet, it may go.
    GreenletCore* g = std::atomic_ref<GreenletCore*>(t->greenlet).exchange(nullptr, std::memory_order_seq_cst);
    while (t->pins.load(std::memory_order_acquire) != 0) {
    }
    api::release_greenlet(g);
    t->life.store(kExited | kDetached, std::memory_order_release);
    keep_spare(t);
}

// OS threads' own records, by their real pthread_t (a handful: the carriers).
struct OsThread {
    std::atomic<pthread_t> handle{0};
    std::atomic<GreenThread*> record{nullptr};
};
OsThread os_threads[64];

// Once: the program then waits on, as it would with OS threads, where a signal
// (an alarm's handler, a supervisor's SIGTERM) may still end it.
void report_deadlock() {
    static std::atomic<bool> reported{false};
    if (reported.exchange(true)) return;
    std::string report =
        "green: deadlock: every thread of the program waits for something no thread can do; they are:\n" +
        green::dump() + "green: the program waits on, as it would without greenrun: only a signal can end the wait\n";
    (void)!::write(STDERR_FILENO, report.data(), report.size());
}

// A new thread starts with its creator's name, as in the kernel (an OS
// thread's own record keeps its name: no system call per pthread_create).
void name_from_creator(GreenThread& t, const GreenThread* creator) noexcept {
    if (creator) {
        std::memcpy(t.name, creator->name, sizeof t.name);
        return;
    }
    prctl(PR_GET_NAME, t.name, 0, 0, 0);
    t.name[sizeof t.name - 1] = 0;
}

void end_thread(GreenThread& t) {
    run_key_destructors(t);
    release_robust_mutexes(t.robust);
    remove_mask(t);
    t.greenlet->thread = nullptr;  // no hook sees this greenlet as a thread any more
}

// On its carrier, once the thread's greenlet no longer runs on its stack (a
// joiner may free a stack it supplied): joiners learn that it has ended.
void thread_gone(void* record) noexcept {
    GreenThread& t = *static_cast<GreenThread*>(record);
    const std::uint32_t life = t.life.fetch_or(kExited, std::memory_order_acq_rel);
    api::unpark(&t.life, SIZE_MAX, 0, false);  // the address only: a joiner may free `t` at once
    if (life & kDetached) free_record(&t);
}

void thread_main(void* record) {
    GreenThread& t = *static_cast<GreenThread*>(record);
    add_mask(t);  // on its carrier, which may not be the creator's
    if (__sigsetjmp(reinterpret_cast<__jmp_buf_tag*>(t.start_frame.cancel_jmp_buf), 0) == 0) {
        t.cleanup_jmp_buf = &t.start_frame;
        t.result = t.start(t.arg);
    }
    // Here also after pthread_exit or a cancellation: the unwinding ends in the frame above.
    end_thread(t);
}

// The carriers GREEN_THREADS asks for, started with the first green thread (of
// the process: a forked child starts its own); false when an OS thread could
// not be made.
std::atomic<bool> carriers_started{false};

[[gnu::constructor(102)]] void start_carriers_anew_in_children() {
    pthread_atfork(nullptr, nullptr, [] { carriers_started.store(false, std::memory_order_relaxed); });
}

bool start_carriers() noexcept {
    std::atomic<bool>& started = carriers_started;
    const int wanted = carriers_wanted();
    if (wanted < 2 || started.load(std::memory_order_acquire)) return true;
    try {
        api::start_carriers(static_cast<std::size_t>(wanted));
    } catch (...) {
        return false;
    }
    started.store(true, std::memory_order_release);
    return true;
}

struct AttrDefaults {
    pthread_attr_t attr;
    bool made = false;
    ~AttrDefaults() {
        if (made) pthread_attr_destroy(&attr);
    }
};

int create_green(pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*), void* arg) {
    start_preemption();
    AttrDefaults defaults;
    if (!attr) {
        if (pthread_getattr_default_np(&defaults.attr) != 0) return EAGAIN;
        defaults.made = true;
        attr = &defaults.attr;
    }
    int detach = PTHREAD_CREATE_JOINABLE;
    std::size_t size = 0, guard = 0, given_size = 0;
    void* given_lo = nullptr;
    pthread_attr_getdetachstate(attr, &detach);
    pthread_attr_getstacksize(attr, &size);
    pthread_attr_getguardsize(attr, &guard);
    pthread_attr_getstack(attr, &given_lo, &given_size);
    // glibc keeps the top of a caller-given stack, null if none: lo + size is that top.
    const bool caller_stack = reinterpret_cast<std::uintptr_t>(given_lo) + given_size != 0;

    GreenThread* t = new_record();
    if (!t) return EAGAIN;
    t->id = new_id();
    t->start = start;
    t->arg = arg;
    if (detach == PTHREAD_CREATE_DETACHED) t->life.store(kDetached, std::memory_order_relaxed);
    // The creator's own identity (for the initial thread, made with its hub
    // now) counts in its carrier's signal mask before any green thread does.
    api::can_use_runtime();
    GreenThread* creator = current() ? current() : os_thread_record();
    name_from_creator(*t, creator);
    sigset_t mask;
    if (pthread_attr_getsigmask_np(attr, &mask) == 0)
        t->sigmask = mask;
    else if (creator)
        t->sigmask = creator->sigmask;
    else
        real::pthread_sigmask(SIG_SETMASK, nullptr, &t->sigmask);

    api::ThreadStack stack;
    if (caller_stack) {
        stack.caller_lo = given_lo;
        stack.size = given_size;
        t->caller_stack = true;
    } else {
        const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
        stack.size = (std::max(size, kMinStack) + page - 1) / page * page;
        stack.guard = (guard + page - 1) / page * page;
    }
    t->guard_size = t->caller_stack ? 0 : stack.guard;
    static std::atomic<bool> handler_set{false};
    if (!handler_set.exchange(true)) api::set_deadlock_handler(report_deadlock);
    if (!start_carriers()) {
        keep_spare(t);
        return EAGAIN;
    }
    try {
        const api::StartedThread made = api::make_thread(thread_main, thread_gone, t, stack);
        t->greenlet = made.greenlet;
        t->stack_lo = made.stack_lo;
        t->stack_size = made.stack_size;
        t->carrier = made.carrier;
    } catch (...) {
        keep_spare(t);
        return EAGAIN;
    }
    *thread = handle(t);  // before it runs, as glibc does: its start routine may read it there
    api::launch_thread(t->greenlet);
    return 0;
}

// Waits for a real thread without blocking the carrier: tryjoin, then a pause
// that grows to 50 ms (a real thread's end wakes no greenlet).
int join_real(pthread_t t, void** result, Deadline deadline) {
    for (double pause = 0.001;; pause = std::min(pause * 2, 0.05)) {
        const int r = real::pthread_tryjoin_np(t, result);
        if (r != EBUSY) return r;
        if (deadline.passed()) return ETIMEDOUT;
        api::park(&t, [](void*) { return true; }, nullptr, nullptr, earliest(deadline, Deadline::after(pause)),
                  "pthread_join of a real thread", true);
    }
}

int join(GreenThread* t, void** result, Deadline deadline, bool try_only) {
    if (t == current()) return EDEADLK;
    std::uint32_t life = t->life.load(std::memory_order_acquire);
    do {
        if (life & (kDetached | kJoining)) return EINVAL;
    } while (!t->life.compare_exchange_weak(life, life | kJoining, std::memory_order_acq_rel));
    while (!(t->life.load(std::memory_order_acquire) & kExited)) {
        api::ParkResult r = api::ParkResult::invalid;
        if (!try_only) {
            try {
                r = api::park(
                    &t->life,
                    [](void* c) {
                        return !(static_cast<GreenThread*>(c)->life.load(std::memory_order_acquire) & kExited);
                    },
                    nullptr, t, deadline, "pthread_join", may_switch())
                        .result;
            } catch (...) {
                t->life.fetch_and(~kJoining, std::memory_order_acq_rel);
                throw;  // a cancellation: pthread_join is a cancellation point
            }
        }
        if (try_only || r == api::ParkResult::timed_out) {
            t->life.fetch_and(~kJoining, std::memory_order_acq_rel);
            return try_only ? EBUSY : ETIMEDOUT;
        }
    }
    if (result) *result = t->result;
    free_record(t);
    return 0;
}

// pthread_join and its timed forms, for either kind of thread; a cancellation
// point.
int join_any(pthread_t thread, void** result, Deadline deadline, bool try_only) {
    GreenThread* self = enabled() ? current() : nullptr;
    if (self) act_on_cancel(*self);
    GreenThread* t = green_thread(thread);
    if (!t && (!self || self->main) && pthread_equal(thread, real::pthread_self())) return EDEADLK;
    int r = 0;
    bool canceled = false;
    if (self) ++self->greenlet->cancel_point;
    try {
        if (t)
            r = join(t, result, deadline, try_only);
        else
            r = join_real(thread, result, deadline);
    } catch (const api::ThreadCancel&) {
        canceled = true;
    }
    if (self) --self->greenlet->cancel_point;
    if (canceled || self) act_on_cancel(*self);
    return r;
}

int c11_status(int error) noexcept {
    switch (error) {
    case 0: return thrd_success;
    case ENOMEM: return thrd_nomem;
    case EBUSY: return thrd_busy;
    case ETIMEDOUT: return thrd_timedout;
    default: return thrd_error;
    }
}

struct C11Start {
    thrd_start_t start;
    void* arg;
};

void* c11_trampoline(void* p) {
    const C11Start s = *static_cast<C11Start*>(p);
    delete static_cast<C11Start*>(p);
    return reinterpret_cast<void*>(static_cast<std::intptr_t>(s.start(s.arg)));
}

}  // namespace

std::string_view library_of(const void* address) noexcept {
    Dl_info info{};
    if (!dladdr(address, &info) || !info.dli_fname) return {};
    std::string_view path(info.dli_fname);
    const std::size_t slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool in_sanitizer_runtime(std::string_view library) noexcept {
    for (std::string_view runtime : {"libasan.so", "libubsan.so", "liblsan.so", "libtsan.so", "libhwasan.so"})
        if (library.substr(0, runtime.size()) == runtime) return true;
    return false;
}

GreenThread* os_thread_record() noexcept {
    if (!enabled()) return nullptr;
    GreenletCore* g = api::running_greenlet();
    if (!g || g != api::main_greenlet()) return nullptr;
    if (g->thread) return static_cast<GreenThread*>(g->thread);
    auto* t = new (std::nothrow) GreenThread;
    if (!t) return nullptr;
    t->main = true;
    t->id = self_id();  // what this thread's mutexes were locked with before
    t->greenlet = g;
    t->carrier = real::pthread_self();
    real::pthread_sigmask(SIG_SETMASK, nullptr, &t->sigmask);
    prctl(PR_GET_NAME, t->name, 0, 0, 0);
    for (OsThread& slot : os_threads) {
        pthread_t none = 0;
        if (slot.handle.compare_exchange_strong(none, t->carrier)) {
            slot.record.store(t, std::memory_order_release);
            break;
        }
    }
    g->thread = t;
    add_mask(*t);
    return t;
}

GreenThread* record_of(pthread_t t) noexcept {
    if (GreenThread* g = green_thread(t)) return g;
    for (OsThread& slot : os_threads)
        if (slot.handle.load(std::memory_order_relaxed) == t) return slot.record.load(std::memory_order_acquire);
    return nullptr;
}

}  // namespace shim::threads

using namespace shim::threads;

GREEN_HOOK int pthread_create(pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*), void* arg) {
    if (!makes_green_thread(__builtin_return_address(0), reinterpret_cast<const void*>(start)))
        return shim::real::pthread_create(thread, attr, start, arg);
    return create_green(thread, attr, start, arg);
}

GREEN_HOOK int pthread_join(pthread_t thread, void** result) {
    if (!enabled()) return shim::real::pthread_join(thread, result);
    if (!green_thread(thread) && !may_switch()) return shim::real::pthread_join(thread, result);
    return join_any(thread, result, Deadline(), false);
}

GREEN_HOOK int pthread_tryjoin_np(pthread_t thread, void** result) {
    if (!enabled() || !green_thread(thread)) return shim::real::pthread_tryjoin_np(thread, result);
    return join(green_thread(thread), result, Deadline(), true);
}

GREEN_HOOK int pthread_clockjoin_np(pthread_t thread, void** result, clockid_t clock, const timespec* abstime) {
    if (!enabled() || (!green_thread(thread) && !may_switch()))
        return shim::real::pthread_clockjoin_np(thread, result, clock, abstime);
    Deadline deadline;
    if (!to_deadline(clock, abstime, deadline)) return EINVAL;
    return join_any(thread, result, deadline, false);
}

GREEN_HOOK int pthread_timedjoin_np(pthread_t thread, void** result, const timespec* abstime) {
    if (!enabled() || (!green_thread(thread) && !may_switch()))
        return shim::real::pthread_timedjoin_np(thread, result, abstime);
    return pthread_clockjoin_np(thread, result, CLOCK_REALTIME, abstime);
}

GREEN_HOOK int pthread_detach(pthread_t thread) noexcept {
    GreenThread* t = enabled() ? green_thread(thread) : nullptr;
    if (!t) return shim::real::pthread_detach(thread);
    std::uint32_t life = t->life.load(std::memory_order_acquire);
    do {
        if (life & (kDetached | kJoining)) return EINVAL;
    } while (!t->life.compare_exchange_weak(life, life | kDetached, std::memory_order_acq_rel));
    if (life & kExited) free_record(t);
    return 0;
}

GREEN_HOOK void pthread_exit(void* result) {
    GreenThread* t = enabled() ? current() : nullptr;
    if (!t && enabled() && initial_thread() && api::main_greenlet()) t = os_thread_record();
    if (t) exit_thread(*t, result);
    shim::real::pthread_exit(result);
    __builtin_unreachable();
}

GREEN_HOOK pthread_t pthread_self() noexcept {
    GreenThread* t = enabled() ? current() : nullptr;
    return t && !t->main ? handle(t) : shim::real::pthread_self();
}

GREEN_HOOK int pthread_getattr_np(pthread_t thread, pthread_attr_t* attr) noexcept {
    GreenThread* t = enabled() ? green_thread(thread) : nullptr;
    if (!t) return shim::real::pthread_getattr_np(thread, attr);
    int r = pthread_attr_init(attr);
    if (r != 0) return r;
    pthread_attr_setdetachstate(attr, (t->life.load() & kDetached) ? PTHREAD_CREATE_DETACHED : PTHREAD_CREATE_JOINABLE);
    pthread_attr_setstack(attr, t->stack_lo, t->stack_size);
    pthread_attr_setguardsize(attr, t->guard_size);
    return 0;
}

GREEN_HOOK int pthread_setname_np(pthread_t thread, const char* name) noexcept {
    GreenThread* t = enabled() ? green_thread(thread) : nullptr;
    if (!t) {
        const int r = shim::real::pthread_setname_np(thread, name);
        GreenThread* own = enabled() ? record_of(thread) : nullptr;  // an OS thread's record keeps its name
        if (r == 0 && own) std::snprintf(own->name, sizeof own->name, "%s", name);
        return r;
    }
    const std::size_t n = std::strlen(name);
    if (n >= sizeof t->name) return ERANGE;
    std::memcpy(t->name, name, n + 1);
    const GreenletPin g(*t);
    if (!g) return 0;  // ended
    try {
        api::set_greenlet_name(*g, name);
    } catch (...) {  // the name is only for reports
    }
    return 0;
}

GREEN_HOOK int pthread_getname_np(pthread_t thread, char* buf, size_t len) noexcept {
    GreenThread* t = enabled() ? green_thread(thread) : nullptr;
    if (!t) return shim::real::pthread_getname_np(thread, buf, len);
    const std::size_t n = std::strlen(t->name);
    if (len < n + 1) return ERANGE;
    std::memcpy(buf, t->name, n + 1);
    return 0;
}

// A green thread's CPU time is its carrier's (the kernel counts OS threads).
GREEN_HOOK int pthread_getcpuclockid(pthread_t thread, clockid_t* clock) noexcept {
    GreenThread* t = enabled() ? green_thread(thread) : nullptr;
    return shim::real::pthread_getcpuclockid(t ? t->carrier : thread, clock);
}

// A signal for a green thread is raised on its carrier while that green thread
// runs, so its handler runs there, as in the thread pthread_kill named.
GREEN_HOOK int pthread_kill(pthread_t thread, int sig) noexcept {
    GreenThread* t = enabled() ? green_thread(thread) : nullptr;
    if (!t) return shim::real::pthread_kill(thread, sig);
    if (sig < 0 || sig >= NSIG) return EINVAL;
    if (t == current()) return sig == 0 ? 0 : shim::real::pthread_kill(shim::real::pthread_self(), sig);
    const GreenletPin g(*t);
    if (sig == 0 || !g) return 0;  // glibc 2.34+: an ended thread is no error
    return send_signal(*t, *g, sig);
}

GREEN_HOOK int pthread_sigqueue(pthread_t thread, int sig, const union sigval value) noexcept {
    GreenThread* t = enabled() ? green_thread(thread) : nullptr;
    if (t && !GreenletPin(*t)) return ESRCH;  // ended, as glibc says for a thread without a TID
    return shim::real::pthread_sigqueue(t ? t->carrier : thread, sig, value);
}

namespace {
// On the carrier of the green thread `g`, as a cancellation sent to it arrives.
bool cancel_wanted(GreenletCore& g) {
    const auto* t = static_cast<const GreenThread*>(g.thread);
    return t && t->cancel_enabled && !t->canceling;
}
}  // namespace

GREEN_HOOK int pthread_cancel(pthread_t thread) {
    GreenThread* t = enabled() ? record_of(thread) : nullptr;
    if (!t) return shim::real::pthread_cancel(thread);
    {
        const GreenletPin g(*t);  // let go before acting: that unwinds this frame
        if (!g) return 0;  // ended: glibc 2.34+ says no error
        static std::atomic<bool> filter_set{false};
        if (!filter_set.exchange(true)) api::set_cancel_filter(cancel_wanted);
        t->cancel_requested = true;
        api::request_cancel(*g);  // acted on where cancel_wanted says so, on its carrier
    }
    if (t == current() && t->cancel_async) act_on_cancel(*t);
    return 0;
}

GREEN_HOOK void pthread_testcancel() {
    GreenThread* t = enabled() ? current() : nullptr;
    if (!t) return shim::real::pthread_testcancel();
    act_on_cancel(*t);
}

GREEN_HOOK int pthread_setcancelstate(int state, int* old) {
    GreenThread* t = enabled() ? current() : nullptr;
    if (!t) return shim::real::pthread_setcancelstate(state, old);
    if (state != PTHREAD_CANCEL_ENABLE && state != PTHREAD_CANCEL_DISABLE) return EINVAL;
    if (old) *old = t->cancel_enabled ? PTHREAD_CANCEL_ENABLE : PTHREAD_CANCEL_DISABLE;
    t->cancel_enabled = state == PTHREAD_CANCEL_ENABLE;
    if (!t->cancel_enabled)
        api::clear_cancel(*t->greenlet);
    else if (t->cancel_requested)
        api::request_cancel(*t->greenlet);
    return 0;
}

GREEN_HOOK int pthread_setcanceltype(int type, int* old) {
    GreenThread* t = enabled() ? current() : nullptr;
    if (!t) return shim::real::pthread_setcanceltype(type, old);
    if (type != PTHREAD_CANCEL_DEFERRED && type != PTHREAD_CANCEL_ASYNCHRONOUS) return EINVAL;
    if (old) *old = t->cancel_async ? PTHREAD_CANCEL_ASYNCHRONOUS : PTHREAD_CANCEL_DEFERRED;
    t->cancel_async = type == PTHREAD_CANCEL_ASYNCHRONOUS;
    static std::atomic<bool> warned{false};
    if (t->cancel_async && !warned.exchange(true) && shim::state::log_level >= 1)
        std::fprintf(stderr, "green: asynchronous cancellation acts at cancellation points under thread patching\n");
    return 0;
}

GREEN_HOOK int pthread_getschedparam(pthread_t thread, int* policy, sched_param* param) noexcept {
    GreenThread* t = enabled() ? green_thread(thread) : nullptr;
    if (!t) return shim::real::pthread_getschedparam(thread, policy, param);
    *policy = t->sched_policy;
    param->sched_priority = t->sched_priority;
    return 0;
}

GREEN_HOOK int pthread_setschedparam(pthread_t thread, int policy, const sched_param* param) noexcept {
    GreenThread* t = enabled() ? green_thread(thread) : nullptr;
    if (!t) return shim::real::pthread_setschedparam(thread, policy, param);
    t->sched_policy = policy;
    t->sched_priority = param->sched_priority;
    return 0;
}

GREEN_HOOK int pthread_setschedprio(pthread_t thread, int priority) noexcept {
    GreenThread* t = enabled() ? green_thread(thread) : nullptr;
    if (!t) return shim::real::pthread_setschedprio(thread, priority);
    t->sched_priority = priority;
    return 0;
}

GREEN_HOOK int pthread_getaffinity_np(pthread_t thread, size_t size, cpu_set_t* set) noexcept {
    GreenThread* t = enabled() ? green_thread(thread) : nullptr;
    return shim::real::pthread_getaffinity_np(t ? t->carrier : thread, size, set);
}

// A green thread runs where its carrier runs; the request is accepted and kept by the carrier's affinity.
GREEN_HOOK int pthread_setaffinity_np(pthread_t thread, size_t size, const cpu_set_t* set) noexcept {
    GreenThread* t = enabled() ? green_thread(thread) : nullptr;
    if (!t) return shim::real::pthread_setaffinity_np(thread, size, set);
    return 0;
}

GREEN_HOOK int sched_yield() noexcept {
    if (!shim::may_park()) return shim::real::sched_yield();
    try {
        api::yield();
    } catch (...) {
        shim::at_boundary(std::current_exception());
    }
    return 0;
}

// pthread.h redirects this name to sched_yield; older binaries still reference it.
GREEN_HOOK int yield_alias() noexcept __asm__("pthread_yield");
GREEN_HOOK int yield_alias() noexcept { return sched_yield(); }

// ---- C11 threads ----------------------------------------------------------------

GREEN_HOOK int thrd_create(thrd_t* thread, thrd_start_t start, void* arg) {
    if (!makes_green_thread(__builtin_return_address(0), reinterpret_cast<const void*>(start)))
        return shim::real::thrd_create(thread, start, arg);
    auto* s = new (std::nothrow) C11Start{start, arg};
    if (!s) return thrd_nomem;
    pthread_t t{};
    const int r = create_green(&t, nullptr, c11_trampoline, s);
    if (r != 0) {
        delete s;
        return c11_status(r);
    }
    *thread = t;
    return thrd_success;
}

GREEN_HOOK int thrd_join(thrd_t thread, int* result) {
    if (!enabled() || !green_thread(thread)) return shim::real::thrd_join(thread, result);
    void* value = nullptr;
    const int r = join_any(thread, &value, Deadline(), false);
    if (r == 0 && result) *result = static_cast<int>(reinterpret_cast<std::intptr_t>(value));
    return c11_status(r);
}

GREEN_HOOK int thrd_detach(thrd_t thread) {
    if (!enabled() || !green_thread(thread)) return shim::real::thrd_detach(thread);
    return c11_status(pthread_detach(thread));
}

GREEN_HOOK void thrd_exit(int result) {
    pthread_exit(reinterpret_cast<void*>(static_cast<std::intptr_t>(result)));
    __builtin_unreachable();
}

GREEN_HOOK thrd_t thrd_current() { return pthread_self(); }

// glibc's thrd_sleep calls its internal clock_nanosleep, out of the hooks' reach.
GREEN_HOOK int thrd_sleep(const timespec* duration, timespec* remaining) {
    if (!enabled()) return shim::real::thrd_sleep(duration, remaining);
    const int saved = errno;
    const int r = ::nanosleep(duration, remaining);
    const int error = errno;
    errno = saved;
    return r == 0 ? 0 : error == EINTR ? -1 : -2;
}

GREEN_HOOK void thrd_yield() { sched_yield(); }
