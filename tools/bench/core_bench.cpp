// green's side of the runtime-core benchmarks. Prints "RESULT name value unit".
// Usage: core_bench switch|queue|lock|io|io_many|spawn|park|million|run [N]
#include <green/green.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

double ns_since(Clock::time_point t0) { return std::chrono::duration<double, std::nano>(Clock::now() - t0).count(); }

// A memory figure from /proc/self/status ("VmRSS:", "VmHWM:"), in bytes.
long status_bytes(const char* field) {
    std::ifstream status("/proc/self/status");
    std::string key;
    long kb = 0;
    while (status >> key) {
        if (key == field) {
            status >> kb;
            break;
        }
    }
    return kb * 1024;
}

long rss_bytes() { return status_bytes("VmRSS:"); }
long peak_rss_bytes() { return status_bytes("VmHWM:"); }

// Two greenlets hand control back and forth through two Events.
void bench_switch(long rounds) {
    green::Event ping, pong;
    auto t0 = Clock::now();
    auto other = green::spawn([&] {
        for (long i = 0; i < rounds; ++i) {
            ping.wait();
            ping.clear();
            pong.set();
        }
    });
    for (long i = 0; i < rounds; ++i) {
        ping.set();
        pong.wait();
        pong.clear();
    }
    other.join();
    std::printf("RESULT green_switch_ns %.2f ns\n", ns_since(t0) / (2.0 * rounds));
}

// Two greenlets hand a number back and forth through two Queues: every get
// waits, and every put hands its item straight to the waiting getter.
void bench_queue(long rounds) {
    green::Queue<long> there, back;
    auto t0 = Clock::now();
    auto other = green::spawn([&] {
        for (long i = 0; i < rounds; ++i) back.put(there.get());
    });
    for (long i = 0; i < rounds; ++i) {
        there.put(i);
        back.get();
    }
    other.join();
    std::printf("RESULT green_queue_handoff_ns %.2f ns\n", ns_since(t0) / (2.0 * rounds));
}

// Two greenlets take turns holding a Lock: each release hands it to the
// other, which waits in acquire, and the releaser's next acquire waits.
void bench_lock(long rounds) {
    green::Lock lock;
    lock.lock();
    auto other = green::spawn([&] {
        for (long i = 0; i < rounds; ++i) {
            lock.lock();
            lock.unlock();
        }
    });
    green::sleep(0s);  // the other greenlet now waits for the lock
    auto t0 = Clock::now();
    for (long i = 0; i < rounds; ++i) {
        lock.unlock();
        lock.lock();
    }
    const double ns = ns_since(t0);
    lock.unlock();
    other.join();
    std::printf("RESULT green_lock_handoff_ns %.2f ns\n", ns / (2.0 * rounds));
}

// A greenlet waits for a pipe that stays readable: each wait parks, the hub
// polls the loop, which finds the pipe ready and wakes the greenlet.
void bench_io(long rounds) {
    int p[2];
    if (pipe(p) != 0 || write(p[1], "x", 1) != 1) {
        std::perror("pipe");
        std::exit(1);
    }
    auto t0 = Clock::now();
    for (long i = 0; i < rounds; ++i) green::wait_readable(p[0]);
    std::printf("RESULT green_io_wait_ns %.2f ns\n", ns_since(t0) / double(rounds));
}

// The same wait with 100 greenlets, each on a pipe of its own that stays
// readable: one poll of the loop wakes them all, as in a busy server, so the
// loop's fixed cost per poll is shared and what is left is the cost of a wait.
// Timed per wait.
void bench_io_many(long rounds) {
    constexpr int kWaiters = 100;
    std::vector<int> readable(kWaiters);
    for (int& fd : readable) {
        int p[2];
        if (pipe(p) != 0 || write(p[1], "x", 1) != 1) {
            std::perror("pipe");
            std::exit(1);
        }
        fd = p[0];
    }
    std::vector<green::Greenlet<void>> waiters;
    auto t0 = Clock::now();
    for (int fd : readable)
        waiters.push_back(green::spawn([fd, rounds] {
            for (long i = 0; i < rounds; ++i) green::wait_readable(fd);
        }));
    green::joinall(waiters);
    std::printf("RESULT green_io_many_wait_ns %.2f ns\n", ns_since(t0) / (double(rounds) * kWaiters));
}

// Spawn 1000 greenlets, let them run, join them all; repeat.
void bench_spawn(long batches) {
    constexpr int kBatch = 1000;
    std::vector<green::Greenlet<int>> gs;
    gs.reserve(kBatch);
    auto t0 = Clock::now();
    for (long b = 0; b < batches; ++b) {
        gs.clear();
        for (int i = 0; i < kBatch; ++i) gs.push_back(green::spawn([i] { return i; }));
        green::joinall(gs);
    }
    std::printf("RESULT green_spawn_join_ns %.2f ns\n", ns_since(t0) / (double(batches) * kBatch));
}

// N greenlets parked in sleep: resident memory per greenlet.
void bench_park(long n) {
    std::vector<green::Greenlet<void>> gs;
    gs.reserve(static_cast<std::size_t>(n));
    green::sleep(1ms);  // the hub exists before the baseline
    const long before = rss_bytes();
    for (long i = 0; i < n; ++i) gs.push_back(green::spawn([] { green::sleep(30s); }));
    green::sleep(10ms);  // every one has run up to its sleep
    const long after = rss_bytes();
    std::printf("RESULT green_park_rss_per_greenlet_bytes %.0f bytes\n", double(after - before) / double(n));
    std::fflush(stdout);
    std::_Exit(0);  // no need to wake them all
}

// N greenlets spawned, parked in a short sleep, all completed.
void bench_million(long n) {
    auto t0 = Clock::now();
    std::vector<green::Greenlet<void>> gs;
    gs.reserve(static_cast<std::size_t>(n));
    for (long i = 0; i < n; ++i) gs.push_back(green::spawn([] { green::sleep(200ms); }));
    green::joinall(gs);
    long done = 0;
    for (auto& g : gs) done += g.successful();
    std::printf("RESULT green_million_completed %ld greenlets\n", done);
    std::printf("RESULT green_million_seconds %.2f s\n", ns_since(t0) / 1e9);
    std::printf("RESULT green_million_peak_rss_per_greenlet_bytes %.0f bytes\n", double(peak_rss_bytes()) / double(n));
}

// green::run({"true"}) N times: a child started, its (piped, empty) output
// collected and the child reaped, while the thread's hub stays free.
void bench_run(long n) {
    auto t0 = Clock::now();
    for (long i = 0; i < n; ++i) {
        if (green::run({"true"}).returncode != 0) {
            std::fprintf(stderr, "core_bench: true failed\n");
            std::exit(1);
        }
    }
    std::printf("RESULT green_run_true_ns %.0f ns\n", ns_since(t0) / double(n));
}

}  // namespace

int main(int argc, char** argv) {
    const char* what = argc > 1 ? argv[1] : "";
    const long n = argc > 2 ? std::atol(argv[2]) : 0;
    if (!std::strcmp(what, "switch")) bench_switch(n ? n : 5'000'000);
    else if (!std::strcmp(what, "queue")) bench_queue(n ? n : 2'000'000);
    else if (!std::strcmp(what, "lock")) bench_lock(n ? n : 2'000'000);
    else if (!std::strcmp(what, "io")) bench_io(n ? n : 1'000'000);
    else if (!std::strcmp(what, "io_many")) bench_io_many(n ? n : 20'000);
    else if (!std::strcmp(what, "spawn")) bench_spawn(n ? n : 1000);
    else if (!std::strcmp(what, "park")) bench_park(n ? n : 100'000);
    else if (!std::strcmp(what, "million")) bench_million(n ? n : 1'000'000);
    else if (!std::strcmp(what, "run")) bench_run(n ? n : 2000);
    else {
        std::fprintf(stderr, "usage: core_bench switch|queue|lock|io|io_many|spawn|park|million|run [N]\n");
        return 2;
    }
}
