// Messages on stderr for failures nobody else will see (gevent prints a traceback
// for a greenlet that dies of an exception; so do we, and never exit).
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include "green/detail/core.hpp"

namespace green::detail {

// What an unnamed greenlet is called, before its id ("Greenlet-7"). Defined as
// data so that tools/gdb/green.py reads it from the program.
extern const char unnamed_greenlet_prefix[];

// One line of a report, built without allocating and written with one write(2):
// safe in a signal handler (the overflow report, the monitor's). Text past the
// buffer is dropped.
class ReportLine {
public:
    ReportLine& operator<<(const char* s) noexcept;
    ReportLine& operator<<(std::uint64_t v) noexcept;
    // The greenlet's name: the one the program gave it, or "Greenlet-<id>".
    ReportLine& operator<<(const GreenletCore& g) noexcept;
    // To stderr, as it is (add the newline).
    void write() const noexcept;
    std::string str() const { return std::string(buf_, len_); }

private:
    char buf_[512];
    std::size_t len_ = 0;
};

// The greenlet's name, as ReportLine writes it.
std::string display_name(const GreenletCore& g);

// "not started", "ready", "running", "waiting", "dead".
const char* state_name(State s) noexcept;

// The exception's type and message, e.g. "std::runtime_error: boom".
std::string describe(const std::exception_ptr& e);

void report_greenlet_failure(const GreenletCore& g) noexcept;
void report_exception(const char* where, const std::exception_ptr& e) noexcept;

}  // namespace green::detail
