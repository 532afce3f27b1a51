// usage: raw_own_switch [N=20000000]
// The raw cost of green's own switch (runtime/src/core/context.hpp, x86-64):
// two contexts ping-pong with it in the loop shape of raw_switch.cpp, nothing
// else. Prints: RESULT raw_own_switch_ns <ns per switch> ns
// Build: g++ -O2 -std=c++20 -I runtime/include -I runtime/src raw_own_switch.cpp
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "core/context.hpp"

#ifndef GREEN_OWN_SWITCH
#error "raw_own_switch: green's own switch is x86-64 only"
#endif

using green::detail::FiberContext;
using green::detail::context_impl::jump;

static long g_rounds;  // round trips the peer context performs
alignas(64) static char g_stack[64 * 1024];
static FiberContext g_main, g_peer;

// Entered by the first switch, as context.cpp's fiber_start is.
[[noreturn]] static void peer(FiberContext*, FiberContext*) {
    for (long i = 0; i < g_rounds; ++i) jump(g_peer, g_main);
    for (;;) jump(g_peer, g_main);
}

int main(int argc, char** argv) {
    long n = argc > 1 ? std::atol(argv[1]) : 20000000;
    g_rounds = n / 2;  // each round trip = 2 switches
    // A fresh context as make_context lays it out: a null return address below
    // a 16-byte boundary, the creator's floating-point control.
    auto** top = reinterpret_cast<void**>(g_stack + sizeof g_stack) - 1;
    *top = nullptr;
    g_peer.sp = top;
    g_peer.pc = reinterpret_cast<void*>(&peer);
    asm("stmxcsr %0\n\tfnstcw %1" : "=m"(g_peer.mxcsr), "=m"(g_peer.x87_cw));
    jump(g_main, g_peer);  // warm up / enter peer
    auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < g_rounds; ++i) jump(g_main, g_peer);
    auto t1 = std::chrono::steady_clock::now();
    double ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
    std::fprintf(stderr, "%ld switches in %.3f s\n", 2 * g_rounds, ns / 1e9);
    std::printf("RESULT raw_own_switch_ns %.2f ns\n", ns / (2.0 * g_rounds));
    return 0;
}
