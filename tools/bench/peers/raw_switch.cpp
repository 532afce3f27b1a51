// usage: raw_switch [N=20000000]
// Raw Boost.Context cost: two contexts ping-pong with jump_fcontext.
// Prints: RESULT raw_switch_ns <ns per switch> ns
// Build: g++ -O2 -std=c++20 raw_switch.cpp -lboost_context
#include <boost/context/detail/fcontext.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace ctx = boost::context::detail;

static long g_rounds;                 // round trips the peer context performs
alignas(64) static char g_stack[64 * 1024];

static void peer(ctx::transfer_t t) {
    for (long i = 0; i < g_rounds; ++i) t = ctx::jump_fcontext(t.fctx, nullptr);
    // Never return from a context function: hand control back for good.
    for (;;) t = ctx::jump_fcontext(t.fctx, nullptr);
}

int main(int argc, char** argv) {
    long n = argc > 1 ? std::atol(argv[1]) : 20000000;
    g_rounds = n / 2;  // each round trip = 2 switches
    // make_fcontext takes the *top* of the stack (it grows down).
    ctx::fcontext_t c = ctx::make_fcontext(g_stack + sizeof g_stack, sizeof g_stack, peer);
    ctx::transfer_t t = ctx::jump_fcontext(c, nullptr);  // warm up / enter peer
    auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < g_rounds; ++i) t = ctx::jump_fcontext(t.fctx, nullptr);
    auto t1 = std::chrono::steady_clock::now();
    double ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
    std::fprintf(stderr, "%ld switches in %.3f s\n", 2 * g_rounds, ns / 1e9);
    std::printf("RESULT raw_switch_ns %.2f ns\n", ns / (2.0 * g_rounds));
    return 0;
}
