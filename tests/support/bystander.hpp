// Proof, by events rather than by time, that a blocking call let other
// greenlets run: a bystander is a greenlet that is ready from its construction,
// so it runs as soon as the constructing greenlet parks, and only then.
//
//   test::Bystander others;
//   ::waitpid(pid, &status, 0);   // nothing in between may park
//   CHECK(others.ran());          // the call parked (it did not block the thread)
//
// (Counting a ticker's 5 ms ticks during a 50 ms wait fails on a loaded
// machine; this cannot.) While it has not run it also makes the hooks see
// another greenlet, so they take their cooperative paths.
#pragma once

#include <green/green.hpp>

namespace test {

class Bystander {
public:
    Bystander() = default;
    ~Bystander() { g_.join(); }
    Bystander(const Bystander&) = delete;
    Bystander& operator=(const Bystander&) = delete;
    bool ran() const { return ran_; }

private:
    bool ran_ = false;
    green::Greenlet<void> g_ = green::spawn([this] { ran_ = true; });
};

}  // namespace test
