// StreamServer's TLS constructor (in libgreen_tls, with the rest of green::tls):
// the TLS handler is wrapped into a plain one, so the plain server's accept
// path is the same code with or without TLS.
#include <cstdio>
#include <stdexcept>
#include <string>

#include "green/errors.hpp"
#include "green/server.hpp"
#include "green/tls.hpp"

namespace green {
namespace {

// The plain handler a TLS server runs: the handshake, then the user's handler.
StreamServer::Handler over_tls(const tls::Context& ctx, StreamServer::TlsHandler handler, const ServerOptions& options) {
    if (!handler) throw std::invalid_argument("green: StreamServer needs a handler");
    if (ctx.role() != tls::Context::Role::server)
        throw std::invalid_argument("green: a TLS StreamServer needs a server tls::Context");
    const double limit = std::chrono::duration<double>(options.handshake_timeout).count();
    return [ctx, handler = std::move(handler), limit](Socket conn, Address peer) {
        tls::Stream stream(std::move(conn), ctx);
        const char* why = nullptr;
        std::string detail;
        try {
            stream.handshake(std::chrono::duration<double>(limit));
        } catch (const TimeoutError& e) {
            if (e.source()) throw;  // connection_timeout's (the server counts it), or the handler's caller's
            why = "timed out";
        } catch (const std::exception& e) {  // tls::Error, std::system_error
            why = "failed";
            detail = std::string(": ") + e.what();
        }
        if (why) {
            std::fprintf(stderr, "green: StreamServer: TLS handshake with %s %s%s\n", peer.to_string().c_str(), why,
                         detail.c_str());
            return;
        }
        handler(std::move(stream), peer);
    };
}

}  // namespace

StreamServer::StreamServer(const Address& listen, const tls::Context& tls, TlsHandler handler, ServerOptions options)
    : StreamServer(listen, over_tls(tls, std::move(handler), options), options) {}

}  // namespace green
