#include "fd_facts.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <atomic>
#include <cstdlib>

#include "real.hpp"

namespace shim::fd_facts {
namespace {

// One word per descriptor: bit 0 known, bits 1-2 kind, bit 3 non-blocking,
// bit 4 receive timeout, bit 5 send timeout, bit 6 datagrams, bit 7 drained,
// bit 8 alone (see mark_alone), bits 9-31 the epoch it was learnt in. The facts
// of a descriptor that is alone hold in every epoch: there, bits 9-31 count the
// changes of the word instead (see renew), so that learn cannot mistake a word
// forgotten and made alone again meanwhile for the one it read.
constexpr std::uint32_t kKnown = 1, kNonblocking = 8, kReceiveTimeout = 16, kSendTimeout = 32, kDatagrams = 64,
                        kDrained = 128, kAlone = 256;
constexpr unsigned kKindShift = 1, kEpochShift = 9;
constexpr std::uint32_t kEpochMask = (1u << (32 - kEpochShift)) - 1;

constexpr unsigned kPageBits = 12;
constexpr unsigned kPageFds = 1u << kPageBits;
constexpr unsigned kPages = 4096;  // descriptors below 2^24; higher ones are asked about every time

struct Page {
    std::atomic<std::uint32_t> word[kPageFds];
};
std::atomic<Page*> pages[kPages];
std::atomic<std::uint32_t> epoch{1};
std::atomic<bool> descriptors_received{false};  // SCM_RIGHTS: see received()

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
// Remembered only if nobody changed the word meanwhile (a close, a dup, a
// change of flags): what was asked may already be out of date.
[[gnu::noinline]] Facts learn(int fd, std::atomic<std::uint32_t>* w, std::uint32_t now) noexcept {
    std::uint32_t before = w ? w->load(std::memory_order_acquire) : 0;
    const Facts f = ask(fd);
    const std::uint32_t stamp = (before & kAlone) ? before & ~((1u << kEpochShift) - 1) : (now & kEpochMask) << kEpochShift;
    if (w && f.kind != Kind::closed)
        w->compare_exchange_strong(before,
                                   kKnown | (static_cast<std::uint32_t>(f.kind) << kKindShift) |
                                       (f.nonblocking ? kNonblocking : 0) | (f.receive_timeout ? kReceiveTimeout : 0) |
                                       (f.send_timeout ? kSendTimeout : 0) | (f.datagrams ? kDatagrams : 0) | stamp,
                                   std::memory_order_acq_rel);
    return f;
}

// Replaces the word with `bits` (no facts: kAlone or nothing) and a count of
// its changes one higher than before, so that a learn that read the word
// before cannot store what it asked (a store of `bits` alone could leave the
// word just as that learn read it).
std::uint32_t next_count(std::uint32_t v) noexcept { return (((v >> kEpochShift) + 1) & kEpochMask) << kEpochShift; }

void renew(std::atomic<std::uint32_t>& w, std::uint32_t bits) noexcept {
    std::uint32_t v = w.load(std::memory_order_relaxed);
    while (!w.compare_exchange_weak(v, bits | next_count(v), std::memory_order_acq_rel)) {
    }
}

void forget_every_fact() noexcept { epoch.fetch_add(1, std::memory_order_acq_rel); }

}  // namespace

Facts of(int fd) noexcept {
    std::atomic<std::uint32_t>* w = slot(fd, true);
    const std::uint32_t now = epoch.load(std::memory_order_acquire);
    if (w) {
        const std::uint32_t v = w->load(std::memory_order_acquire);
        if ((v & kKnown) && ((v & kAlone) || (v >> kEpochShift) == (now & kEpochMask)))
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
    if (std::atomic<std::uint32_t>* w = slot(fd, false)) renew(*w, 0);
}

void forget_range(unsigned first, unsigned last) noexcept {
    for (unsigned page = first >> kPageBits; page < kPages && page <= (last >> kPageBits); ++page) {
        Page* p = pages[page].load(std::memory_order_acquire);
        if (!p) continue;
        for (unsigned i = 0; i < kPageFds; ++i) {
            const unsigned fd = (page << kPageBits) + i;
            if (fd >= first && fd <= last) renew(p->word[i], 0);
        }
    }
}

void mark_alone(int fd) noexcept {
    if (descriptors_received.load(std::memory_order_relaxed)) return;
    // Where no page is yet, no facts were ever asked for: not worth a calloc here.
    if (std::atomic<std::uint32_t>* w = slot(fd, false)) renew(*w, kAlone);
}

void copied(int fd, int copy) noexcept {
    // `fd`'s facts are forgotten too: learnt while it was alone, they carry a count, not an epoch.
    forget(fd);
    forget(copy);
}

void flags_changed(int fd) noexcept {
    std::atomic<std::uint32_t>* w = slot(fd, false);
    std::uint32_t v = w ? w->load(std::memory_order_relaxed) : 0;
    // Only its own facts, unless a dup made meanwhile shares its description.
    while (v & kAlone)
        if (w->compare_exchange_weak(v, kAlone | next_count(v), std::memory_order_acq_rel)) return;
    forget_every_fact();
}

void received(const int* fds, std::size_t n) noexcept {
    // One of them may share its open file description with any descriptor
    // here (a socket this process sent itself): from now on none is alone.
    if (!descriptors_received.exchange(true, std::memory_order_acq_rel)) forget_range(0, ~0u);
    for (std::size_t i = 0; i < n; ++i) forget(fds[i]);
    forget_every_fact();
}

void after_system_call(long number, const long args[6], long result) noexcept {
    if (result < 0) return;
    const int fd = static_cast<int>(args[0]);
    switch (number) {
    case SYS_close: forget(fd); break;
    case SYS_close_range:
        if (!(args[2] & CLOSE_RANGE_CLOEXEC))
            forget_range(static_cast<unsigned>(args[0]), static_cast<unsigned>(args[1]));
        break;
    case SYS_dup: copied(fd, static_cast<int>(result)); break;
#ifdef SYS_dup2
    case SYS_dup2:
#endif
    case SYS_dup3: copied(fd, static_cast<int>(args[1])); break;
    case SYS_fcntl:
        if (args[1] == F_SETFL) flags_changed(fd);
        if (args[1] == F_DUPFD || args[1] == F_DUPFD_CLOEXEC) copied(fd, static_cast<int>(result));
        break;
    case SYS_ioctl:
        if (static_cast<unsigned long>(args[1]) == FIONBIO) flags_changed(fd);
        break;
    case SYS_setsockopt:
        if (args[1] == SOL_SOCKET) flags_changed(fd);  // SO_RCVTIMEO and SO_SNDTIMEO have several numbers
        break;
    case SYS_recvmsg:
    case SYS_recvmmsg:
#ifdef SYS_pidfd_getfd
    case SYS_pidfd_getfd:
#endif
#ifdef SYS_io_uring_setup
    case SYS_io_uring_setup:  // its accepts, sockets and closes are never seen
#endif
        received(nullptr, 0);
        break;
    default: break;
    }
}

}  // namespace shim::fd_facts
