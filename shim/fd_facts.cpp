#include "fd_facts.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>

#include "real.hpp"

namespace shim::fd_facts {
namespace {

// One word per descriptor: bit 0 known, bits 1-2 kind, bit 3 non-blocking,
// bit 4 receive timeout, bit 5 send timeout, bit 6 datagrams, bit 7 drained,
// bits 8-31 the epoch it was learnt in.
constexpr std::uint32_t kKnown = 1, kNonblocking = 8, kReceiveTimeout = 16, kSendTimeout = 32, kDatagrams = 64,
                        kDrained = 128;
constexpr unsigned kKindShift = 1, kEpochShift = 8;

constexpr unsigned kPageBits = 12;
constexpr unsigned kPageFds = 1u << kPageBits;
constexpr unsigned kPages = 4096;  // descriptors below 2^24; higher ones are asked about every time

struct Page {
    std::atomic<std::uint32_t> word[kPageFds];
};
std::atomic<Page*> pages[kPages];
std::atomic<std::uint32_t> epoch{1};

// The page in `p`, made now if there is none (null if memory ran out).
[[gnu::noinline]] Page* make_page(std::atomic<Page*>& p) noexcept {
    auto* fresh = static_cast<Page*>(std::calloc(1, sizeof(Page)));
    if (!fresh) return nullptr;
    Page* page = nullptr;
    if (p.compare_exchange_strong(page, fresh, std::memory_order_acq_rel)) return fresh;
    std::free(fresh);
    return page;
}

std::atomic<std::uint32_t>* slot(int fd, bool create) noexcept {
    if (fd < 0 || static_cast<unsigned>(fd) >= kPages * kPageFds) return nullptr;
    std::atomic<Page*>& p = pages[static_cast<unsigned>(fd) >> kPageBits];
    Page* page = p.load(std::memory_order_acquire);
    if (!page && create) page = make_page(p);
    return page ? &page->word[static_cast<unsigned>(fd) % kPageFds] : nullptr;
}

Kind kind_of(mode_t mode) noexcept {
    switch (mode & S_IFMT) {
    case S_IFSOCK: return Kind::socket;
    case S_IFREG: case S_IFBLK: case S_IFDIR: return Kind::disk;
    default: return Kind::pollable;  // pipes, terminals, and eventfd, signalfd, timerfd (no type bits)
    }
}

Facts ask(int fd) noexcept {
    Facts f{Kind::closed, false, false, false, false, false};
    struct stat st {};
    if (::fstat(fd, &st) != 0) return f;
    f.kind = kind_of(st.st_mode);
    const int flags = real::fcntl(fd, F_GETFL, nullptr);
    f.nonblocking = flags >= 0 && (flags & O_NONBLOCK);
    if (f.kind == Kind::socket) {
        timeval tv{};
        socklen_t len = sizeof tv;
        f.receive_timeout = real::getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len) == 0 && (tv.tv_sec || tv.tv_usec);
        len = sizeof tv;
        tv = {};
        f.send_timeout = real::getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len) == 0 && (tv.tv_sec || tv.tv_usec);
        int type = 0;
        len = sizeof type;
        f.datagrams = real::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type != SOCK_STREAM;
    }
    return f;
}

// Asks the kernel and remembers the answer in `w` (if any). Out of line: the
// remembered case, on every cooperative call, stays a short leaf.
[[gnu::noinline]] Facts learn(int fd, std::atomic<std::uint32_t>* w, std::uint32_t now) noexcept {
    const Facts f = ask(fd);
    if (w && f.kind != Kind::closed)
        w->store(kKnown | (static_cast<std::uint32_t>(f.kind) << kKindShift) | (f.nonblocking ? kNonblocking : 0) |
                     (f.receive_timeout ? kReceiveTimeout : 0) | (f.send_timeout ? kSendTimeout : 0) |
                     (f.datagrams ? kDatagrams : 0) | ((now & 0xffffff) << kEpochShift),
                 std::memory_order_release);
    return f;
}

}  // namespace

Facts of(int fd) noexcept {
    std::atomic<std::uint32_t>* w = slot(fd, true);
    const std::uint32_t now = epoch.load(std::memory_order_acquire);
    if (w) {
        const std::uint32_t v = w->load(std::memory_order_acquire);
        if ((v & kKnown) && (v >> kEpochShift) == (now & 0xffffff))
            return Facts{static_cast<Kind>((v >> kKindShift) & 3), (v & kNonblocking) != 0, (v & kReceiveTimeout) != 0,
                         (v & kSendTimeout) != 0, (v & kDatagrams) != 0, (v & kDrained) != 0};
    }
    return learn(fd, w, now);
}

void set_drained(int fd, bool drained) noexcept {
    std::atomic<std::uint32_t>* w = slot(fd, false);
    if (!w) return;
    // Only on a word still known: one forgotten meanwhile stays forgotten. The
    // exchange happens only on a change, which request/response traffic rarely makes.
    std::uint32_t v = w->load(std::memory_order_relaxed);
    while ((v & kKnown) && ((v & kDrained) != 0) != drained)
        if (w->compare_exchange_weak(v, v ^ kDrained, std::memory_order_acq_rel)) break;
}

void forget(int fd) noexcept {
    if (std::atomic<std::uint32_t>* w = slot(fd, false)) w->store(0, std::memory_order_release);
}

void forget_range(unsigned first, unsigned last) noexcept {
    for (unsigned page = first >> kPageBits; page < kPages && page <= (last >> kPageBits); ++page) {
        Page* p = pages[page].load(std::memory_order_acquire);
        if (!p) continue;
        for (unsigned i = 0; i < kPageFds; ++i) {
            const unsigned fd = (page << kPageBits) + i;
            if (fd >= first && fd <= last) p->word[i].store(0, std::memory_order_release);
        }
    }
}

void forget_all() noexcept { epoch.fetch_add(1, std::memory_order_acq_rel); }

}  // namespace shim::fd_facts
