#include "core/stack.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "base/env.hpp"
#include "base/sys.hpp"
#include "core/runtime_fds.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#endif

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define GREEN_VALGRIND_REGISTER(lo, hi) VALGRIND_STACK_REGISTER(lo, hi)
#else
#define GREEN_VALGRIND_REGISTER(lo, hi) 0
#endif

namespace green::detail {
namespace {

constexpr std::size_t kMinStack = 16 * 1024;
constexpr std::size_t kMaxStack = std::size_t{1} << 30;
constexpr std::size_t kSlabStacks = 64;

#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t kDefaultStack = 512 * 1024;
#else
constexpr std::size_t kDefaultStack = 128 * 1024;
#endif

std::size_t round_to_pages(std::size_t n) noexcept {
    const std::size_t p = page_size();
    return (n + p - 1) / p * p;
}

// Guarded stacks in the whole process, and how many may exist.
std::atomic<long> guarded_in_use{0};

long guard_budget() noexcept {
    static const long budget = [] {
        long max_maps = 65530;
        const TransientFds opening;  // the sysctl's file, at the lowest free number meanwhile
        if (FILE* f = std::fopen("/proc/sys/vm/max_map_count", "re")) {
            if (std::fscanf(f, "%ld", &max_maps) != 1) max_maps = 65530;
            std::fclose(f);
        }
        // Each guarded stack costs two mappings: more could never be made.
        return env_long("GREEN_GUARDED_STACKS", 0, max_maps / 2).value_or(max_maps / 4);
    }();
    return budget;
}

bool take_guard() noexcept {
    if (guarded_in_use.fetch_add(1, std::memory_order_relaxed) < guard_budget()) return true;
    guarded_in_use.fetch_sub(1, std::memory_order_relaxed);
    return false;
}

[[noreturn]] void throw_no_memory(const char* what) { throw_errno(errno, what); }

void register_with_valgrind(const Stack& s) noexcept {
    (void)GREEN_VALGRIND_REGISTER(s.lo, static_cast<char*>(s.lo) + s.size);
}

// LeakSanitizer scans thread stacks but not ours: a stack in use is a root
// region, so what a parked greenlet references is not reported as leaked. A
// pooled stack is not, so its stale contents cannot hide a real leak.
const Stack& in_use(const Stack& s) noexcept {
#if defined(__SANITIZE_ADDRESS__)
    __lsan_register_root_region(s.lo, s.size);
#endif
    return s;
}

#if defined(__SANITIZE_ADDRESS__)
// The lowest page of `s` a greenlet ever touched (its top if none): every
// instrumented frame has its header written at its lowest address, so the
// shadow below that page (and the page below it, for a leaf's untouched
// alloca) was never poisoned. Asked with mincore, not remembered: a stack
// does not know how deep its greenlets went.
char* lowest_touched(const Stack& s) noexcept {
    const std::size_t page = page_size();
    char* const hi = static_cast<char*>(s.lo) + s.size;
    unsigned char resident[1024];
    for (char* p = static_cast<char*>(s.lo); p < hi;) {
        const std::size_t pages = std::min(sizeof resident, static_cast<std::size_t>(hi - p) / page);
        if (mincore(p, pages * page, resident) != 0) return static_cast<char*>(s.lo);
        for (std::size_t i = 0; i < pages; ++i)
            if (resident[i] & 1) return p + i * page;
        p += pages * page;
    }
    return hi;
}
#endif

// A greenlet's last switch never returns through its frames, so the redzones
// AddressSanitizer poisoned for them would still be poisoned for the next user.
// Only the part the greenlets reached is unpoisoned: the shadow of a whole
// 8 MiB green thread stack is 1 MiB of memset, page faults included, and a
// few hundred ending green threads kept their hub busy for 200 ms and more.
void not_in_use(const Stack& s) noexcept {
#if defined(__SANITIZE_ADDRESS__)
    __lsan_unregister_root_region(s.lo, s.size);
    char* lo = lowest_touched(s);
    lo = lo == s.lo ? lo : lo - page_size();
    __asan_unpoison_memory_region(lo, static_cast<std::size_t>(static_cast<char*>(s.lo) + s.size - lo));
#else
    (void)s;
#endif
}

// Room for `needed` entries, doubling: release() pushes without allocating.
void make_room(std::vector<Stack>& list, std::size_t needed) {
    if (list.capacity() < needed) list.reserve(std::max(needed, 2 * list.capacity()));
}

}  // namespace

std::size_t page_size() noexcept {
    static const std::size_t size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    return size;
}

namespace {

// Out of line: inlined into checked_stack_size, its strings would give every
// spawn a stack frame to set up.
[[noreturn, gnu::cold, gnu::noinline]] void throw_bad_stack_size(std::size_t requested) {
    throw std::invalid_argument("green: stack size " + std::to_string(requested) + " is outside 16 KiB .. 1 GiB");
}

}  // namespace

// Out of line for the same reason (a spawn without a stack size tail-calls it).
[[gnu::noinline]] std::size_t default_stack_size() noexcept {
    static const std::size_t size = [] {
        const auto v = env_size("GREEN_STACK_SIZE", kMinStack, kMaxStack);
        return v ? round_to_pages(*v) : kDefaultStack;
    }();
    return size;
}

std::size_t checked_stack_size(std::size_t requested) {
    if (requested == 0) return default_stack_size();
    if (requested < kMinStack || requested > kMaxStack) throw_bad_stack_size(requested);
    return round_to_pages(requested);
}

StackPool::SizeClass& StackPool::size_class(std::size_t size, std::size_t guard) {
    for (auto& c : classes_)
        if (c.size == size && c.guard == guard) return c;
    SizeClass c{size, guard, {}, {}, {}};
    c.hot.reserve(kHotStacks);  // once: release() then pushes there without allocating
    classes_.push_back(std::move(c));
    return classes_.back();
}

Stack StackPool::allocate(std::size_t size, std::size_t guard) {
    SizeClass& c = size_class(size, guard);
    if (!c.hot.empty()) {
        Stack s = c.hot.back();
        c.hot.pop_back();
        return in_use(s);
    }
    if (guard != 0 && take_guard()) {
        void* p = mmap(nullptr, size + guard, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
        if (p == MAP_FAILED) {
            guarded_in_use.fetch_sub(1, std::memory_order_relaxed);
            throw_no_memory("green: mmap of a greenlet stack");
        }
        if (mprotect(p, guard, PROT_NONE) != 0) {
            munmap(p, size + guard);
            guarded_in_use.fetch_sub(1, std::memory_order_relaxed);
            throw_no_memory("green: mprotect of a stack guard page");
        }
        // A transparent huge page would make the first touched page of a large
        // stack (a green thread's 8 MiB) cost 2 MiB.
        if (size >= (std::size_t{2} << 20)) madvise(p, size + guard, MADV_NOHUGEPAGE);
        Stack s{static_cast<char*>(p) + guard, size, stack_guarded, guard};
        register_with_valgrind(s);
        return in_use(s);
    }
    if (!c.cold.empty()) {  // unguarded
        Stack s = c.cold.back();
        c.cold.pop_back();
        return in_use(s);
    }
    // A new unguarded stack: room for it in the cold list first (this may throw; release may not).
    make_room(c.cold, c.carved + 1);
    if (c.slab_cursor == c.slab_end) {
        const std::size_t bytes = size * kSlabStacks;
        void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
        if (p == MAP_FAILED) throw_no_memory("green: mmap of a greenlet stack slab");
        // A transparent huge page would make each touched stack page cost 2 MiB.
        madvise(p, bytes, MADV_NOHUGEPAGE);
        c.slabs.push_back(p);
        c.slab_cursor = static_cast<char*>(p);
        c.slab_end = c.slab_cursor + bytes;
    }
    Stack s{c.slab_cursor, size, stack_unguarded, guard};  // `guard` names the class it returns to
    c.slab_cursor += size;
    ++c.carved;
    register_with_valgrind(s);
    return in_use(s);
}

void StackPool::release(const Stack& s) noexcept {
    if (s.kind == stack_thread) return;
    not_in_use(s);
    SizeClass* c = nullptr;
    for (auto& k : classes_)
        if (k.size == s.size && k.guard == s.guard) c = &k;
    if (c->hot.size() < kHotStacks) {
        c->hot.push_back(s);
        return;
    }
    if (s.kind == stack_guarded) {
        munmap(static_cast<char*>(s.lo) - s.guard, s.size + s.guard);
        guarded_in_use.fetch_sub(1, std::memory_order_relaxed);
        return;
    }
    madvise(s.lo, s.size, MADV_DONTNEED);
    c->cold.push_back(s);
}

StackPool::~StackPool() {
    for (auto& c : classes_) {
        for (const Stack& s : c.hot) {
            if (s.kind != stack_guarded) continue;
            munmap(static_cast<char*>(s.lo) - s.guard, s.size + s.guard);
            guarded_in_use.fetch_sub(1, std::memory_order_relaxed);
        }
        for (void* slab : c.slabs) munmap(slab, c.size * kSlabStacks);
    }
}

}  // namespace green::detail
