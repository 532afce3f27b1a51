// TLS over green sockets (gevent.ssl), on OpenSSL 3.
//
//   auto ctx = green::tls::Context::client();           // system CAs, verification on
//   green::tls::Stream s = green::tls::connect("example.org", 443, ctx, 10s);
//   s.write("GET / HTTP/1.1\r\nHost: example.org\r\n\r\n");
//   std::string reply = s.read(65536);
//
//   auto srv = green::tls::Context::server("chain.pem", "key.pem");
//   green::StreamServer server(addr, srv, [](green::tls::Stream s, green::Address) { ... });
//
// A Context is a cheap, copyable handle on shared settings (an SSL_CTX); make
// it once and use it for every connection. A Stream owns its Socket.
//
// Errors: tls::Error for what TLS itself refuses (a certificate that does not
// verify, a protocol alert, a peer that closes without close_notify);
// std::system_error for OS errors of the socket underneath (ECONNRESET ...);
// TimeoutError when a call's timeout runs out. Every blocking call of a
// Stream may switch, is interrupted by a kill or an expired Timeout at its
// suspension point, and must not be called from the hub. After a timeout or
// a kill inside handshake, write or shutdown the stream is unusable: close it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "green/detail/config.hpp"
#include "green/detail/time.hpp"
#include "green/socket.hpp"

struct ssl_st;  // OpenSSL's SSL, opaque here

namespace green::tls {

// What TLS refused. what() reads "green::tls::Stream::handshake: certificate
// verify failed: self-signed certificate": the operation, OpenSSL's reason
// and, when a certificate did not verify, the certificate's problem.
class GREEN_API Error : public std::runtime_error {
public:
    Error(const std::string& what, std::string reason, long verify_result = 0);
    // OpenSSL's reason ("certificate verify failed", "unexpected eof while reading").
    const std::string& reason() const noexcept { return reason_; }
    // The certificate verification result (X509_V_ERR_*), 0 unless verification failed.
    long verify_result() const noexcept { return verify_result_; }

private:
    std::string reason_;
    long verify_result_;
};

enum class Version { tls1_2, tls1_3 };

// Settings shared by many streams: role, trust, own certificate, versions, ALPN.
// Setters throw tls::Error (a file that does not load, a key that does not fit
// the certificate). Change a Context before streams use it, not meanwhile.
class GREEN_API Context {
public:
    enum class Role { client, server };

    // A client context: trusts OpenSSL's default verify paths (the system CA
    // store; SSL_CERT_FILE and SSL_CERT_DIR override it, as for curl), verifies
    // the server's certificate and name, TLS 1.2 at least.
    static Context client();
    // A server context presenting `chain_file` (PEM: the certificate first, then
    // its intermediates) with `key_file`; it asks for no client certificate.
    static Context server(const std::string& chain_file, const std::string& key_file);

    Role role() const noexcept;

    // Trust the CA certificates in this PEM file / this hashed directory (besides
    // the defaults a client context starts with).
    Context& load_verify_file(const std::string& path);
    Context& load_verify_dir(const std::string& path);
    // Present this certificate chain with this key (a client certificate, or a server's).
    Context& use_certificate(const std::string& chain_file, const std::string& key_file);
    // Verify the peer: on by default for a client; for a server, on means a
    // client certificate is required and verified.
    Context& verify_peer(bool on);
    Context& min_version(Version v);
    // Application protocols, most preferred first ("h2", "http/1.1"). A client
    // offers them; a server picks the first of its own the client offers (or
    // none). Stream::alpn() says which was chosen.
    Context& alpn(const std::vector<std::string>& protocols);

    struct Impl;

private:
    explicit Context(std::shared_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
    friend class Stream;
    std::shared_ptr<Impl> impl_;
};

// One TLS connection over a Socket it owns. Move-only.
class GREEN_API Stream {
public:
    // Wraps `socket`. For a client context `server_name` is sent as SNI (unless
    // it is an IP address) and the certificate must match it (DNS name or IP
    // address); empty skips the name check. The stream's timeout starts as the
    // socket's. Nothing is sent until handshake().
    Stream(Socket socket, const Context& ctx, const std::string& server_name = {});
    ~Stream();
    Stream(Stream&& other) noexcept;
    Stream& operator=(Stream&& other) noexcept;
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    // The default timeout of every call, which bounds the whole call (as for
    // Socket): forever unless set.
    template <class Rep, class Period>
    void set_timeout(std::chrono::duration<Rep, Period> timeout) {
        timeout_ = green::detail::to_seconds(timeout);
    }
    double timeout() const noexcept { return timeout_; }

    // Runs the handshake (as client or server, by the context). Throws tls::Error,
    // std::system_error or TimeoutError; the stream is then unusable.
    void handshake() { handshake_for(timeout_); }
    template <class Rep, class Period>
    void handshake(std::chrono::duration<Rep, Period> timeout) {
        handshake_for(green::detail::to_seconds(timeout));
    }

    // Reads some decrypted bytes (at least one) into `buf`; 0 when the peer
    // closed the TLS session cleanly (close_notify). A peer that closes the TCP
    // connection without close_notify (a truncated stream) throws tls::Error
    // ("unexpected eof while reading"). Runs the handshake first if not done.
    std::size_t read_some(void* buf, std::size_t len);
    // Up to `max` bytes; an empty string means the peer closed cleanly.
    std::string read(std::size_t max);
    // Writes everything; the timeout bounds the whole call.
    void write(const void* buf, std::size_t len);
    void write(std::string_view data) { write(data.data(), data.size()); }
    // Sends close_notify (it does not wait for the peer's); the socket stays
    // open. A stream that failed earlier sends nothing.
    void shutdown();
    // Closes the socket without close_notify.
    void close() noexcept;

    Socket& socket() noexcept { return socket_; }
    const Socket& socket() const noexcept { return socket_; }
    // After the handshake: the protocol ALPN chose (empty: none), the version
    // ("TLSv1.3"), the cipher suite, and on a server the SNI name the client sent.
    std::string alpn() const;
    std::string version() const;
    std::string cipher() const;
    std::string server_name() const;

private:
    void handshake_for(double timeout);
    template <class Op>
    int drive(Op op, green::detail::Deadline deadline, const char* what);

    Socket socket_;
    ssl_st* ssl_ = nullptr;
    double timeout_ = green::detail::kForever;
    bool handshaken_ = false;
    bool failed_ = false;   // a fatal error: no close_notify may follow
    bool drained_ = false;  // the last read came back short with nothing buffered
};

namespace detail {
GREEN_API Stream connect(const std::string& host, std::uint16_t port, const Context& ctx, double timeout);
}

// create_connection(host, port) and a client handshake, with SNI and the
// certificate checked against `host`, all within `timeout`.
inline Stream connect(const std::string& host, std::uint16_t port, const Context& ctx) {
    return detail::connect(host, port, ctx, green::detail::kForever);
}
template <class Rep, class Period>
Stream connect(const std::string& host, std::uint16_t port, const Context& ctx,
               std::chrono::duration<Rep, Period> timeout) {
    return detail::connect(host, port, ctx, green::detail::to_seconds(timeout));
}

}  // namespace green::tls
