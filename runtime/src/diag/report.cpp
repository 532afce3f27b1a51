#include "diag/report.hpp"

#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <typeinfo>

#include "green/errors.hpp"

namespace green::detail {
namespace {

std::string demangle(const char* name) {
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> s(abi::__cxa_demangle(name, nullptr, nullptr, &status), std::free);
    return status == 0 && s ? std::string(s.get()) : std::string(name);
}

}  // namespace

std::string display_name(const GreenletCore& g) {
    if (!g.name.empty()) return g.name;
    return "Greenlet-" + std::to_string(g.id);
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
