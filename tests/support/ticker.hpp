// A greenlet that counts 5 ms ticks while it lives: proof that the hub kept
// running while another greenlet waited.
#pragma once

#include <green/green.hpp>

namespace test {

struct Ticker {
    int ticks = 0;
    bool stop = false;
    green::Greenlet<void> g = green::spawn([this] {
        while (!stop) {
            green::sleep(std::chrono::milliseconds(5));
            ++ticks;
        }
    });
    ~Ticker() {
        stop = true;
        g.join();
    }
};

}  // namespace test
