#include "green/sleep.hpp"

#include "core/hub.hpp"

namespace green {

void detail::sleep_for(double seconds) {
    if (seconds == 0) return yield();
    Hub::current().park(nullptr, seconds, "sleep", nullptr);
}

void yield() { detail::Hub::current().yield_now(); }

}  // namespace green
