#include <doctest/doctest.h>

#include <green/green.hpp>

#include <csignal>
#include <fstream>
#include <string>
#include <vector>

#include "support/support.hpp"

using namespace std::chrono_literals;

namespace {

long mappings() {
    std::ifstream maps("/proc/self/maps");
    long n = 0;
    std::string line;
    while (std::getline(maps, line)) ++n;
    return n;
}

}  // namespace

// A stack overflow is reported with the greenlet's name and stack size, and the
// process aborts instead of dying of a bare SIGSEGV.
TEST_CASE("stack: overflow is reported by name") {
    const auto r = test::run({HELPER_PATH, "overflow"});
    CHECK(r.signal == SIGABRT);
    CHECK(r.err.find("green: stack overflow in greenlet deep (stack 64 KiB)") != std::string::npos);
    CHECK(r.out.empty());
}

// The report does not depend on where the fault lands: an unguarded stack (no
// guard budget) runs through its neighbours' memory before anything faults,
// far below its own end. It is judged by the faulting code's stack pointer.
TEST_CASE("stack: overflow of an unguarded stack is reported") {
    const auto r = test::run({HELPER_PATH, "overflow"}, {"GREEN_GUARDED_STACKS=0"});
    CHECK(r.signal == SIGABRT);
    CHECK(r.err.find("green: stack overflow in greenlet deep (stack 64 KiB)") != std::string::npos);
    CHECK(r.out.empty());
}

// Releasing a stack never allocates: greenlets end, and their stacks go back to
// the pool (guarded or from slabs, past what the pool keeps hot), while every
// operator new fails. Before, the pool's free lists grew there, and the
// bad_alloc inside a noexcept release ended the process.
TEST_CASE("stack: greenlets end without memory to spare") {
    if (test::kThreadSanitizer) return test::skip("ThreadSanitizer's runtime defines operator new: the helper cannot make it fail");
    for (const char* guarded : {"GREEN_GUARDED_STACKS=0", "GREEN_GUARDED_STACKS=2000"}) {
        const auto r = test::run({HELPER_PATH, "end_without_memory"}, {guarded});
        CHECK_MESSAGE(r.exit_code == 0, (std::string(guarded) + ": " + r.err));
        CHECK(r.out == "all ended\n");
    }
}

// GREEN_STACK_SIZE sets the default stack size; a malformed value is reported
// and ignored.
TEST_CASE("stack: GREEN_STACK_SIZE") {
    const auto plain = test::run({HELPER_PATH, "stack_size"});
    auto r = test::run({HELPER_PATH, "stack_size"}, {"GREEN_STACK_SIZE=256K"});
    CHECK(r.out.find("stack 256 KiB") != std::string::npos);
    r = test::run({HELPER_PATH, "stack_size"}, {"GREEN_STACK_SIZE=lots"});
    CHECK(r.out == plain.out);  // the default: 128 KiB, 512 KiB under ASan
    CHECK(r.err.find("ignoring GREEN_STACK_SIZE='lots'") != std::string::npos);
    CHECK(r.exit_code == 0);
}

// More greenlets than the guard-page budget allows still work: past the budget
// stacks come from unguarded slabs, so the process stays far below
// vm.max_map_count.
TEST_CASE("stack: beyond the guard budget") {
    if (test::kThreadSanitizer) return test::skip("ThreadSanitizer maps memory of its own for every greenlet");
    const long before = mappings();
    constexpr int n = 40000;  // the default budget guards max_map_count / 4 = 16382
    std::vector<green::Greenlet<int>> gs;
    gs.reserve(n);
    for (int i = 0; i < n; ++i)
        gs.push_back(green::spawn([i] {
            green::sleep(10ms);
            return i;
        }));
    green::sleep(1ms);  // all are parked now
    const long during = mappings();
    CHECK(during - before < 40000);
    long sum = 0;
    for (auto& g : gs) sum += g.get();
    CHECK(sum == long{n} * (n - 1) / 2);
}

// Stacks are reused: spawning and joining in a loop does not grow the mappings.
TEST_CASE("stack: stacks are pooled") {
    if (test::kThreadSanitizer) return test::skip("ThreadSanitizer maps memory of its own for every greenlet");
    for (int round = 0; round < 3; ++round) {
        std::vector<green::Greenlet<void>> gs;
        for (int i = 0; i < 2000; ++i) gs.push_back(green::spawn([] { green::yield(); }));
        green::joinall(gs);
    }
    const long before = mappings();
    for (int round = 0; round < 10; ++round) {
        std::vector<green::Greenlet<void>> gs;
        for (int i = 0; i < 2000; ++i) gs.push_back(green::spawn([] { green::yield(); }));
        green::joinall(gs);
    }
    CHECK(mappings() - before < 100);
}
