// The classic gevent demo: fetch many URLs at once, one greenlet each, and print
// each page as it arrives, with the time since the start; then the total time
// next to the sum of the single fetches' times, which is what fetching them one
// after another would take.
// Usage: fetch URL...   (http:// or https://)
#include <green/green.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "http_get.hpp"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: fetch URL...\n");
        return 2;
    }
    const auto start = std::chrono::steady_clock::now();
    double sum = 0;  // of each fetch's own time
    int failed = 0;
    std::vector<green::Greenlet<void>> jobs;
    for (int i = 1; i < argc; ++i) {
        const std::string url = argv[i];
        jobs.push_back(green::spawn([url, start, &sum, &failed] {
            const auto begun = std::chrono::steady_clock::now();
            try {
                const std::size_t bytes = example::http_get(url).size();
                sum += seconds_since(begun);
                std::printf("%6.2f s  %zu bytes received from %s\n", seconds_since(start), bytes, url.c_str());
                std::fflush(stdout);
            } catch (const std::exception& e) {
                std::printf("%6.2f s  %s failed: %s\n", seconds_since(start), url.c_str(), e.what());
                std::fflush(stdout);
                ++failed;
            }
        }));
    }
    green::joinall(jobs);
    std::printf("%d of %d pages in %.2f s; one after another they would take %.2f s (the sum of their times)\n",
                argc - 1 - failed, argc - 1, seconds_since(start), sum);
    return failed ? 1 : 0;
}
