#include "green/thread_pool.hpp"

#include <pthread.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <new>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "base/env.hpp"
#include "core/hub.hpp"
#include "core/runtime_fds.hpp"
#include "threads/thread_task.hpp"

namespace green {

struct ThreadPool::Impl {
    explicit Impl(std::size_t n) : maxsize(n) {}

    // In a forked child: no worker exists there, and the calls queued belong to
    // greenlets that stayed in the parent.
    void reset_after_fork() {
        new (&mutex) std::mutex;
        new (&ready) std::condition_variable;
        queue.clear();
        new (&threads) std::vector<std::thread>;  // the parent's thread objects are left, not destroyed
        idle = 0;
    }

    void worker() {
        std::unique_lock<std::mutex> lock(mutex);
        for (;;) {
            ++idle;
            ready.wait(lock, [this] { return stopping || !queue.empty(); });
            --idle;
            if (queue.empty()) return;  // stopping
            detail::ThreadTask* t = queue.front();
            queue.pop_front();
            lock.unlock();
            t->run();
            detail::send_home(t);
            lock.lock();
        }
    }

    // The worker first, then the queue: when no thread can be made (EAGAIN:
    // RLIMIT_NPROC, no memory), the caller gets std::system_error and `t`, which
    // it frees, is in no queue for a worker to find later.
    void enqueue(detail::ThreadTask* t) {
        std::lock_guard<std::mutex> lock(mutex);
        if (stopping) throw std::logic_error("green: ThreadPool used while it is being destroyed");
        if (idle == 0 && threads.size() < maxsize) {
            detail::RuntimeScope ours;  // a plain OS thread, even under thread patching
            try {
                threads.emplace_back([this] { worker(); });
            } catch (const std::system_error& e) {
                throw std::system_error(e.code(), "green: ThreadPool cannot start a worker thread");
            }
        }
        queue.push_back(t);
        ready.notify_one();
    }

    // Takes `t` back if no worker has started it.
    bool cancel(detail::ThreadTask* t) {
        std::lock_guard<std::mutex> lock(mutex);
        for (auto it = queue.begin(); it != queue.end(); ++it) {
            if (*it == t) {
                queue.erase(it);
                return true;
            }
        }
        return false;
    }

    const std::size_t maxsize;
    mutable std::mutex mutex;
    std::condition_variable ready;
    std::deque<detail::ThreadTask*> queue;
    std::vector<std::thread> threads;
    std::size_t idle = 0;
    bool stopping = false;
};

namespace {

// Every pool, so that a fork never happens while a pool's lock is held and the
// child gets pools without phantom workers.
std::mutex pools_mutex;
std::vector<ThreadPool::Impl*>& pools() {
    static std::vector<ThreadPool::Impl*> all;
    return all;
}

void register_pool(ThreadPool::Impl* p) {
    static std::once_flag atfork;
    std::call_once(atfork, [] {
        pthread_atfork(
            [] {
                pools_mutex.lock();
                for (auto* pool : pools()) pool->mutex.lock();
            },
            [] {
                for (auto* pool : pools()) pool->mutex.unlock();
                pools_mutex.unlock();
            },
            [] {
                for (auto* pool : pools()) pool->reset_after_fork();
                new (&pools_mutex) std::mutex;
            });
    });
    std::lock_guard<std::mutex> lock(pools_mutex);
    pools().push_back(p);
}

void unregister_pool(ThreadPool::Impl* p) {
    std::lock_guard<std::mutex> lock(pools_mutex);
    auto& all = pools();
    for (auto it = all.begin(); it != all.end(); ++it)
        if (*it == p) {
            all.erase(it);
            break;
        }
}

}  // namespace

ThreadPool::ThreadPool(std::size_t maxsize) {
    if (maxsize == 0) throw std::invalid_argument("green: a ThreadPool needs at least one thread");
    impl_ = std::make_unique<Impl>(maxsize);
    register_pool(impl_.get());
}

ThreadPool::~ThreadPool() {
    unregister_pool(impl_.get());
    std::deque<detail::ThreadTask*> unstarted;
    {
        std::lock_guard<std::mutex> lock(impl_->mutex);
        impl_->stopping = true;
        unstarted.swap(impl_->queue);
    }
    impl_->ready.notify_all();
    for (detail::ThreadTask* t : unstarted) {
        t->error = std::make_exception_ptr(std::runtime_error("green: ThreadPool destroyed before the call ran"));
        detail::send_home(t);
    }
    for (std::thread& th : impl_->threads) th.join();
}

std::size_t ThreadPool::maxsize() const noexcept { return impl_->maxsize; }

std::size_t ThreadPool::size() const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    return impl_->threads.size();
}

void ThreadPool::submit_and_wait(detail::ThreadTask& task) {
    detail::wait_for_runner(task, "run_in_thread", [&] { impl_->enqueue(&task); }, [&] { return impl_->cancel(&task); });
}

// Threads start only as calls arrive, but a number past this is a typo.
constexpr long kMaxDefaultPoolSize = 4096;

ThreadPool& default_thread_pool() {
    // Never destroyed: at exit, a worker may still be inside a long call.
    static ThreadPool* pool = [] {
        const long n = detail::env_long("GREEN_THREADPOOL_SIZE", 1, kMaxDefaultPoolSize).value_or(10);
        return new ThreadPool(static_cast<std::size_t>(n));
    }();
    return *pool;
}

}  // namespace green
