// A child process for tests that must watch a whole program: its exit status,
// its stderr, or a crash. The first argument picks the scenario.
#include <green/green.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

volatile int bottom = 1 << 30;  // never reached: the stack overflows first

// Not inlined into itself: one frame stays well under the guard page, which a
// bigger frame (two levels inlined, with sanitizer redzones) can step over into
// the mapping below.
[[gnu::noinline]] int recurse(int depth) {
    volatile char pad[1024];
    pad[0] = static_cast<char>(depth);
    if (depth == bottom) return 0;
    return recurse(depth + 1) + pad[0];
}

// Distinct frames for the gdb helper's backtraces to show.
[[gnu::noinline]] void nap_in_sleep() {
    green::sleep(60s);
    asm volatile("");  // keeps the call from becoming a tail call
}

[[gnu::noinline]] void wait_for_event(green::Event& e) {
    e.wait();
    asm volatile("");
}

// While set, operator new fails, as it does once memory runs out (ulimit -v).
std::atomic<bool> no_memory{false};

}  // namespace

// ThreadSanitizer's runtime, linked statically, defines operator new itself
// (stack_test skips the case there).
#if defined(__SANITIZE_THREAD__)
#define GREEN_TSAN_RUNTIME 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GREEN_TSAN_RUNTIME 1
#endif
#endif
#ifndef GREEN_TSAN_RUNTIME
void* operator new(std::size_t n) {
    if (no_memory.load(std::memory_order_relaxed)) throw std::bad_alloc();
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
// Not inlined: GCC would take free() of what operator new returned for a mismatch.
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

int main(int argc, char** argv) {
    const std::string what = argc > 1 ? argv[1] : "";
    if (what == "fail") {
        auto g = green::spawn(green::SpawnOptions{.name = "doomed"}, [] { throw std::runtime_error("kaboom"); });
        g.join();
        std::puts("survived");
        return 0;
    }
    if (what == "wake_dead") {
        // A wake-up for a greenlet that has finished: a primitive's bug.
        auto g = green::spawn(green::SpawnOptions{.name = "finished"}, [] {});
        g.join();
        green::detail::wake(g.core(), green::detail::WakeReason::woken);
        std::puts("ignored");
        return 0;
    }
    if (what == "exit_with_parked") {
        green::Event never;
        for (int i = 0; i < 10; ++i) green::spawn([&] { never.wait(); });
        green::spawn([] { green::sleep(100s); });
        green::sleep(5ms);
        std::puts("bye");
        return 0;
    }
    if (what == "overflow") {
        auto g = green::spawn(green::SpawnOptions{.name = "deep", .stack_size = 64 * 1024}, [] { return recurse(0); });
        g.join();
        std::puts("not reached");
        return 0;
    }
    if (what == "end_without_memory") {
        // 1100 greenlets end while operator new fails: more than the pool keeps
        // hot, so their stacks go to every free list there is (or are unmapped).
        green::Event go;
        std::vector<green::Greenlet<void>> gs;
        for (int i = 0; i < 1100; ++i) gs.push_back(green::spawn([&] { go.wait(); }));
        green::sleep(1ms);  // all of them park
        no_memory = true;
        go.set();
        for (auto& g : gs) g.join();
        no_memory = false;
        std::puts("all ended");
        return 0;
    }
    if (what == "settings") {
        // Reads every numeric GREEN_* setting of the runtime and says what it got.
        std::printf("threadpool %zu\n", green::default_thread_pool().maxsize());
        auto g = green::spawn([] { green::sleep(1s); });  // a stack (GREEN_STACK_SIZE, _GUARDED_STACKS)
        green::yield();
        std::fputs(green::dump().c_str(), stdout);
        g.kill();
        green::dns::set_servers("");  // the first DNS setting applies GREEN_DNS_* before it
        return 0;
    }
    if (what == "stack_size") {
        // Prints the size of a default stack, as dump() reports it.
        auto g = green::spawn([] { green::sleep(1s); });
        green::yield();
        std::fputs(green::dump().c_str(), stdout);
        g.kill();
        return 0;
    }
    if (what == "resolve" && argc > 2) {
        // Resolves a name with the settings from the environment (GREEN_DNS_*).
        try {
            for (const auto& ai : green::dns::getaddrinfo(argv[2], "", {.socktype = SOCK_STREAM}))
                std::printf("%s\n", ai.address.host().c_str());
        } catch (const green::dns::Error& e) {
            std::fprintf(stderr, "%s\n", e.what());
            return 1;
        }
        return 0;
    }
    if (what == "spin") {
        // A greenlet that computes for 300 ms without switching (GREEN_MONITOR_MS reports it).
        auto g = green::spawn(green::SpawnOptions{.name = "spinner"}, [] {
            const auto until = std::chrono::steady_clock::now() + 300ms;
            while (std::chrono::steady_clock::now() < until) {
            }
        });
        g.join();
        green::sleep(20ms);
        std::puts("done");
        return 0;
    }
    if (what == "emfile") {
        // A server out of descriptors backs off, then serves once some come back.
        rlimit lim{64, 64};
        setrlimit(RLIMIT_NOFILE, &lim);
        green::StreamServer server(green::Address::parse("127.0.0.1:0"),
                                   [](green::Socket c, green::Address) { c.sendall("served"); });
        server.start();
        std::vector<int> hog;
        for (int fd; (fd = ::dup(0)) >= 0;) hog.push_back(fd);
        // One descriptor for the client, which connects into the backlog.
        ::close(hog.back());
        hog.pop_back();
        auto client = green::spawn([&] {
            green::Socket c(AF_INET, SOCK_STREAM);
            c.connect(server.address());
            return c.recv(100);
        });
        rusage before{}, after{};
        getrusage(RUSAGE_SELF, &before);
        green::sleep(300ms);  // the accept loop hits EMFILE and backs off
        getrusage(RUSAGE_SELF, &after);
        const double cpu = (after.ru_utime.tv_sec - before.ru_utime.tv_sec) + (after.ru_stime.tv_sec - before.ru_stime.tv_sec) +
                           ((after.ru_utime.tv_usec - before.ru_utime.tv_usec) + (after.ru_stime.tv_usec - before.ru_stime.tv_usec)) / 1e6;
        for (int fd : hog) ::close(fd);
        const std::string got = client.get(5s);
        std::printf("%s after recovery; cpu while starved %.3f s\n", got == "served" ? "served" : "NOT served", cpu);
        server.stop();
        return got == "served" && cpu < 0.15 ? 0 : 1;
    }
    if (what == "stop_for_gdb") {
        // Three parked greenlets (one unnamed), then a SIGTRAP that stops the
        // program under gdb.
        green::Event never;
        auto sleeper = green::spawn(green::SpawnOptions{.name = "sleeper"}, [] { nap_in_sleep(); });
        auto waiter = green::spawn(green::SpawnOptions{.name = "waiter"}, [&] { wait_for_event(never); });
        auto unnamed = green::spawn([&] { wait_for_event(never); });
        green::sleep(10ms);
        std::raise(SIGTRAP);
        std::puts("continued");
        return 0;
    }
    std::fprintf(stderr, "usage: core_helper fail|wake_dead|exit_with_parked|overflow|end_without_memory|settings|stack_size|resolve NAME|emfile|spin|stop_for_gdb\n");
    return 2;
}
