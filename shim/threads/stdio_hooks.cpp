// flockfile, ftrylockfile, funlockfile: a FILE locked by a green thread is
// locked against the other green threads of its carrier too. glibc's FILE
// lock is recursive per OS thread, so on a carrier it would let every green
// thread in; here the owner is the green thread, kept in a small table beside
// the FILE, and glibc's own lock is taken as well (for real threads).
//
// Only these three calls see the green owner: stdio's internal locking (a
// printf of another green thread of the same carrier while the owner waits
// inside its flockfile section) stays per OS thread, as SYMBOLS.md says.
#include <stdio.h>

#include <atomic>
#include <cstdint>

#include "../real.hpp"
#include "../state.hpp"
#include "thread_state.hpp"

namespace shim::threads {
namespace {

// One FILE locked by a green thread. The table is small: a FILE is in it only
// while a flockfile section lasts.
struct Owner {
    std::atomic<FILE*> file{nullptr};
    int owner = 0;      // self_id of the holder
    unsigned depth = 0;  // flockfile calls not yet undone
};
constexpr std::size_t kOwners = 256;
Owner owners[kOwners];
std::atomic_flag table_lock = ATOMIC_FLAG_INIT;

Owner* find(FILE* f, bool add) noexcept {
    Owner* free = nullptr;
    for (Owner& o : owners) {
        FILE* here = o.file.load(std::memory_order_relaxed);
        if (here == f) return &o;
        if (!here && !free) free = &o;
    }
    if (add && free) free->file.store(f, std::memory_order_relaxed);
    return add ? free : nullptr;
}

enum class Claim { taken, busy, full };

// Takes `f` for the calling identity, or says who has it.
Claim claim(FILE* f, int id) noexcept {
    SpinGuard guard(table_lock);
    Owner* o = find(f, true);
    if (!o) return Claim::full;
    if (o->depth != 0 && o->owner != id) return Claim::busy;
    o->owner = id;
    ++o->depth;
    return Claim::taken;
}

// Undoes one claim; true when the FILE is free for others now.
bool unclaim(FILE* f) noexcept {
    SpinGuard guard(table_lock);
    Owner* o = find(f, false);
    if (!o || o->depth == 0) return false;
    if (--o->depth != 0) return false;
    o->file.store(nullptr, std::memory_order_relaxed);
    return true;
}

bool held_by_other(FILE* f, int id) noexcept {
    SpinGuard guard(table_lock);
    Owner* o = find(f, false);
    return o && o->depth != 0 && o->owner != id;
}

// glibc's lock as well, without blocking the carrier on a real thread's hold.
void take_glibc_lock(FILE* f) {
    for (double pause = 0.0005; real::ftrylockfile(f) != 0; pause = std::min(pause * 2, 0.02))
        api::park(f, [](void*) { return true; }, nullptr, nullptr, Deadline::after(pause), "flockfile", true);
}

struct File {
    FILE* f;
    int id;
};

bool parks_for(FILE*) noexcept { return enabled() && current() && may_switch(); }

}  // namespace
}  // namespace shim::threads

using namespace shim::threads;

GREEN_HOOK void flockfile(FILE* f) noexcept {
    if (!parks_for(f)) return shim::real::flockfile(f);
    const int id = self_id();
    for (;;) {
        const Claim c = claim(f, id);
        if (c == Claim::full) return shim::real::flockfile(f);  // a FILE too many: glibc's lock alone
        if (c == Claim::taken) break;
        File file{f, id};
        api::park(
            f, [](void* p) { return held_by_other(static_cast<File*>(p)->f, static_cast<File*>(p)->id); }, nullptr, &file,
            Deadline(), "flockfile", true);
    }
    try {
        take_glibc_lock(f);
    } catch (...) {
        api::deliver_later(std::current_exception());
    }
}

GREEN_HOOK int ftrylockfile(FILE* f) noexcept {
    if (!parks_for(f)) return shim::real::ftrylockfile(f);
    const Claim c = claim(f, self_id());
    if (c == Claim::full) return shim::real::ftrylockfile(f);
    if (c == Claim::busy) return 1;
    if (shim::real::ftrylockfile(f) == 0) return 0;
    if (unclaim(f)) api::unpark(f, SIZE_MAX, 0, false);
    return 1;
}

GREEN_HOOK void funlockfile(FILE* f) noexcept {
    if (!parks_for(f)) return shim::real::funlockfile(f);
    shim::real::funlockfile(f);
    if (unclaim(f)) api::unpark(f, SIZE_MAX, 0, false);
}
