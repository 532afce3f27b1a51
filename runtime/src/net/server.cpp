#include "green/server.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <system_error>

#include "diag/report.hpp"
#include "green/event.hpp"
#include "green/pool.hpp"
#include "green/process.hpp"
#include "green/sleep.hpp"
#include "green/timeout.hpp"

namespace green {

using namespace std::chrono_literals;

struct StreamServer::Impl {
    Address requested;
    Handler handler;
    ServerOptions options;
    Socket listener;
    Address bound;
    std::unique_ptr<Group> handlers;
    AnyGreenlet acceptor;
    Event stopped;
    bool stopping = false;
    std::size_t timed_out = 0;
    std::vector<pid_t> workers;

    Socket open_listener(const Address& at) {
        Socket s(at.family(), SOCK_STREAM);
        if (at.family() != AF_UNIX) s.set_option(SOL_SOCKET, SO_REUSEADDR, 1);
        if (options.reuse_port || options.workers > 1) s.set_option(SOL_SOCKET, SO_REUSEPORT, 1);
        s.bind(at);
        return s;
    }

    void start_accepting(Socket s) {
        listener = std::move(s);
        listener.listen(options.backlog);
        bound = listener.local_address();
        if (options.max_connections)
            handlers = std::make_unique<Pool>(options.max_connections);
        else
            handlers = std::make_unique<Group>();
        acceptor = spawn(SpawnOptions{.name = "StreamServer " + bound.to_string()}, [this] { accept_loop(); });
    }

    void accept_loop() {
        double backoff = 0;
        for (;;) {
            if (auto* pool = dynamic_cast<Pool*>(handlers.get())) pool->wait_available();
            Address peer;
            Socket conn;
            try {
                conn = listener.accept(&peer);
                backoff = 0;
            } catch (const std::system_error& e) {
                const int err = e.code().value();
                if (stopping || err == EBADF) return;
                if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
                    // Out of descriptors or memory: the pending connection stays in the
                    // backlog; try again later instead of spinning on a readable listener.
                    if (backoff == 0)
                        std::fprintf(stderr, "green: StreamServer %s: accept: %s; backing off\n", bound.to_string().c_str(),
                                     e.code().message().c_str());
                    backoff = backoff == 0 ? 0.01 : std::min(backoff * 2, 0.5);
                    sleep(std::chrono::duration<double>(backoff));
                    continue;
                }
                if (err == ECONNABORTED || err == EPROTO || err == EPERM) continue;  // that connection only
                detail::report_exception("StreamServer accept", std::current_exception());
                sleep(10ms);
                continue;
            }
            handlers->spawn([this, c = std::move(conn), peer]() mutable { serve(std::move(c), peer); });
        }
    }

    void serve(Socket conn, const Address& peer) {
        if (options.idle_timeout.count() > 0) conn.set_timeout(options.idle_timeout);
        std::optional<Timeout> deadline;
        if (options.connection_timeout.count() > 0) deadline.emplace(options.connection_timeout);
        try {
            handler(std::move(conn), peer);
        } catch (const TimeoutError& e) {
            // A socket's timeout (no source: the connection's, or another socket's
            // of the handler) or our deadline: the limits did their work. Any
            // other Timeout is the handler's business, and reported as a failure.
            const bool ours = (e.source() == nullptr && options.idle_timeout.count() > 0) ||
                              (deadline && e.source() == &*deadline);
            if (!ours) throw;
            ++timed_out;
        }
    }

    void stop_local(double grace) {
        if (stopping) return;
        stopping = true;
        listener.close();                   // wakes the acceptor with EBADF...
        if (acceptor) acceptor.kill();      // ...and it must be gone before this object may be
        if (handlers) {
            handlers->discard(getcurrent());  // a handler may stop the server
            if (grace > 0) handlers->join(std::chrono::duration<double>(grace));
            handlers->kill();
        }
        stopped.set();
    }

    [[noreturn]] void run_worker() {
        workers.clear();
        start_accepting(open_listener(bound));
        auto on_term = signal_handler(SIGTERM, [this] {
            stop_local(std::chrono::duration<double>(options.worker_grace).count());
        });
        stopped.wait();
        std::fflush(nullptr);
        _exit(0);
    }

    void reap_workers(bool block) {
        for (auto it = workers.begin(); it != workers.end();) {
            int status = 0;
            const pid_t r = waitpid(*it, &status, block ? 0 : WNOHANG);
            if (r == *it || (r < 0 && errno == ECHILD))
                it = workers.erase(it);
            else
                ++it;
        }
    }

    void stop_workers(double grace) {
        for (pid_t p : workers) ::kill(p, SIGTERM);
        const double limit = std::chrono::duration<double>(options.worker_grace).count() + grace + 2;
        for (double waited = 0; !workers.empty() && waited < limit; waited += 0.01) {
            reap_workers(false);
            if (!workers.empty()) sleep(10ms);
        }
        for (pid_t p : workers) ::kill(p, SIGKILL);
        reap_workers(true);
    }
};

StreamServer::StreamServer(const Address& listen, Handler handler, ServerOptions options)
    : impl_(std::make_unique<Impl>()) {
    if (!handler) throw std::invalid_argument("green: StreamServer needs a handler");
    if (options.workers == 0) throw std::invalid_argument("green: StreamServer needs at least one worker");
    if (options.idle_timeout.count() < 0 || options.connection_timeout.count() < 0)
        throw std::invalid_argument("green: StreamServer timeouts must not be negative");
    impl_->requested = listen;
    impl_->handler = std::move(handler);
    impl_->options = options;
}

StreamServer::~StreamServer() {
    try {
        stop_for(0);
    } catch (...) {
        detail::report_exception("stopping a StreamServer", std::current_exception());
    }
}

void StreamServer::start() {
    if (impl_->listener.is_open() || impl_->stopping) return;
    impl_->start_accepting(impl_->open_listener(impl_->requested));
}

void StreamServer::serve_forever() {
    if (impl_->options.workers <= 1) {
        start();
        impl_->stopped.wait();
        return;
    }
    if (!impl_->workers.empty()) throw std::logic_error("green: StreamServer workers are already running");
    // The parent holds a bound socket only to fix the port; the workers each
    // listen on their own socket in the SO_REUSEPORT group.
    Socket placeholder = impl_->open_listener(impl_->requested);
    impl_->bound = placeholder.local_address();
    std::fflush(nullptr);
    for (unsigned i = 0; i < impl_->options.workers; ++i) {
        const pid_t pid = green::fork();
        if (pid == 0) {
            placeholder.close();
            impl_->run_worker();
        }
        impl_->workers.push_back(pid);
    }
    placeholder.close();
    while (!impl_->stopped.wait(100ms)) impl_->reap_workers(false);
}

void StreamServer::stop_for(double grace) {
    if (!impl_->workers.empty()) impl_->stop_workers(grace);
    impl_->stop_local(grace);
}

Address StreamServer::address() const { return impl_->bound; }

bool StreamServer::started() const noexcept { return impl_->listener.is_open() || !impl_->workers.empty(); }

std::size_t StreamServer::connections() const { return impl_->handlers ? impl_->handlers->size() : 0; }

std::vector<pid_t> StreamServer::worker_pids() const { return impl_->workers; }

std::size_t StreamServer::timed_out() const noexcept { return impl_->timed_out; }

}  // namespace green
