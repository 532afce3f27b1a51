// green::tls on OpenSSL 3: the only file that includes OpenSSL's headers. It is
// built into libgreen_tls.so (with tls_server.cpp), not libgreen.so, so that the
// shim, which every program run under greenrun loads, does not load OpenSSL;
// hence it uses only what libgreen exports (wait_fd, sys::recvfrom/sendto).
//
// The SSL object is non-blocking and talks to the socket through a BIO of
// our own (below) that calls the runtime's unhooked recvfrom/sendto with
// MSG_NOSIGNAL, so the shim is never re-entered and a closed peer never
// raises SIGPIPE. Every operation is driven by one loop, Stream::drive: call
// OpenSSL; on WANT_READ / WANT_WRITE park on the fd until it is ready or the
// deadline passes; retry.
#include "green/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>

#include "base/sys.hpp"
#include "green/errors.hpp"
#include "green/io.hpp"

namespace green::tls {

struct Context::Impl {
    SSL_CTX* ctx = nullptr;
    Role role = Role::client;
    std::vector<unsigned char> alpn_wire;  // the server's preferences, in ALPN's wire format

    ~Impl() { SSL_CTX_free(ctx); }
};

namespace {

// OpenSSL's first queued error as text, the queue cleared.
std::string take_reason() {
    const unsigned long e = ERR_peek_last_error();
    std::string reason;
    if (e != 0) {
        const char* r = ERR_reason_error_string(e);
        reason = r ? r : "error " + std::to_string(ERR_GET_REASON(e));
    }
    ERR_clear_error();
    return reason;
}

[[noreturn]] void fail_ctx(const std::string& op, const std::string& subject = {}) {
    std::string reason = take_reason();
    if (reason.empty()) reason = "failed";
    throw Error("green::tls::Context::" + op + (subject.empty() ? "" : " " + subject) + ": " + reason, reason);
}

// ---- the BIO: a non-blocking socket through the runtime's own system calls

int bio_write(BIO* b, const char* data, int len) {
    const int fd = static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(b)));
    BIO_clear_retry_flags(b);
    ssize_t r;
    do r = green::detail::sys::sendto(fd, data, static_cast<size_t>(len), MSG_NOSIGNAL, nullptr, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_write(b);
    return static_cast<int>(r);
}

int bio_read(BIO* b, char* data, int len) {
    const int fd = static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(b)));
    BIO_clear_retry_flags(b);
    ssize_t r;
    do r = green::detail::sys::recvfrom(fd, data, static_cast<size_t>(len), 0, nullptr, nullptr);
    while (r < 0 && errno == EINTR);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_read(b);
    if (r == 0) BIO_set_flags(b, BIO_FLAGS_IN_EOF);  // so OpenSSL can tell a truncation from an OS error
    return static_cast<int>(r);
}

long bio_ctrl(BIO* b, int cmd, long, void*) {
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;  // nothing is buffered here
    case BIO_CTRL_EOF:
        return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
    default:
        return 0;
    }
}

int bio_create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
}

const BIO_METHOD* socket_method() {
    static BIO_METHOD* const method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "green socket");
        if (!m || !BIO_meth_set_write(m, bio_write) || !BIO_meth_set_read(m, bio_read) ||
            !BIO_meth_set_ctrl(m, bio_ctrl) || !BIO_meth_set_create(m, bio_create))
            throw Error("green::tls: BIO_meth_new: " + take_reason(), "BIO_meth_new failed");
        return m;
    }();
    return method;
}

// ALPN's wire format: each name preceded by its length.
std::vector<unsigned char> alpn_wire(const std::vector<std::string>& protocols) {
    std::vector<unsigned char> wire;
    for (const std::string& p : protocols) {
        if (p.empty() || p.size() > 255) throw std::invalid_argument("green::tls: bad ALPN protocol name '" + p + "'");
        wire.push_back(static_cast<unsigned char>(p.size()));
        wire.insert(wire.end(), p.begin(), p.end());
    }
    return wire;
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                void* arg) {
    const auto* impl = static_cast<const Context::Impl*>(arg);
    unsigned char* chosen = nullptr;
    if (SSL_select_next_proto(&chosen, outlen, impl->alpn_wire.data(), static_cast<unsigned>(impl->alpn_wire.size()),
                              in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;  // no protocol in common: go on without ALPN
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

std::shared_ptr<Context::Impl> make_impl(Context::Role role) {
    auto impl = std::make_shared<Context::Impl>();
    impl->role = role;
    impl->ctx = SSL_CTX_new(role == Context::Role::client ? TLS_client_method() : TLS_server_method());
    if (!impl->ctx) fail_ctx(role == Context::Role::client ? "client" : "server");
    SSL_CTX_set_min_proto_version(impl->ctx, TLS1_2_VERSION);
    // Partial writes let write() account for each record sent; the buffer may
    // move between retries because write() retries with the rest of it.
    SSL_CTX_set_mode(impl->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // Read whole buffers from the socket instead of a record header, then its body.
    SSL_CTX_set_read_ahead(impl->ctx, 1);
    return impl;
}

}  // namespace

Error::Error(const std::string& what, std::string reason, long verify_result)
    : std::runtime_error(what), reason_(std::move(reason)), verify_result_(verify_result) {}

// ---- Context

Context Context::client() {
    auto impl = make_impl(Role::client);
    if (SSL_CTX_set_default_verify_paths(impl->ctx) != 1) fail_ctx("client", "(default verify paths)");
    SSL_CTX_set_verify(impl->ctx, SSL_VERIFY_PEER, nullptr);
    return Context(std::move(impl));
}

Context Context::server(const std::string& chain_file, const std::string& key_file) {
    Context c(make_impl(Role::server));
    c.use_certificate(chain_file, key_file);
    SSL_CTX_set_verify(c.impl_->ctx, SSL_VERIFY_NONE, nullptr);
    return c;
}

Context::Role Context::role() const noexcept { return impl_->role; }

Context& Context::load_verify_file(const std::string& path) {
    if (SSL_CTX_load_verify_file(impl_->ctx, path.c_str()) != 1) fail_ctx("load_verify_file", path);
    return *this;
}

Context& Context::load_verify_dir(const std::string& path) {
    if (SSL_CTX_load_verify_dir(impl_->ctx, path.c_str()) != 1) fail_ctx("load_verify_dir", path);
    return *this;
}

Context& Context::use_certificate(const std::string& chain_file, const std::string& key_file) {
    if (SSL_CTX_use_certificate_chain_file(impl_->ctx, chain_file.c_str()) != 1) fail_ctx("use_certificate", chain_file);
    if (SSL_CTX_use_PrivateKey_file(impl_->ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
        fail_ctx("use_certificate", key_file);
    if (SSL_CTX_check_private_key(impl_->ctx) != 1) fail_ctx("use_certificate", key_file);
    return *this;
}

Context& Context::verify_peer(bool on) {
    int mode = SSL_VERIFY_NONE;
    if (on) mode = impl_->role == Role::client ? SSL_VERIFY_PEER : SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(impl_->ctx, mode, nullptr);
    return *this;
}

Context& Context::min_version(Version v) {
    SSL_CTX_set_min_proto_version(impl_->ctx, v == Version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
    return *this;
}

Context& Context::alpn(const std::vector<std::string>& protocols) {
    std::vector<unsigned char> wire = alpn_wire(protocols);
    if (impl_->role == Role::client) {
        // (Unlike nearly everything else in OpenSSL, this one returns 0 on success.)
        if (SSL_CTX_set_alpn_protos(impl_->ctx, wire.data(), static_cast<unsigned>(wire.size())) != 0)
            fail_ctx("alpn");
    } else {
        impl_->alpn_wire = std::move(wire);
        SSL_CTX_set_alpn_select_cb(impl_->ctx, impl_->alpn_wire.empty() ? nullptr : select_alpn, impl_.get());
    }
    return *this;
}

// ---- Stream

Stream::Stream(Socket socket, const Context& ctx, const std::string& server_name)
    : socket_(std::move(socket)), timeout_(socket_.timeout()) {
    if (!socket_.is_open()) green::detail::throw_errno(EBADF, "green::tls::Stream");
    ssl_ = SSL_new(ctx.impl_->ctx);
    BIO* bio = ssl_ ? BIO_new(socket_method()) : nullptr;
    if (!bio) {
        SSL_free(ssl_);
        ssl_ = nullptr;
        throw Error("green::tls::Stream: " + take_reason(), "SSL_new failed");
    }
    BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(socket_.fd())));
    SSL_set_bio(ssl_, bio, bio);  // the SSL owns the BIO now
    if (ctx.role() == Context::Role::client) {
        SSL_set_connect_state(ssl_);
        if (!server_name.empty()) {
            // An IP address is checked against the certificate's IP entries and is
            // never sent as SNI (RFC 6066 allows host names only).
            const bool is_ip = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), server_name.c_str()) == 1;
            if (!is_ip && (SSL_set1_host(ssl_, server_name.c_str()) != 1 ||
                           SSL_set_tlsext_host_name(ssl_, server_name.c_str()) != 1)) {
                SSL_free(ssl_);
                ssl_ = nullptr;
                throw Error("green::tls::Stream: bad server name '" + server_name + "': " + take_reason(), "bad server name");
            }
        }
    } else {
        SSL_set_accept_state(ssl_);
    }
}

Stream::~Stream() { SSL_free(ssl_); }

Stream::Stream(Stream&& other) noexcept
    : socket_(std::move(other.socket_)),
      ssl_(std::exchange(other.ssl_, nullptr)),
      timeout_(other.timeout_),
      handshaken_(other.handshaken_),
      failed_(other.failed_),
      drained_(other.drained_) {}

Stream& Stream::operator=(Stream&& other) noexcept {
    if (this != &other) {
        SSL_free(std::exchange(ssl_, std::exchange(other.ssl_, nullptr)));
        socket_ = std::move(other.socket_);
        timeout_ = other.timeout_;
        handshaken_ = other.handshaken_;
        failed_ = other.failed_;
        drained_ = other.drained_;
    }
    return *this;
}

// Runs `op` (an SSL_* call returning > 0 on success) until it succeeds, parking
// on the socket for whatever OpenSSL wants. Returns op's result, or 0 for a
// clean close_notify. Throws tls::Error, std::system_error, TimeoutError, and
// whatever parking throws (a kill, an expired Timeout, EBADF when the socket
// is closed meanwhile).
template <class Op>
int Stream::drive(Op op, green::detail::Deadline deadline, const char* what) {
    if (!ssl_) green::detail::throw_errno(EBADF, std::string("green::") + what);
    for (;;) {
        ERR_clear_error();
        errno = 0;
        const int r = op();
        if (r > 0) return r;
        const int err = SSL_get_error(ssl_, r);
        bool for_write;
        switch (err) {
        case SSL_ERROR_WANT_READ:
            for_write = false;
            break;
        case SSL_ERROR_WANT_WRITE:
            for_write = true;
            break;
        case SSL_ERROR_ZERO_RETURN:
            return 0;
        case SSL_ERROR_SYSCALL: {
            const int e = errno;
            failed_ = true;
            ERR_clear_error();
            if (e != 0) green::detail::throw_errno(e, std::string("green::") + what);
            throw Error(std::string("green::") + what + ": unexpected eof while reading",
                        "unexpected eof while reading");
        }
        default: {
            failed_ = true;
            const bool verify_failed = ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_CERTIFICATE_VERIFY_FAILED;
            std::string reason = take_reason();
            if (reason.empty()) reason = "error " + std::to_string(err);
            long verify = 0;
            std::string text = reason;
            // (The result is kept even when verification is off; it only explains this failure.)
            if (verify_failed && SSL_get_verify_result(ssl_) != X509_V_OK) {
                verify = SSL_get_verify_result(ssl_);
                text += std::string(": ") + X509_verify_cert_error_string(verify);
            }
            throw Error(std::string("green::") + what + ": " + text, reason, verify);
        }
        }
        if (deadline.never_wait()) green::detail::throw_errno(EAGAIN, std::string("green::") + what);
        const double left = deadline.remaining();
        if (left == 0 || !green::detail::wait_fd(socket_.fd(), for_write, left)) throw TimeoutError();
    }
}

void Stream::handshake_for(double timeout) {
    if (handshaken_) return;
    if (drive([this] { return SSL_do_handshake(ssl_); }, green::detail::Deadline::after(timeout),
              "tls::Stream::handshake") == 0) {
        failed_ = true;  // a close_notify instead of a handshake
        throw Error("green::tls::Stream::handshake: the peer closed the session", "closed during handshake");
    }
    handshaken_ = true;
}

std::size_t Stream::read_some(void* buf, std::size_t len) {
    const auto deadline = green::detail::Deadline::after(timeout_);
    if (!handshaken_) handshake_for(deadline.remaining());
    if (len == 0) return 0;
    // As Socket::recv_into does: after a short read that left nothing buffered,
    // a read tried now would find the socket empty, so wait for it first.
    if (drained_ && !deadline.never_wait()) {
        drained_ = false;
        const double left = deadline.remaining();
        if (left == 0 || !green::detail::wait_fd(socket_.fd(), false, left))
            throw TimeoutError();
    }
    std::size_t got = 0;
    drive([&] { return SSL_read_ex(ssl_, buf, len, &got); }, deadline, "tls::Stream::read");
    drained_ = got > 0 && got < len && !SSL_has_pending(ssl_);
    return got;
}

std::string Stream::read(std::size_t max) {
    std::string out(max, '\0');
    out.resize(read_some(out.data(), max));
    return out;
}

void Stream::write(const void* buf, std::size_t len) {
    const auto deadline = green::detail::Deadline::after(timeout_);
    if (!handshaken_) handshake_for(deadline.remaining());
    const char* p = static_cast<const char*>(buf);
    while (len > 0) {
        std::size_t sent = 0;
        drive([&] { return SSL_write_ex(ssl_, p, len, &sent); }, deadline, "tls::Stream::write");
        p += sent;
        len -= sent;
    }
}

void Stream::shutdown() {
    if (!ssl_ || failed_ || !handshaken_) return;
    // 0: our close_notify is out and the peer's has not come yet, which is all
    // this waits for; 1: both are done.
    drive([this] { return SSL_shutdown(ssl_) >= 0 ? 1 : -1; }, green::detail::Deadline::after(timeout_), "tls::Stream::shutdown");
}

void Stream::close() noexcept {
    try {
        socket_.close();
    } catch (...) {  // the descriptor is gone either way
    }
}

std::string Stream::alpn() const {
    const unsigned char* p = nullptr;
    unsigned len = 0;
    if (ssl_) SSL_get0_alpn_selected(ssl_, &p, &len);
    return std::string(reinterpret_cast<const char*>(p), p ? len : 0);
}

std::string Stream::version() const { return ssl_ ? SSL_get_version(ssl_) : ""; }

std::string Stream::cipher() const {
    const char* c = ssl_ ? SSL_get_cipher_name(ssl_) : nullptr;
    return c ? c : "";
}

std::string Stream::server_name() const {
    const char* n = ssl_ ? SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name) : nullptr;
    return n ? n : "";
}

Stream detail::connect(const std::string& host, std::uint16_t port, const Context& ctx, double timeout) {
    const auto deadline = green::detail::Deadline::after(timeout);
    Stream s(timeout == green::detail::kForever ? create_connection(host, port)
                                                : create_connection(host, port, std::chrono::duration<double>(timeout)),
             ctx, host);
    s.handshake(std::chrono::duration<double>(deadline.remaining()));
    return s;
}

}  // namespace green::tls
