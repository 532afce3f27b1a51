// Thread probe (C++20): the standard library's threads. std::thread, mutex,
// recursive_mutex, timed_mutex (try_lock_for), condition_variable (wait_for,
// both outcomes), condition_variable_any (with a stop_token), shared_mutex,
// call_once, a function-local static whose initialiser blocks (and one that
// throws first), atomic wait/notify, counting_semaphore, latch, barrier,
// jthread with stop_token, promise/future and async, thread_local.
#include "probe_threads.h"

#include <atomic>
#include <barrier>
#include <chrono>
#include <condition_variable>
#include <future>
#include <latch>
#include <mutex>
#include <semaphore>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

template <class F>
auto in_other_thread(F f) {
    decltype(f()) result{};
    std::thread([&] { result = f(); }).join();
    return result;
}

// ---------------------------------------------------------------------------

void threads() {
    std::printf("-- std::thread\n");
    const auto main_id = std::this_thread::get_id();
    std::vector<std::thread::id> seen(4), after(4);
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; ++i)
        ts.emplace_back([&, i] {
            seen[i] = std::this_thread::get_id();
            std::this_thread::yield();
            std::this_thread::sleep_for(5ms);
            after[i] = std::this_thread::get_id();
        });
    std::vector<std::thread::id> created;
    for (auto& t : ts) created.push_back(t.get_id());
    for (auto& t : ts) t.join();
    bool stable = true, distinct = true, matches = true;
    for (int i = 0; i < 4; ++i) {
        stable = stable && seen[i] == after[i];
        matches = matches && seen[i] == created[i];
        distinct = distinct && seen[i] != main_id;
        for (int j = 0; j < i; ++j) distinct = distinct && seen[i] != seen[j];
    }
    check_yes("  get_id stable across a sleep", stable);
    check_yes("  get_id inside is the std::thread's id", matches);
    check_yes("  ids of threads alive together are distinct (and not main's)", distinct);
    check_yes("  joinable after join", !ts[0].joinable());
    const auto t0 = Clock::now();
    std::this_thread::sleep_for(50ms);
    check_took("  sleep_for(50ms)", seconds_since(t0), 0.05);
}

// ---------------------------------------------------------------------------

// Four threads add 1 ten times each, with a sleep between read and write
// inside the lock (recursive mutexes: locked twice).
template <class M>
int contend(M& m) {
    constexpr bool recursive = std::is_same_v<M, std::recursive_mutex> || std::is_same_v<M, std::recursive_timed_mutex>;
    int value = 0;
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; ++i)
        ts.emplace_back([&] {
            for (int k = 0; k < 10; ++k) {
                std::lock_guard g(m);
                if constexpr (recursive) m.lock();
                const int v = value;
                std::this_thread::sleep_for(300us);
                value = v + 1;
                if constexpr (recursive) m.unlock();
            }
        });
    for (auto& t : ts) t.join();
    return value;
}

void mutexes() {
    std::printf("-- mutexes\n");
    std::mutex m;
    check_int("  std::mutex: counter after 4 threads x 10", contend(m), 40);
    m.lock();
    check_yes("  std::mutex: try_lock from another thread fails", !in_other_thread([&] {
        const bool got = m.try_lock();
        if (got) m.unlock();
        return got;
    }));
    m.unlock();

    std::recursive_mutex rm;
    check_int("  std::recursive_mutex: counter after 4 threads x 10", contend(rm), 40);
    rm.lock();
    rm.lock();
    check_yes("  std::recursive_mutex: try_lock by the owner", rm.try_lock());
    check_yes("  std::recursive_mutex: try_lock from another thread fails", !in_other_thread([&] {
        const bool got = rm.try_lock();
        if (got) rm.unlock();
        return got;
    }));
    rm.unlock();
    rm.unlock();
    rm.unlock();
    check_yes("  std::recursive_mutex: try_lock from another thread once free", in_other_thread([&] {
        const bool got = rm.try_lock();
        if (got) rm.unlock();
        return got;
    }));

    std::timed_mutex tm;
    check_int("  std::timed_mutex: counter after 4 threads x 10", contend(tm), 40);
    tm.lock();
    check_yes("  std::timed_mutex: try_lock_for(100ms) from another thread fails", !in_other_thread([&] {
        const auto t0 = Clock::now();
        const bool got = tm.try_lock_for(100ms);
        check_took("  std::timed_mutex: it waited 100 ms", seconds_since(t0), 0.1);
        if (got) tm.unlock();
        return got;
    }));
    check_yes("  std::timed_mutex: try_lock_until(system_clock + 100ms) from another thread fails",
              !in_other_thread([&] {
                  const bool got = tm.try_lock_until(std::chrono::system_clock::now() + 100ms);
                  if (got) tm.unlock();
                  return got;
              }));
    tm.unlock();
    check_yes("  std::timed_mutex: try_lock_for(2s) once free", in_other_thread([&] {
        const bool got = tm.try_lock_for(2s);
        if (got) tm.unlock();
        return got;
    }));

    std::recursive_timed_mutex rtm;
    check_int("  std::recursive_timed_mutex: counter after 4 threads x 10", contend(rtm), 40);
    rtm.lock();
    check_yes("  std::recursive_timed_mutex: try_lock_for(100ms) from another thread fails", !in_other_thread([&] {
        const bool got = rtm.try_lock_for(100ms);
        if (got) rtm.unlock();
        return got;
    }));
    rtm.unlock();
}

// ---------------------------------------------------------------------------

void conditions() {
    std::printf("-- std::condition_variable\n");
    std::mutex m;
    std::condition_variable cv;
    bool ready = false;
    {
        std::unique_lock lk(m);
        const auto t0 = Clock::now();
        check_yes("  wait_for(100ms) nobody notifies: predicate false", !cv.wait_for(lk, 100ms, [&] { return ready; }));
        check_took("  it waited 100 ms", seconds_since(t0), 0.1);
        check_yes("  lock owned on return", lk.owns_lock());
        const auto t1 = Clock::now();
        check_yes("  wait_until(system_clock + 100ms): timeout",
                  cv.wait_until(lk, std::chrono::system_clock::now() + 100ms) == std::cv_status::timeout);
        check_took("  it waited 100 ms", seconds_since(t1), 0.1);
    }
    std::thread notifier([&] {
        std::this_thread::sleep_for(30ms);
        std::lock_guard g(m);
        ready = true;
        cv.notify_one();
    });
    {
        std::unique_lock lk(m);
        const auto t0 = Clock::now();
        check_yes("  wait_for(5s) notified after 30 ms: predicate true", cv.wait_for(lk, 5s, [&] { return ready; }));
        check_yes("  it returned early", seconds_since(t0) < 4.0);
    }
    notifier.join();

    int waiting = 0, woken = 0, generation = 0;
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; ++i)
        ts.emplace_back([&] {
            std::unique_lock lk(m);
            const int mine = generation;
            ++waiting;
            cv.notify_all();
            cv.wait(lk, [&] { return generation != mine; });
            ++woken;
        });
    {
        std::unique_lock lk(m);
        cv.wait(lk, [&] { return waiting == 4; });
        ++generation;
    }
    cv.notify_all();
    for (auto& t : ts) t.join();
    check_int("  notify_all: waiters woken", woken, 4);

    std::printf("-- std::condition_variable_any\n");
    std::shared_mutex sm;
    std::condition_variable_any cva;
    bool flag = false;
    std::thread setter([&] {
        std::this_thread::sleep_for(20ms);
        std::lock_guard g(sm);
        flag = true;
        cva.notify_all();
    });
    {
        std::unique_lock lk(sm);
        check_yes("  wait_for(5s) with a shared_mutex: notified", cva.wait_for(lk, 5s, [&] { return flag; }));
        const auto t0 = Clock::now();
        check_yes("  wait_for(100ms) on a false predicate", !cva.wait_for(lk, 100ms, [] { return false; }));
        check_took("  it waited 100 ms", seconds_since(t0), 0.1);
    }
    setter.join();
    std::stop_source stop;
    std::mutex m2;
    bool stopped_wait_result = true;
    std::thread stoppable([&] {
        std::unique_lock lk(m2);
        stopped_wait_result = cva.wait(lk, stop.get_token(), [] { return false; });
    });
    std::this_thread::sleep_for(20ms);
    stop.request_stop();
    stoppable.join();
    check_yes("  wait with a stop_token returns false on request_stop", !stopped_wait_result);
}

// ---------------------------------------------------------------------------

void shared_mutexes() {
    std::printf("-- std::shared_mutex\n");
    std::shared_mutex sm;
    std::mutex m;
    std::condition_variable cv;
    int inside = 0, saw_all = 0;
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; ++i)
        ts.emplace_back([&] {
            std::shared_lock s(sm);
            std::unique_lock lk(m);
            ++inside;
            cv.notify_all();
            if (cv.wait_for(lk, 5s, [&] { return inside == 4; })) ++saw_all;
        });
    for (auto& t : ts) t.join();
    check_int("  readers that saw all 4 inside at once", saw_all, 4);
    sm.lock_shared();
    check_yes("  try_lock from another thread while shared", !in_other_thread([&] {
        const bool got = sm.try_lock();
        if (got) sm.unlock();
        return got;
    }));
    check_yes("  try_lock_shared from another thread while shared", in_other_thread([&] {
        const bool got = sm.try_lock_shared();
        if (got) sm.unlock_shared();
        return got;
    }));
    sm.unlock_shared();
    sm.lock();
    check_yes("  try_lock_shared from another thread while exclusive", !in_other_thread([&] {
        const bool got = sm.try_lock_shared();
        if (got) sm.unlock_shared();
        return got;
    }));
    sm.unlock();
    int value = 0, overlaps = 0, writers = 0;
    ts.clear();
    for (int i = 0; i < 3; ++i)
        ts.emplace_back([&] {
            for (int k = 0; k < 10; ++k) {
                std::unique_lock w(sm);
                if (++writers != 1) ++overlaps;
                const int v = value;
                std::this_thread::sleep_for(200us);
                value = v + 1;
                --writers;
            }
        });
    for (auto& t : ts) t.join();
    check_int("  writers: value after 3 x 10", value, 30);
    check_int("  writers inside together", overlaps, 0);

    std::shared_timed_mutex stm;
    stm.lock();
    check_yes("  shared_timed_mutex: try_lock_shared_for(100ms) from another thread fails", !in_other_thread([&] {
        const auto t0 = Clock::now();
        const bool got = stm.try_lock_shared_for(100ms);
        check_took("  shared_timed_mutex: it waited 100 ms", seconds_since(t0), 0.1);
        if (got) stm.unlock_shared();
        return got;
    }));
    stm.unlock();
}

// ---------------------------------------------------------------------------

std::atomic<int> g_static_inits{0};
std::atomic<int> g_throwing_attempts{0};

int slow_value() {
    static const int value = [] {
        ++g_static_inits;
        std::this_thread::sleep_for(50ms);  // the others arrive meanwhile
        return 42;
    }();
    return value;
}

int throwing_value() {
    static const int value = [] {
        if (++g_throwing_attempts == 1) {
            std::this_thread::sleep_for(30ms);
            throw std::runtime_error("first attempt fails");
        }
        std::this_thread::sleep_for(10ms);
        return 7;
    }();
    return value;
}

void once_and_statics() {
    std::printf("-- std::call_once and function-local statics\n");
    std::once_flag flag;
    std::atomic<int> runs{0}, saw{0};
    std::atomic<bool> done{false};
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; ++i)
        ts.emplace_back([&] {
            std::call_once(flag, [&] {
                ++runs;
                std::this_thread::sleep_for(50ms);
                done = true;
            });
            if (done) ++saw;
        });
    for (auto& t : ts) t.join();
    check_int("  call_once: initialiser runs (4 threads at once)", runs, 1);
    check_int("  call_once: threads that saw it done", saw, 4);

    std::atomic<int> right{0};
    ts.clear();
    for (int i = 0; i < 4; ++i) ts.emplace_back([&] { right += slow_value() == 42; });
    for (auto& t : ts) t.join();
    check_int("  static with a blocking initialiser: initialiser runs", g_static_inits, 1);
    check_int("  static with a blocking initialiser: threads that saw 42", right, 4);

    std::atomic<int> threw{0}, got{0};
    ts.clear();
    for (int i = 0; i < 3; ++i)
        ts.emplace_back([&] {
            try {
                got += throwing_value() == 7;
            } catch (const std::runtime_error&) {
                ++threw;
            }
        });
    for (auto& t : ts) t.join();
    check_int("  static whose first initialisation throws: attempts", g_throwing_attempts, 2);
    check_int("  threads that caught the exception", threw, 1);
    check_int("  threads that got the value", got, 2);
}

// ---------------------------------------------------------------------------

void atomics() {
    std::printf("-- std::atomic wait/notify\n");
    std::atomic<int> a{0};
    std::atomic<int> returned{0};
    std::thread one([&] {
        a.wait(0);
        ++returned;
    });
    std::this_thread::sleep_for(20ms);
    check_int("  a waiter before the store: returned", returned, 0);
    a = 1;
    a.notify_one();
    one.join();
    check_int("  store + notify_one: returned", returned, 1);

    std::atomic<long> b{0};
    std::atomic<int> waiting{0};
    returned = 0;
    std::vector<std::thread> ts;
    for (int i = 0; i < 3; ++i)
        ts.emplace_back([&] {
            ++waiting;
            b.wait(0);
            ++returned;
        });
    while (waiting != 3) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(20ms);
    check_int("  three waiters before the store: returned", returned, 0);
    b = 5;
    b.notify_all();
    for (auto& t : ts) t.join();
    check_int("  store + notify_all: returned", returned, 3);

    std::atomic<int> turn{0};
    int rounds = 0;
    std::thread pong([&] {
        for (int i = 0; i < 100; ++i) {
            turn.wait(0);
            ++rounds;
            turn = 0;
            turn.notify_one();
        }
    });
    for (int i = 0; i < 100; ++i) {
        turn = 1;
        turn.notify_one();
        turn.wait(1);
    }
    pong.join();
    check_int("  ping-pong rounds through wait/notify", rounds, 100);
}

// ---------------------------------------------------------------------------

void semaphores_latches_barriers() {
    std::printf("-- std::counting_semaphore\n");
    std::counting_semaphore<8> sem(0);
    check_yes("  try_acquire at 0 fails", !sem.try_acquire());
    auto t0 = Clock::now();
    check_yes("  try_acquire_for(100ms) at 0 fails", !sem.try_acquire_for(100ms));
    check_took("  it waited 100 ms", seconds_since(t0), 0.1);
    std::atomic<int> acquired{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < 3; ++i)
        ts.emplace_back([&] {
            sem.acquire();
            ++acquired;
        });
    std::this_thread::sleep_for(20ms);
    check_int("  acquirers through before a release", acquired, 0);
    sem.release(3);
    for (auto& t : ts) t.join();
    check_int("  release(3): acquirers through", acquired, 3);
    std::binary_semaphore ping(0), pong(0);
    int rounds = 0;
    std::thread ponger([&] {
        for (int i = 0; i < 100; ++i) {
            ping.acquire();
            ++rounds;
            pong.release();
        }
    });
    for (int i = 0; i < 100; ++i) {
        ping.release();
        pong.acquire();
    }
    ponger.join();
    check_int("  binary_semaphore ping-pong rounds", rounds, 100);

    std::printf("-- std::latch\n");
    std::latch done(4);
    std::latch start(1);
    std::atomic<int> before_start{0};
    ts.clear();
    for (int i = 0; i < 4; ++i)
        ts.emplace_back([&] {
            start.wait();
            ++before_start;
            done.count_down();
        });
    std::this_thread::sleep_for(20ms);
    check_int("  threads past a closed latch", before_start, 0);
    check_yes("  try_wait on the open count", !done.try_wait());
    start.count_down();
    done.wait();
    check_int("  threads that counted down", before_start, 4);
    check_yes("  try_wait after", done.try_wait());
    for (auto& t : ts) t.join();

    std::printf("-- std::barrier\n");
    int completions = 0;
    std::atomic<int> arrived{0};
    bool phases_ok = true;
    std::barrier bar(3, [&]() noexcept {
        ++completions;
        phases_ok = phases_ok && arrived == 3 * completions;
    });
    ts.clear();
    for (int i = 0; i < 3; ++i)
        ts.emplace_back([&, i] {
            for (int round = 0; round < 4; ++round) {
                if (i == round % 3) std::this_thread::sleep_for(3ms);
                ++arrived;
                bar.arrive_and_wait();
            }
        });
    for (auto& t : ts) t.join();
    check_int("  completion function runs (3 threads x 4 rounds)", completions, 4);
    check_yes("  each completion saw every arrival of its phase", phases_ok);
}

// ---------------------------------------------------------------------------

void jthreads() {
    std::printf("-- std::jthread\n");
    std::atomic<int> loops{0};
    std::atomic<bool> callback_ran{false};
    bool stopped = false;
    {
        std::jthread worker([&](std::stop_token st) {
            std::stop_callback cb(st, [&] { callback_ran = true; });
            do {
                ++loops;
                std::this_thread::sleep_for(1ms);
            } while (!st.stop_requested());
            stopped = true;
        });
        std::this_thread::sleep_for(20ms);
    }  // destructor: request_stop + join
    check_yes("  the destructor stopped and joined it", stopped);
    check_yes("  its stop_callback ran", callback_ran);
    check_yes("  it looped meanwhile", loops > 0);

    std::jthread waiter([](std::stop_token st) {
        std::mutex m;
        std::condition_variable_any cv;
        std::unique_lock lk(m);
        cv.wait(lk, st, [] { return false; });
    });
    std::this_thread::sleep_for(10ms);
    check_yes("  request_stop", waiter.request_stop());
    waiter.join();
    check_yes("  a condition_variable_any wait ended by request_stop", !waiter.joinable());
}

// ---------------------------------------------------------------------------

void futures() {
    std::printf("-- promise, future, async\n");
    std::promise<int> p;
    std::future<int> f = p.get_future();
    std::thread setter([&] {
        std::this_thread::sleep_for(50ms);
        p.set_value(9);
    });
    const auto t0 = Clock::now();
    check_yes("  wait_for(10ms) before the value: timeout", f.wait_for(10ms) == std::future_status::timeout);
    check_took("  it waited 10 ms", seconds_since(t0), 0.01);
    check_int("  get", f.get(), 9);
    setter.join();
    auto a = std::async(std::launch::async, [] {
        std::this_thread::sleep_for(10ms);
        return std::string("from async");
    });
    check_str("  async(launch::async).get", a.get().c_str(), "from async");
    auto e = std::async(std::launch::async, []() -> int { throw std::runtime_error("boom"); });
    try {
        e.get();
        check_str("  exception through a future", "none", "boom");
    } catch (const std::runtime_error& err) {
        check_str("  exception through a future", err.what(), "boom");
    }
}

// ---------------------------------------------------------------------------

thread_local int tl_value = 0;

void thread_locals() {
    std::printf("-- thread_local\n");
    std::atomic<int> right{0};
    std::vector<std::thread> ts;
    for (int i = 1; i <= 4; ++i)
        ts.emplace_back([&, i] {
            tl_value = i * 10;                        // written and read with no switch between
            right += tl_value == i * 10;
        });
    for (auto& t : ts) t.join();
    check_int("  threads that read back what they wrote", right, 4);
}

}  // namespace

int main() {
    watchdog(30);
    threads();
    mutexes();
    conditions();
    shared_mutexes();
    once_and_statics();
    atomics();
    semaphores_latches_barriers();
    jthreads();
    futures();
    thread_locals();
    return finish();
}
