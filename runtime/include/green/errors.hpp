// The exceptions the C++ API throws, besides std::system_error for OS errors
// (code() is the errno value, in std::generic_category(), for every one) and
// std::logic_error / std::invalid_argument for misuse.
#pragma once

#include <stdexcept>

#include "green/detail/config.hpp"

namespace green {

class Timeout;

// Thrown inside a greenlet by kill(). Like gevent's GreenletExit it deliberately
// does not derive from std::exception, so `catch (const std::exception&)` in user
// code does not swallow a kill; the greenlet unwinds and ends as killed.
class GREEN_API GreenletExit {
public:
    const char* what() const noexcept { return "green::GreenletExit"; }
};

// A wait ran out of time: a call's own timeout, or an expired green::Timeout.
class GREEN_API TimeoutError : public std::runtime_error {
public:
    explicit TimeoutError(const Timeout* source = nullptr);
    // The Timeout object that expired, or nullptr for a call's own timeout argument.
    const Timeout* source() const noexcept { return source_; }

private:
    const Timeout* source_;
};

// The calling greenlet waited for something that can never happen: no other
// greenlet is runnable and nothing is armed in the loop (gevent's LoopExit). A
// carrier's hub never says so while other threads live: any of them may still
// post it a greenlet (run_on).
class GREEN_API LoopExit : public std::runtime_error {
public:
    LoopExit();
};

// The queue or channel was closed: no more items will come (or may be put).
class GREEN_API ClosedError : public std::runtime_error {
public:
    ClosedError();
};

}  // namespace green
