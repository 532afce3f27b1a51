// Room for one loop watcher (timer, I/O or async) inside an object, so public
// headers need not include ev.h. loop.cpp checks at compile time that each
// watcher type fits.
#pragma once

namespace green::detail {

struct WatcherSlot {
    alignas(8) unsigned char watcher[56] = {};  // an ev_timer / ev_io / async state; all-zero is inactive
    void (*fn)(void*) = nullptr;                  // called in the hub when it fires
    void* arg = nullptr;
};

}  // namespace green::detail
