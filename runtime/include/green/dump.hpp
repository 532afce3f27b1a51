// dump(): what every greenlet of this thread is doing (gevent's format_run_info).
#pragma once

#include <string>

#include "green/detail/config.hpp"

namespace green {

// One line per live greenlet of the calling thread's hub: id, name, state, what it
// waits in, and its stack size; then a summary line. For debugging: cheap to call.
GREEN_API std::string dump();

}  // namespace green
