// The README's example: spawn greenlets, pass work through a Queue, joinall.
// Usage: hello
#include <green/green.hpp>

#include <cstdio>
#include <string>
#include <vector>

using namespace std::chrono_literals;

int main() {
    green::Queue<std::string> done;
    std::vector<green::Greenlet<int>> workers;
    for (int i = 1; i <= 5; ++i) {
        workers.push_back(green::spawn([&done, i] {
            green::sleep(i * 10ms);  // stands in for a network wait
            done.put("worker " + std::to_string(i) + " finished");
            return i * i;
        }));
    }
    green::spawn([&] { green::joinall(workers); done.close(); });
    for (const std::string& line : done) std::puts(line.c_str());  // until closed
    int sum = 0;
    for (auto& w : workers) sum += w.get();
    std::printf("sum of squares: %d\n", sum);
}
