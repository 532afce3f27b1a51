#include "diag/report.hpp"

#include <cxxabi.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <typeinfo>

#include "base/sys.hpp"
#include "green/errors.hpp"

namespace green::detail {
namespace {

std::string demangle(const char* name) {
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> s(abi::__cxa_demangle(name, nullptr, nullptr, &status), std::free);
    return status == 0 && s ? std::string(s.get()) : std::string(name);
}

}  // namespace

const char unnamed_greenlet_prefix[] = "Greenlet-";

ReportLine& ReportLine::operator<<(const char* s) noexcept {
    while (*s && len_ < sizeof buf_) buf_[len_++] = *s++;
    return *this;
}

ReportLine& ReportLine::operator<<(std::uint64_t v) noexcept {
    char digits[20];
    int n = 0;
    do digits[n++] = static_cast<char>('0' + v % 10);
    while ((v /= 10) != 0);
    while (n > 0 && len_ < sizeof buf_) buf_[len_++] = digits[--n];
    return *this;
}

ReportLine& ReportLine::operator<<(const GreenletCore& g) noexcept {
    if (!g.name.empty()) return *this << g.name.c_str();
    return *this << unnamed_greenlet_prefix << g.id;
}

// A system call of its own: a report is written from signal handlers (a stack
// overflow's SIGSEGV) where a hooked write must not park or take a turn.
void ReportLine::write() const noexcept { (void)!sys::write(STDERR_FILENO, buf_, len_); }

std::string display_name(const GreenletCore& g) {
    if (!g.name.empty()) return g.name;  // whole, however long
    ReportLine line;
    line << g;
    return line.str();
}

const char* state_name(State s) noexcept {
    switch (s) {
    case State::unstarted: return "not started";
    case State::ready: return "ready";
    case State::running: return "running";
    case State::parked: return "waiting";
    case State::dead: return "dead";
    }
    return "?";
}

std::string describe(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return demangle(typeid(x).name()) + ": " + x.what();
    } catch (const GreenletExit&) {
        return "green::GreenletExit";
    } catch (...) {
        const std::type_info* t = abi::__cxa_current_exception_type();
        return t ? demangle(t->name()) : std::string("unknown exception");
    }
}

void report_greenlet_failure(const GreenletCore& g) noexcept {
    try {
        std::fprintf(stderr, "green: greenlet %s failed with %s\n", display_name(g).c_str(), describe(g.error).c_str());
    } catch (...) {
        std::fputs("green: a greenlet failed (and describing it failed too)\n", stderr);
    }
}

void report_exception(const char* where, const std::exception_ptr& e) noexcept {
    try {
        std::fprintf(stderr, "green: %s failed with %s\n", where, describe(e).c_str());
    } catch (...) {
        std::fprintf(stderr, "green: %s failed\n", where);
    }
}

}  // namespace green::detail
