// green's side of the network benchmarks. Prints "RESULT name value unit".
// Usage: net_bench dns NAME_SUFFIX COUNT
//   resolves COUNT distinct names (n<i>.NAME_SUFFIX) concurrently, one greenlet
//   each, through the resolver settings of the environment (GREEN_DNS_SERVERS).
#include <green/green.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 4 || std::strcmp(argv[1], "dns") != 0) {
        std::fprintf(stderr, "usage: net_bench dns NAME_SUFFIX COUNT\n");
        return 2;
    }
    const std::string suffix = argv[2];
    const int count = std::atoi(argv[3]);
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<green::Greenlet<bool>> lookups;
    lookups.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        std::string name = "n";
        name += std::to_string(i);
        name += '.';
        name += suffix;
        lookups.push_back(green::spawn([name = std::move(name)] {
            return !green::dns::getaddrinfo(name, "", {.socktype = SOCK_STREAM}).empty();
        }));
    }
    green::joinall(lookups);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    int failed = 0;
    for (auto& g : lookups) failed += !g.successful();
    std::printf("RESULT green_dns_concurrent_total_s %.6f s\n", s);
    std::printf("RESULT green_dns_concurrent_failed %d count\n", failed);
}
