// uselocale: the locale is per thread in libc; once a program sets one under
// thread patching, the hub keeps it per fiber (green thread) at every switch.
#include <locale.h>

#include "../real.hpp"
#include "../state.hpp"
#include "thread_state.hpp"

GREEN_HOOK locale_t uselocale(locale_t locale) noexcept {
    if (locale && shim::threads::enabled()) shim::threads::api::keep_locale_per_fiber();
    return shim::real::uselocale(locale);
}
