// The classic gevent demo: fetch many URLs at once, one greenlet each, and print
// the bytes received per URL as each finishes.
// Usage: fetch URL...   (http:// only)
#include <green/green.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "http_get.hpp"

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: fetch URL...\n");
        return 2;
    }
    std::vector<green::Greenlet<std::size_t>> jobs;
    for (int i = 1; i < argc; ++i) {
        const std::string url = argv[i];
        jobs.push_back(green::spawn([url] {
            const std::size_t bytes = example::http_get(url).size();
            std::printf("%zu bytes received from %s\n", bytes, url.c_str());
            return bytes;
        }));
    }
    green::joinall(jobs);
    int failed = 0;
    for (auto& j : jobs) failed += !j.successful();
    return failed ? 1 : 0;
}
