// Room for one loop timer inside a public object (Timeout), so public headers
// need not include ev.h. loop.cpp checks at compile time that the watcher fits.
#pragma once

namespace green::detail {

struct TimerSlot {
    alignas(8) unsigned char watcher[56] = {};  // an ev_timer; all-zero means inactive
    void (*fn)(void*) = nullptr;                  // called in the hub when it fires
    void* arg = nullptr;
};

}  // namespace green::detail
