// Messages on stderr for failures nobody else will see (gevent prints a traceback
// for a greenlet that dies of an exception; so do we, and never exit).
#pragma once

#include <exception>
#include <string>

#include "green/detail/core.hpp"

namespace green::detail {

// "Greenlet-7" or the name the program gave it.
std::string display_name(const GreenletCore& g);

// The exception's type and message, e.g. "std::runtime_error: boom".
std::string describe(const std::exception_ptr& e);

void report_greenlet_failure(const GreenletCore& g) noexcept;
void report_exception(const char* where, const std::exception_ptr& e) noexcept;

}  // namespace green::detail
