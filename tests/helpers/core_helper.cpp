// A child process for tests that must watch a whole program: its exit status,
// its stderr, or a crash. The first argument picks the scenario.
#include <green/green.hpp>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

volatile int bottom = 1 << 30;  // never reached: the stack overflows first

int recurse(int depth) {
    volatile char pad[1024];
    pad[0] = static_cast<char>(depth);
    if (depth == bottom) return 0;
    return recurse(depth + 1) + pad[0];
}

}  // namespace

int main(int argc, char** argv) {
    const std::string what = argc > 1 ? argv[1] : "";
    if (what == "fail") {
        auto g = green::spawn(green::SpawnOptions{.name = "doomed"}, [] { throw std::runtime_error("kaboom"); });
        g.join();
        std::puts("survived");
        return 0;
    }
    if (what == "exit_with_parked") {
        green::Event never;
        for (int i = 0; i < 10; ++i) green::spawn([&] { never.wait(); });
        green::spawn([] { green::sleep(100s); });
        green::sleep(5ms);
        std::puts("bye");
        return 0;
    }
    if (what == "overflow") {
        auto g = green::spawn(green::SpawnOptions{.name = "deep", .stack_size = 64 * 1024}, [] { return recurse(0); });
        g.join();
        std::puts("not reached");
        return 0;
    }
    if (what == "stack_size") {
        // Prints the size of a default stack, as dump() reports it.
        auto g = green::spawn([] { green::sleep(1s); });
        green::yield();
        std::fputs(green::dump().c_str(), stdout);
        g.kill();
        return 0;
    }
    std::fprintf(stderr, "usage: core_helper fail|exit_with_parked|overflow|stack_size\n");
    return 2;
}
