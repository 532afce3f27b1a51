#include "core/hub.hpp"

#include <netdb.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>

#include <cstdio>
#include <mutex>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <utility>

#include "core/carriers.hpp"
#include "core/context.hpp"
#include "core/park.hpp"
#include "core/greenlet_parts.hpp"
#include "core/hub_registry.hpp"
#include "base/sys.hpp"
#include "bridge/shim_api.hpp"
#include "core/interrupt.hpp"
#include "core/runtime_fds.hpp"
#include "diag/monitor.hpp"
#include "diag/overflow.hpp"
#include "diag/report.hpp"
#include "green/errors.hpp"

// glibc's uselocale (__uselocale, which the shim does not interpose), under a
// name of its own: libstdc++ declares __uselocale with locale_t, clang refuses a
// second declaration with void*.
extern "C" void* glibc_uselocale(void*) noexcept __asm__("__uselocale");

namespace green::detail {

constinit thread_local Hub* tls_hub [[gnu::tls_model("initial-exec")]] = nullptr;

namespace {

// Deletes the thread's hub when the thread ends. It is the thread's hub while
// it tears down, but no longer while its memory is freed: the shim's hooks ask
// for the thread's hub, and a sanitizer's allocator calls one of them
// (pthread_getspecific) inside operator delete.
struct HubOwner {
    Hub* hub = nullptr;
    ~HubOwner() {
        if (!hub) return;
        if (hub->outlives_thread()) {
            unmonitor_hub(*hub);
            return;
        }
        static_assert(alignof(Hub) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__, "freed with the plain operator delete");
        hub->~Hub();
        tls_hub = nullptr;
        ::operator delete(hub);
    }
};
thread_local HubOwner tls_hub_owner;

// The thread's own context: it was running before the hub existed.
struct ThreadGreenlet final : GreenletCore {
    void run() override {}
    void drop_body() noexcept override {}
};

constexpr std::size_t kHubStack = 256 * 1024;

[[noreturn]] void fail_transition(const char* what) {
    std::fprintf(stderr, "green: internal error: %s\n", what);
    std::abort();
}

[[maybe_unused, noreturn, gnu::cold, gnu::noinline]] void fail_wake(const GreenletCore& g) noexcept {
    ReportLine line;
    line << "green: internal error: greenlet " << g << " was woken while " << state_name(g.state)
         << " (only a waiting or ready greenlet can be)\n";
    line.write();
    std::abort();
}

void on_park_deadline(void* g) { static_cast<GreenletCore*>(g)->hub->wake(*static_cast<GreenletCore*>(g), WakeReason::deadline); }

std::atomic<void (*)()> deadlock_handler{nullptr};

Stack stack_of(const FiberContext& c) noexcept {
    return Stack{c.stack_lo, c.stack_size, static_cast<StackKind>(c.stack_kind), c.stack_guard};
}

void set_stack(FiberContext& c, const Stack& s) noexcept {
    c.stack_lo = s.lo;
    c.stack_size = s.size;
    c.stack_kind = s.kind;
    c.stack_guard = s.guard;
}

}  // namespace

void Hub::throw_blocking_in_hub(const char* what) {
    throw std::logic_error(std::string("green: ") + what + " would block the hub; rawlink and loop callbacks must not block");
}

void Hub::throw_pending_if_due(GreenletCore& g) {
    // Not while `g` is already unwinding (a destructor that blocks), where a
    // throw would call std::terminate: the interruption then waits for the next
    // suspension point.
    if (std::uncaught_exceptions() == 0) throw_pending(g);
}

void Hub::set_deadlock_handler(void (*handler)()) noexcept { deadlock_handler.store(handler); }

// Defined by the preload stub (shim/stub) when greenrun runs the program: it
// loads the shim's hooks at the first need, and a hub is one.
extern "C" [[gnu::weak, gnu::visibility("default")]] void green_preload_activate() noexcept;

Hub& Hub::create_for_thread() {
    if (green_preload_activate) green_preload_activate();
    auto* h = new Hub;
    tls_hub = h;
    tls_hub_owner.hub = h;
    return *h;
}

Hub::Hub() : errno_slot_(&errno), h_errno_slot_(&h_errno), exception_globals_(this_thread_exception_globals()) {
    os_thread_ = pthread_self();
    static std::once_flag atfork;
    std::call_once(atfork, [] {
        pthread_atfork(nullptr, nullptr, [] {
            if (tls_hub) tls_hub->after_fork();
            registry_after_fork(tls_hub);
            carriers::after_fork();
            monitor_after_fork();
        });
    });
    main_ = new ThreadGreenlet;
    main_->hub = this;
    main_->state = State::running;
    main_->name = "main";
    main_->ctx.owner = main_;
    running_ = main_;
    all_.push_back(*main_);
    async_start(loop_, signal_wakeup_, [](void* hub) {
        static_cast<Hub*>(hub)->interruptible_.wake_all(WakeReason::woken);
    }, this);
    async_start(loop_, remote_wakeup_, [](void* hub) { static_cast<Hub*>(hub)->drain_remote_work(); }, this);
    install_overflow_handler();
    register_hub(*this);
    monitor_hub(*this);
}

namespace {
std::atomic<std::size_t> green_threads_everywhere{0};
}  // namespace

void Hub::add_green_thread() noexcept {
    monitor_green_thread_started();
    green_threads_.fetch_add(1, std::memory_order_relaxed);
    green_threads_everywhere.fetch_add(1, std::memory_order_relaxed);
}

std::size_t Hub::remove_green_thread() noexcept {
    green_threads_.fetch_sub(1, std::memory_order_relaxed);
    return green_threads_everywhere.fetch_sub(1, std::memory_order_acq_rel) - 1;
}

bool Hub::outlives_thread() const noexcept { return running_ != main_ || lot_waiters_ != 0 || carrier_; }

Hub::~Hub() {
    unregister_hub(*this);  // nothing is posted here from now on; what was, is dropped
    while (posting_.load(std::memory_order_acquire) != 0) sys::yield();  // a sender still sending the wake-up
    for (RemoteWork* w = remote_work_.exchange(nullptr, std::memory_order_acquire); w;) {
        RemoteWork* next = w->next;
        if (w->drop) w->drop(*w);
        w = next;
    }
    unmonitor_hub(*this);
    if (inbox_) inbox_->close();
    async_stop(loop_, inbox_wakeup_);
    async_stop(loop_, signal_wakeup_);
    async_stop(loop_, remote_wakeup_);
    dns_.reset();
    destroy_locals(*main_);
    remove_overflow_altstack();
    discard_context(hub_ctx_);
    if (hub_stack_.lo) release_stack(hub_stack_);
    reap();
    // Greenlets still parked are abandoned, as gevent abandons them at exit; their
    // stacks go with the pool.
    all_.erase(*main_);
    // Nothing runs on this hub any more: code called while main_ is freed (a
    // sanitizer's allocator asking pthread_getspecific, which the shim hooks)
    // must not find main_ as the running greenlet.
    running_ = nullptr;
    release(main_);
}

void Hub::swap_libc_state(FiberContext& from, const FiberContext& to) noexcept {
    from.saved_errno = *errno_slot_;
    from.saved_h_errno = *h_errno_slot_;
    *errno_slot_ = to.saved_errno;
    *h_errno_slot_ = to.saved_h_errno;
    if (keep_locale_) {
        from.locale = glibc_uselocale(nullptr);
        if (to.locale != from.locale) glibc_uselocale(to.locale);
    }
}

void Hub::keep_locale_per_fiber() noexcept {
    if (keep_locale_) return;
    // Until now every fiber of this thread used the thread's locale.
    void* const current = glibc_uselocale(nullptr);
    hub_ctx_.locale = current;
    all_.for_each([&](GreenletCore& g) { g.ctx.locale = current; });
    keep_locale_ = true;
}

void Hub::start(GreenletCore& g, std::size_t stack_size) { adopt(g, allocate_stack(stack_size, page_size())); }

Stack Hub::allocate_stack_locked(std::size_t size, std::size_t guard) {
    RuntimeScope ours;  // nothing in here may park on the shim's futex while the lock is held
    RawLockGuard lock(stacks_lock_);
    return stacks_.allocate(size, guard);
}

void Hub::release_stack_locked(const Stack& s) noexcept {
    RuntimeScope ours;
    RawLockGuard lock(stacks_lock_);
    stacks_.release(s);
}

Stack Hub::thread_stack(const ThreadStackSpec& spec) {
    return spec.caller_lo ? Stack{spec.caller_lo, spec.size, stack_thread} : allocate_stack(spec.size, spec.guard);
}

void Hub::start_thread(GreenletCore& g, const Stack& stack) noexcept {
    adopt(g, stack);
    if (!keep_libc_state_) {
        // From now on errno & co. are per fiber; until now all shared the thread's.
        hub_ctx_.saved_errno = 0;
        keep_libc_state_ = true;
    }
}

void Hub::adopt(GreenletCore& g, const Stack& stack) noexcept {
    set_stack(g.ctx, stack);
    g.hub = this;
    g.id = next_id_++;
    g.ctx.entry = greenlet_entry;
    g.ctx.owner = &g;
    make_context(g.ctx);
    retain(&g);  // the greenlet's own reference, dropped when its stack is reaped
    g.state = State::unstarted;
    all_.push_back(g);
    live_.store(live_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// A new greenlet goes behind the others directly: spawning is done in batches,
// where first_ would only cost every push a test.
void Hub::make_ready(GreenletCore& g) noexcept {
    ready_.push_back(g);
    ++ready_count_;
}

void Hub::make_hub_fiber() {
    making_hub_fiber_ = true;
    struct Made {
        bool& flag;
        ~Made() { flag = false; }
    } made{making_hub_fiber_};
    hub_stack_ = allocate_stack(kHubStack, page_size());
    set_stack(hub_ctx_, hub_stack_);
    hub_ctx_.entry = hub_entry;
    make_context(hub_ctx_);
}

void Hub::reap_zombie() noexcept {
    GreenletCore* z = std::exchange(zombie_, nullptr);
    release_stack(stack_of(z->ctx));
    z->left_stack();
    release(z);
}

WakeReason Hub::park(WaitList* list, double timeout, const char* what, const void* on, void* slot) {
    return park_inline(list, timeout, what, on, slot);
}

void Hub::park_timed(GreenletCore& self, double timeout) {
    WatcherSlot deadline;
    timer_start(loop_, deadline, timeout, on_park_deadline, &self);
    switch_out(self);
    if (timer_active(deadline)) timer_stop(loop_, deadline);
}

void Hub::wake_unparked(GreenletCore& g, WakeReason reason) noexcept {
    if (g.state == State::ready) {
        // Woken twice before it ran (its deadline, then a handoff): keep the stronger.
        if (reason > g.wake_reason) g.wake_reason = reason;
        return;
    }
    // Not started, running or dead: nothing may wake it, and a wake-up left
    // behind by a wait that has ended is a bug in the primitive. Except in a
    // forked child: the greenlets left behind in the parent are dead here,
    // yet still on the wait lists and timers they were parked on.
#ifndef NDEBUG
    if (!(forked_child_ && g.state == State::dead)) fail_wake(g);
#endif
}

void Hub::yield_now() {
    GreenletCore* self = running_;
    if (!self) [[unlikely]]
        throw_blocking_in_hub("yield()");
    if (self->pending) [[unlikely]]
        throw_pending_if_due(*self);
    if (ready_count_ == 0 && budget_ != 0) {  // nothing else is ready, and no poll is due
        --budget_;
        return;
    }
    self->state = State::ready;
    self->wake_reason = WakeReason::woken;
    push_ready(*self);
    switch_out(*self);
    if (self->pending) [[unlikely]]
        throw_pending_if_due(*self);
}

void Hub::take_turn() {
    GreenletCore* self = running_;
    // Only from a greenlet that runs plainly: not from the hub, not halfway into
    // a park (a hooked call libev or the allocator makes while a timer or a
    // watcher starts), not while the hub's own stack is being made.
    if (!self || self->state != State::running || making_hub_fiber_) return;
    if (!hub_ctx_.sp) make_hub_fiber();  // may throw, before anything changed
    turn_over_.store(false, std::memory_order_relaxed);
    self->state = State::ready;
    self->wake_reason = WakeReason::woken;
    push_ready(*self);
    behind_poll_ = self;  // moved behind what the poll wakes (Hub::run)
    budget_ = 0;  // straight to the hub, which polls before anything runs
    switch_out(*self);
}

void Hub::call_soon(std::function<void()> fn) { callbacks_.push_back(std::move(fn)); }

bool Inbox::post(std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!loop_) return false;
    posted_.push_back(std::move(fn));
    async_send(*loop_, *wakeup_);
    return true;
}

void Inbox::drain() {
    std::vector<std::function<void()>> batch;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        batch.swap(posted_);
    }
    for (auto& fn : batch) fn();
}

void Inbox::close() noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    loop_ = nullptr;
}

DnsChannel& Hub::dns() {
    if (!dns_) dns_ = std::make_unique<DnsChannel>(loop_);
    return *dns_;
}

namespace {

// Forgets, unmarks and closes a held descriptor (wait_held_fd).
void close_held(FdTable& fds, HeldFd& held) noexcept {
    List<HeldFd, HeldFdTag>::erase(held);
    fds.forget(held.fd);  // its waiter wakes with WakeReason::closed
    close_runtime_fd(held.fd);
}

}  // namespace

void Hub::give_up_descriptor(int fd, RuntimeFdKind kind) noexcept {
    switch (kind) {
    case RuntimeFdKind::epoll_set:
        if (loop_.may_poll_with(fd)) loop_.renew_descriptors();
        break;
    case RuntimeFdKind::eventfd:
        if (loop_.wakes_by(fd)) loop_.renew_descriptors();
        break;
    case RuntimeFdKind::socket:
        if (dns_) dns_->give_up_socket(fd);
        break;
    case RuntimeFdKind::held: {
        HeldFd* found = nullptr;
        held_fds_.for_each([&](HeldFd& h) {
            if (h.fd == fd) found = &h;
        });
        if (found) close_held(fds_, *found);
        break;
    }
    }
}

WakeReason Hub::wait_held_fd(int fd, double timeout, const char* what) {
    struct Held : HeldFd {
        FdTable& fds;
        Held(FdTable& table, int n) : fds(table) { fd = n; }
        ~Held() {
            if (linked()) close_held(fds, *this);
        }
    } held(fds_, fd);
    held_fds_.push_back(held);
    const FdTable::Interested readable{fd, Interest::read};
    return fds_.wait_many(&readable, 1, timeout, &interruptible_, what);
}

std::shared_ptr<Inbox> Hub::inbox() {
    if (!inbox_) {
        inbox_ = std::make_shared<Inbox>(&loop_, &inbox_wakeup_);
        async_start(loop_, inbox_wakeup_, [](void* inbox) { static_cast<Inbox*>(inbox)->drain(); }, inbox_.get());
    }
    return inbox_;
}

void Hub::post(RemoteWork& w) noexcept {
    posting_.fetch_add(1, std::memory_order_seq_cst);
    RemoteWork* head = remote_work_.load(std::memory_order_relaxed);
    do {
        w.next = head;
    } while (!remote_work_.compare_exchange_weak(head, &w, std::memory_order_release, std::memory_order_relaxed));
    async_send(loop_, remote_wakeup_);
    posting_.fetch_sub(1, std::memory_order_release);  // the last touch: the hub may be gone after it
}

void Hub::post_wake(RemoteWake& w) noexcept {
    w.run = [](Hub& hub, RemoteWork& work) {
        auto& wake = static_cast<RemoteWake&>(work);
        GreenletCore& g = *wake.greenlet;
        const WakeReason reason = wake.reason;
        wake.delivered = true;  // the sender's record may go once the greenlet runs
        hub.wake(g, reason);
    };
    post(w);
}

void Hub::drain_remote_work() noexcept {
    RemoteWork* w = remote_work_.exchange(nullptr, std::memory_order_acquire);
    RemoteWork* fifo = nullptr;  // the stack holds the newest first
    while (w) {
        RemoteWork* next = w->next;
        w->next = fifo;
        fifo = w;
        w = next;
    }
    while (fifo) {
        RemoteWork* next = fifo->next;  // read first: running it may free it
        fifo->run(*this, *fifo);
        fifo = next;
    }
}

void Hub::note_signal(bool restart) noexcept {
    signals_.fetch_add(1, std::memory_order_relaxed);
    if (!restart) interrupting_.fetch_add(1, std::memory_order_relaxed);
    async_send(loop_, signal_wakeup_);
}

void Hub::run_callbacks_now() {
    std::vector<std::function<void()>> batch;
    batch.swap(callbacks_);
    for (auto& fn : batch) {
        try {
            fn();
        } catch (...) {
            report_exception("a hub callback (rawlink)", std::current_exception());
        }
    }
}

void Hub::settle(GreenletCore& g) noexcept {
    g.state = State::dead;
    List<GreenletCore, AllTag>::erase(g);
    live_.store(live_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    g.exit_waiters.wake_all(WakeReason::woken);
    if (LinkCallbacks* links = g.links) {
        g.links = nullptr;
        for (auto& fn : links->callbacks) callbacks_.push_back(std::move(fn));
        delete links;
    }
}

void Hub::end_unstarted(GreenletCore& g, std::exception_ptr why, bool killed) noexcept {
    if (g.state != State::unstarted) fail_transition("end_unstarted on a started greenlet");
    if (g.start_timer) {
        timer_stop(loop_, *g.start_timer);
        delete g.start_timer;
        g.start_timer = nullptr;
    } else {
        remove_ready(g);
    }
    g.killed = killed;
    g.error = std::move(why);
    g.drop_body();
    settle(g);
    discard_context(g.ctx);
    release_stack(stack_of(g.ctx));
    release(&g);  // the reference start() took for the run
}

void Hub::greenlet_entry(FiberContext& ctx) {
    GreenletCore& g = *ctx.owner;
    Hub& hub = *g.hub;
    hub.reap();
    try {
        g.run();
    } catch (const GreenletExit&) {
        g.killed = true;
        g.error = std::current_exception();
    } catch (...) {
        g.error = std::current_exception();
        report_greenlet_failure(g);
    }
    hub.finish(g);
}

// Not instrumented by AddressSanitizer, which would unpoison the stack before
// the final exit_context (a no-return call) by the bounds it keeps for the
// thread its pthread key names; by then running_ names the next context, and
// under thread patching with ASan's pthread_create interceptor that can be
// another green thread's ASan thread, whose stack this is not (ASan then warns
// that it ignores the request). The stack was unpoisoned by the same handling
// before greenlet_entry called finish.
[[gnu::no_sanitize_address]] void Hub::finish(GreenletCore& g) noexcept {
    // User code that belongs to the greenlet (its callable's captures, its Local
    // values) is destroyed on its own stack, where it may still block.
    g.drop_body();
    destroy_locals(g);
    settle(g);
    check_stack(g);
    zombie_ = &g;  // the next context to run releases the stack we are standing on
    GreenletCore* next = nullptr;
    FiberContext* to = &hub_ctx_;
    if (ready_count_ != 0 && budget_ != 0) {
        --budget_;
        next = &pop_ready();
        next->state = State::running;
        to = &next->ctx;
    } else if (!hub_ctx_.sp) {
        try {
            make_hub_fiber();
        } catch (...) {
            fail_transition("no memory for the hub's stack");
        }
    }
    running_ = next;
    if (keep_libc_state_) swap_libc_state(g.ctx, *to);
    exit_context(g.ctx, *to, exception_globals_);
}

void Hub::hub_entry(FiberContext&) {
    tls_hub->run();
    __builtin_unreachable();
}

void Hub::after_fork() noexcept {
    forked_child_ = true;
    behind_poll_ = nullptr;
    turn_over_.store(false, std::memory_order_relaxed);
    loop_.after_fork();
    fds_.after_fork();
    dns_.reset();  // closes the child's copies of the resolver's sockets
    while (ready_count_ != 0) pop_ready();
    // Every other greenlet stays behind in the parent: here it ends as killed,
    // without running again (its stack is never resumed or unwound).
    std::vector<GreenletCore*> others;
    all_.for_each([&](GreenletCore& g) {
        if (&g != running_) others.push_back(&g);
    });
    live_.store(1, std::memory_order_relaxed);
    green_threads_.store(running_ && running_->thread ? 1 : 0, std::memory_order_relaxed);
    green_threads_everywhere.store(green_threads_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    stacks_lock_.reset();
    remote_work_.store(nullptr, std::memory_order_relaxed);  // their senders and waiters are gone
    lot_waiters_ = 0;
    for (GreenletCore* g : others) {
        List<GreenletCore, AllTag>::erase(*g);
        g->state = State::dead;
        g->killed = true;
        g->error = std::make_exception_ptr(GreenletExit{});
    }
}

bool Hub::others_may_wake() const noexcept {
    if (lot_waiters_ == 0 && !carrier_) return false;
    // Greenlets wait in the parking lot, or this hub is a carrier, to which any
    // thread may post a new greenlet (run_on) that wakes them: any other thread
    // of the program may still do so (the runtime's monitor thread never does).
    const long threads = sys::thread_count();
    return threads < 0 || threads - 1 - static_cast<long>(monitor_threads()) > 0;
}

void Hub::on_deadlock() noexcept {
    // Nothing is ready, nothing is armed: no greenlet of this thread can ever be
    // woken, unless another thread unparks one from the parking lot.
    const bool main_gone = forked_child_ && main_->state == State::dead;
    if (main_gone && green_threads_everywhere.load(std::memory_order_acquire) == 0) {
        // The forking greenlet was the child's only one and it has ended, as the
        // last thread of a process ends: the process exits.
        std::fflush(nullptr);
        _exit(0);
    }
    const bool others = others_may_wake();
    const auto handler = deadlock_handler.load();
    if (others || main_gone || handler) {
        // A deadlock of every thread (the shim's handler reports it) still waits
        // as the kernel would: a signal handler may end it.
        if (handler && !others && !main_gone) handler();
        // Sleep until an unpark arrives through remote_wakeup_, or a signal;
        // look again now and then, in case the other threads are gone.
        WatcherSlot recheck;
        timer_start(loop_, recheck, 1.0, [](void*) {}, nullptr);
        waiting_.store(true, std::memory_order_relaxed);  // idle, not busy, for the monitor
        loop_.run_once(true);
        waiting_.store(false, std::memory_order_relaxed);
        if (timer_active(recheck)) timer_stop(loop_, recheck);
        return;
    }
    // The thread's main greenlet is the one waiting; tell it.
    if (main_->state != State::parked) fail_transition("idle hub while the main greenlet is not parked");
    post_loop_exit(*main_);
    wake(*main_, WakeReason::woken);
}

void Hub::run() {
    for (;;) {
        reap();
        loop_rounds_.store(loop_rounds_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        const bool idle = ready_count_ == 0 && callbacks_.empty();
        fds_.stop_unwatched();  // before the poll, and before it says whether anything is alive
        waiting_.store(idle, std::memory_order_relaxed);
        const bool alive = loop_.run_once(idle);
        waiting_.store(false, std::memory_order_relaxed);
        run_callbacks();
        if (GreenletCore* g = behind_poll_) [[unlikely]] {
            behind_poll_ = nullptr;
            remove_ready(*g);
            push_ready(*g);
        }
        if (ready_count_ == 0 && callbacks_.empty() && !alive) on_deadlock();
        if (ready_count_ != 0) {
            budget_ = ready_count_ > kMinBatch ? ready_count_ : kMinBatch;
            GreenletCore& next = pop_ready();
            switch_to(hub_ctx_, &next);
        }
    }
}

// Entry points used by the public headers.

GreenletCore& current() {
    GreenletCore* g = Hub::current().running();
    if (!g) [[unlikely]]
        throw std::logic_error("green: no current greenlet in the hub; rawlink and loop callbacks run outside any greenlet");
    return *g;
}

WakeReason park(double timeout, const char* what, const void* on) {
    return Hub::current().park(nullptr, timeout, what, on);
}

WakeReason wait_on(WaitList& list, double timeout, const char* what, const void* on, void* slot) {
    return Hub::current().park(&list, timeout, what, on, slot);
}

void fail_foreign_wake() noexcept {
    std::fprintf(stderr,
                 "green: a greenlet of another thread was woken; green primitives belong to one thread "
                 "(use run_in_thread or ThreadPool to cross threads)\n");
    std::abort();
}

void wake(GreenletCore& g, WakeReason reason) noexcept { wake_here(g, reason); }

void wake_all_here_slowly(WaitList& list, WakeReason reason) noexcept {
    while (!list.empty()) deliver_here(list.pop_front(), reason);
}

}  // namespace green::detail
