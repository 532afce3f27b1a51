// Runs commands at once, each in its own greenlet, and feeds one through a pipe.
// Usage: subprocess
#include <green/green.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace std::chrono_literals;

int main() {
    const auto start = std::chrono::steady_clock::now();
    std::vector<green::Greenlet<green::CompletedProcess>> jobs;
    for (int i = 1; i <= 5; ++i)  // five children that each take 0.3 s
        jobs.push_back(green::spawn([i] {
            return green::run({"sh", "-c", "sleep 0.3; echo job " + std::to_string(i)}, {.check = true, .timeout = 10s});
        }));
    for (auto& job : jobs) std::fputs(job.get().out.c_str(), stdout);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    std::printf("5 jobs of 0.3 s in %.1f s\n", took.count());

    green::Popen sort({"sort"}, {.in = green::Stdio::pipe, .out = green::Stdio::pipe});
    const green::Output sorted = sort.communicate("pear\napple\nfig\n", 10s);
    std::printf("sorted:\n%sexit status %d\n", sorted.out.c_str(), *sort.returncode());
}
