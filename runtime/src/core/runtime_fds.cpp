#include "core/runtime_fds.hpp"

#include "base/raw_lock.hpp"
#include "base/sys.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>

namespace green::detail {
namespace {

// 4096 descriptors a page, 4096 pages: descriptors up to 2^24 can be marked
// (a higher one is left unprotected, as the kernel's default nr_open is 2^20).
constexpr unsigned kPageBits = 12;
constexpr unsigned kPageFds = 1u << kPageBits;
constexpr unsigned kPages = 4096;
constexpr unsigned kWordBits = 64;

struct Page {
    std::atomic<std::uint64_t> words[kPageFds / kWordBits];
};

std::atomic<Page*> pages[kPages];
std::atomic<unsigned> marked{0};  // how many are marked: 0 skips the lookup

Page* page_for(unsigned fd, bool create) noexcept {
    std::atomic<Page*>& slot = pages[fd >> kPageBits];
    Page* p = slot.load(std::memory_order_acquire);
    if (p || !create) return p;
    auto* fresh = static_cast<Page*>(std::calloc(1, sizeof(Page)));
    if (!fresh) return nullptr;  // out of memory: the fd is merely left unprotected
    if (slot.compare_exchange_strong(p, fresh, std::memory_order_acq_rel)) return fresh;
    std::free(fresh);  // another thread made the page first
    return p;
}

std::atomic<std::uint64_t>* word_for(unsigned fd, bool create, std::uint64_t& bit) noexcept {
    if (fd >= kPages * kPageFds) return nullptr;
    Page* p = page_for(fd, create);
    if (!p) return nullptr;
    bit = std::uint64_t{1} << (fd % kWordBits);
    return &p->words[(fd % kPageFds) / kWordBits];
}

}  // namespace

constinit thread_local int runtime_scope_depth [[gnu::tls_model("initial-exec")]] = 0;

void mark_runtime_fd(int fd) noexcept {
    std::uint64_t bit = 0;
    auto* w = fd >= 0 ? word_for(static_cast<unsigned>(fd), true, bit) : nullptr;
    if (w && !(w->fetch_or(bit, std::memory_order_release) & bit)) marked.fetch_add(1, std::memory_order_relaxed);
}

void unmark_runtime_fd(int fd) noexcept {
    std::uint64_t bit = 0;
    auto* w = fd >= 0 ? word_for(static_cast<unsigned>(fd), false, bit) : nullptr;
    if (w && (w->fetch_and(~bit, std::memory_order_release) & bit)) marked.fetch_sub(1, std::memory_order_relaxed);
}

bool is_runtime_fd(int fd) noexcept {
    if (fd < 0 || marked.load(std::memory_order_relaxed) == 0) return false;
    std::uint64_t bit = 0;
    auto* w = word_for(static_cast<unsigned>(fd), false, bit);
    return w && (w->load(std::memory_order_acquire) & bit);
}

int runtime_fd_floor() noexcept {
    static std::atomic<int> cached{0};
    int floor = cached.load(std::memory_order_relaxed);
    if (floor > 0) return floor;
    rlimit limit{};
    const rlim_t soft = ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? limit.rlim_cur : 1024;
    floor = static_cast<int>(std::min<rlim_t>(std::min<rlim_t>(soft, 1024) * 3 / 4, 256));  // no overflow
    floor = std::max(floor, 3);
    cached.store(floor, std::memory_order_relaxed);
    return floor;
}

namespace {
RawLock creation_lock;  // lock_runtime_fd_creation's
// A forked child's lock is free: whoever held it stayed in the parent.
[[maybe_unused]] const int creation_lock_reset_at_fork =
    pthread_atfork(nullptr, nullptr, [] { creation_lock.reset(); });
}  // namespace

namespace {
constinit thread_local int creation_depth [[gnu::tls_model("initial-exec")]] = 0;
}  // namespace

void lock_runtime_fd_creation() noexcept {
    if (creation_depth++ == 0) creation_lock.lock();
}

void unlock_runtime_fd_creation() noexcept {
    if (--creation_depth == 0) creation_lock.unlock();
}

namespace {
// Numbers being given up to a program's dup2 (avoid_runtime_fd), process-wide:
// another thread's runtime may open a descriptor meanwhile.
std::atomic<int> avoided[4] = {-1, -1, -1, -1};

bool is_avoided(int fd) noexcept {
    for (auto& a : avoided)
        if (a.load(std::memory_order_acquire) == fd) return true;
    return false;
}
}  // namespace

int avoid_runtime_fd(int fd) noexcept {
    for (int i = 0; i < 4; ++i) {
        int none = -1;
        if (avoided[i].compare_exchange_strong(none, fd, std::memory_order_acq_rel)) return i;
    }
    return -1;  // too many at once: this one is not avoided
}
void stop_avoiding_runtime_fd(int slot) noexcept {
    if (slot >= 0) avoided[slot].store(-1, std::memory_order_release);
}

int own_runtime_fd(int fd) noexcept {
    if (fd < 0) return fd;
    const int saved = errno;
    int high = fd >= runtime_fd_floor() && !is_avoided(fd) ? -1 : sys::fcntl(fd, F_DUPFD_CLOEXEC, runtime_fd_floor());
    while (high >= 0 && is_avoided(high)) {
        const int higher = sys::fcntl(fd, F_DUPFD_CLOEXEC, high + 1);
        sys::close(high);
        high = higher;
    }
    if (high >= 0) {
        sys::close(fd);
        fd = high;
    }
    errno = saved;
    mark_runtime_fd(fd);
    return fd;
}

namespace {
constinit thread_local std::atomic<int>* made_epoll_into = nullptr;
constinit thread_local int lost_close_fd = -1;
}  // namespace

void learn_made_epoll(std::atomic<int>* into) noexcept { made_epoll_into = into; }

void note_made_epoll(int fd) noexcept {
    if (made_epoll_into) made_epoll_into->store(fd, std::memory_order_relaxed);
}

void expect_lost_close(int fd) noexcept { lost_close_fd = fd; }

bool closes_lost_fd(int fd) noexcept {
    if (fd < 0 || fd != lost_close_fd) return false;
    lost_close_fd = -1;
    return true;
}

int close_runtime_fd(int fd) noexcept {
    lock_runtime_fd_creation();
    unmark_runtime_fd(fd);
    const int r = sys::close(fd);
    unlock_runtime_fd_creation();
    return r;
}

std::vector<int> runtime_fds_between(unsigned first, unsigned last) {
    std::vector<int> out;
    if (marked.load(std::memory_order_relaxed) == 0) return out;
    for (unsigned page = first >> kPageBits; page < kPages && page <= (last >> kPageBits); ++page) {
        Page* p = pages[page].load(std::memory_order_acquire);
        if (!p) continue;
        for (unsigned i = 0; i < kPageFds / kWordBits; ++i) {
            std::uint64_t bits = p->words[i].load(std::memory_order_acquire);
            while (bits) {
                const unsigned fd = (page << kPageBits) + i * kWordBits + static_cast<unsigned>(__builtin_ctzll(bits));
                bits &= bits - 1;
                if (fd >= first && fd <= last) out.push_back(static_cast<int>(fd));
            }
        }
    }
    return out;
}

}  // namespace green::detail
