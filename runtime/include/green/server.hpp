// StreamServer: accept connections and handle each in its own greenlet
// (gevent.server.StreamServer).
//
//   green::StreamServer server(green::Address::parse("127.0.0.1:8080"),
//       [](green::Socket conn, green::Address peer) { ... });
//   server.serve_forever();
//
// Given a server tls::Context it speaks TLS: each connection's handshake runs
// in its own greenlet, within `handshake_timeout`, and the handler gets the
// tls::Stream only when it succeeded (a failed handshake is logged on stderr
// and the connection closed; the server goes on serving).
//
// With `workers = N` it pre-forks N processes, each with its own hub and its own
// listener on the same port (SO_REUSEPORT): the multi-process + greenlets model
// for using every core. stop() stops them all.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "green/address.hpp"
#include "green/detail/config.hpp"
#include "green/detail/time.hpp"
#include "green/socket.hpp"
#include "green/tls.hpp"

namespace green {

struct ServerOptions {
    int backlog = SOMAXCONN;
    std::size_t max_connections = 0;  // handlers at once (a Pool); 0: no limit
    unsigned workers = 1;             // > 1: pre-forked processes sharing the port
    bool reuse_port = false;          // SO_REUSEPORT (implied by workers > 1)
    std::chrono::milliseconds worker_grace{2000};  // how long a worker lets handlers finish on stop
    // Against idle and slow clients (slowloris), which otherwise hold a handler,
    // a descriptor and a max_connections slot for as long as they like; 0: none.
    // idle_timeout is the connection socket's timeout: a recv or send that
    // waits this long throws TimeoutError in the handler (gevent's pywsgi).
    // connection_timeout bounds the whole handler, however busy the client
    // keeps it (Go's http.Server ReadTimeout, for a protocol-free server).
    // A handler ended by either, and not catching it, closes its connection
    // quietly: the server counts it in timed_out() instead of reporting it.
    std::chrono::milliseconds idle_timeout{0};
    std::chrono::milliseconds connection_timeout{0};
    std::chrono::milliseconds handshake_timeout{10000};  // TLS only: a slower handshake is dropped
};

class GREEN_API StreamServer {
public:
    // Called in a new greenlet for each connection, which it owns.
    using Handler = std::function<void(Socket, Address)>;
    // The same, for a TLS server: called after a successful handshake.
    using TlsHandler = std::function<void(tls::Stream, Address)>;

    // Throws std::invalid_argument for an empty handler, zero workers or a
    // negative timeout.
    StreamServer(const Address& listen, Handler handler, ServerOptions options = {});
    // A TLS server; also throws std::invalid_argument for a client context.
    StreamServer(const Address& listen, const tls::Context& tls, TlsHandler handler, ServerOptions options = {});
    // Stops without a grace period.
    ~StreamServer();
    StreamServer(const StreamServer&) = delete;
    StreamServer& operator=(const StreamServer&) = delete;

    // Binds, listens and starts accepting in a greenlet; returns at once. Throws
    // std::system_error when binding fails. (Workers start only in serve_forever.)
    void start();
    // Serves until stop(): here, or in the pre-forked workers (a worker process
    // never returns from it; it exits after stopping).
    void serve_forever();
    // Closes the listener, lets running handlers finish within `grace`, then kills
    // the rest; with workers, stops every worker process. Idempotent.
    void stop() { stop_for(0); }
    template <class Rep, class Period>
    void stop(std::chrono::duration<Rep, Period> grace) {
        stop_for(detail::to_seconds(grace));
    }

    // The address it listens on (the real port when it asked for port 0).
    Address address() const;
    bool started() const noexcept;
    // Handlers running now (in this process).
    std::size_t connections() const;
    // Connections ended by idle_timeout or connection_timeout so far.
    std::size_t timed_out() const noexcept;
    std::vector<pid_t> worker_pids() const;

    struct Impl;

private:
    void stop_for(double grace);
    std::unique_ptr<Impl> impl_;
};

}  // namespace green
