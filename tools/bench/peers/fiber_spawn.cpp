// usage: fiber_spawn [R=200 batches] [B=1000 fibers per batch] [pooled]
// Boost.Fiber spawn+run+join cost, batches of B fibers created then joined.
// Prints: RESULT boost_fiber_spawn_join_ns <ns per fiber> ns
// With "pooled": uses pooled_fixedsize_stack instead of the default
// malloc'd 128 KiB stacks (whose page faults dominate the default cost) and
// prints RESULT boost_fiber_pooled_spawn_join_ns instead.
// Build: g++ -O2 -std=c++20 fiber_spawn.cpp -lboost_fiber -lboost_context
#include <boost/fiber/all.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    long r = argc > 1 ? std::atol(argv[1]) : 200;
    long b = argc > 2 ? std::atol(argv[2]) : 1000;
    bool pooled = argc > 3 && std::string(argv[3]) == "pooled";
    boost::fibers::pooled_fixedsize_stack pool;
    std::vector<int> out(b);
    std::vector<boost::fibers::fiber> fibers;
    fibers.reserve(b);
    auto t0 = std::chrono::steady_clock::now();
    for (long k = 0; k < r; ++k) {
        for (long i = 0; i < b; ++i)
            if (pooled)
                fibers.emplace_back(std::allocator_arg, pool, [&out, i] { out[i] = int(i); });
            else
                fibers.emplace_back([&out, i] { out[i] = int(i); });
        for (auto& f : fibers) f.join();
        fibers.clear();
    }
    auto t1 = std::chrono::steady_clock::now();
    double ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
    std::fprintf(stderr, "%ld fibers in %.3f s (check %d)\n", r * b, ns / 1e9, out[b - 1]);
    std::printf("RESULT boost_fiber_%sspawn_join_ns %.2f ns\n", pooled ? "pooled_" : "",
                ns / double(r * b));
    return 0;
}
