// A tiny HTTP/1.1 GET shared by the fetch and crawler examples:
// http:// and https://host[:port]/path, one request per connection. https
// trusts the system's CAs (SSL_CERT_FILE / SSL_CERT_DIR override them).
#pragma once

#include <green/green.hpp>

#include <stdexcept>
#include <string>

namespace example {

struct Url {
    std::string host;
    std::uint16_t port = 80;
    std::string path = "/";
    bool tls = false;
};

// Throws std::invalid_argument for anything but http(s)://host[:port][/path].
inline Url parse_url(const std::string& url) {
    Url u;
    std::string rest;
    if (url.rfind("http://", 0) == 0) {
        rest = url.substr(7);
    } else if (url.rfind("https://", 0) == 0) {
        rest = url.substr(8);
        u.port = 443;
        u.tls = true;
    } else {
        throw std::invalid_argument("not an http:// or https:// URL: " + url);
    }
    if (auto slash = rest.find('/'); slash != std::string::npos) {
        u.path = rest.substr(slash);
        rest.resize(slash);
    }
    if (auto colon = rest.rfind(':'); colon != std::string::npos && rest.find(']') == std::string::npos) {
        u.port = static_cast<std::uint16_t>(std::stoi(rest.substr(colon + 1)));
        rest.resize(colon);
    }
    if (rest.empty()) throw std::invalid_argument("no host in URL: " + url);
    u.host = rest;
    return u;
}

// What a response may bring: a hostile server could otherwise send headers or
// a body until memory runs out.
inline constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
inline constexpr std::size_t kMaxBodyBytes = 64 * 1024 * 1024;

// A Content-Length value: digits only, at most `limit`. Anything else (a sign,
// junk, a number past the limit or past what size_t holds) is refused.
inline std::size_t parse_content_length(const std::string& headers, std::size_t at, std::size_t limit) {
    std::size_t end = headers.find("\r\n", at);
    std::string value = headers.substr(at, end - at);
    while (!value.empty() && value.back() == ' ') value.pop_back();
    if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos)
        throw std::runtime_error("bad Content-Length: '" + value + "'");
    const unsigned long long length = value.size() > 19 ? ~0ULL : std::stoull(value);  // 19 digits always fit
    if (length > limit)
        throw std::runtime_error("Content-Length " + value + " is larger than " + std::to_string(limit) + " bytes");
    return static_cast<std::size_t>(length);
}

// The response body (headers stripped) as `read` (which returns "" at the end
// of the stream) delivers it: Content-Length bytes, or everything to the end;
// at most kMaxBodyBytes, after at most kMaxHeaderBytes of headers.
template <class Read>
std::string read_response(Read read, std::size_t max_body = kMaxBodyBytes) {
    std::string reply;
    std::size_t header_end = std::string::npos, want = std::string::npos;
    while (reply.size() < want) {
        std::string part = read();
        if (part.empty()) break;
        reply += part;
        if (header_end == std::string::npos) {
            header_end = reply.find("\r\n\r\n");
            if (header_end == std::string::npos) {
                if (reply.size() > kMaxHeaderBytes) throw std::runtime_error("response headers larger than 64 KiB");
                continue;
            }
            for (const char* name : {"Content-Length:", "content-length:", "Content-length:"})
                if (auto at = reply.find(name); at != std::string::npos && at < header_end)
                    want = header_end + 4 + parse_content_length(reply, reply.find_first_not_of(' ', at + 15), max_body);
        }
        if (reply.size() - header_end - 4 > max_body)
            throw std::runtime_error("response body larger than " + std::to_string(max_body) + " bytes");
    }
    return header_end == std::string::npos ? std::string() : reply.substr(header_end + 4, want - header_end - 4);
}

// The response body of a GET. Throws on network errors, TLS errors (a
// certificate that does not verify) and timeouts.
inline std::string http_get(const std::string& url, std::chrono::seconds timeout = std::chrono::seconds(10)) {
    const Url u = parse_url(url);
    green::Timeout deadline(timeout);
    const std::string request = "GET " + u.path + " HTTP/1.1\r\nHost: " + u.host + "\r\nConnection: close\r\n\r\n";
    if (u.tls) {
        static const green::tls::Context ctx = green::tls::Context::client();  // one for every connection
        green::tls::Stream s = green::tls::connect(u.host, u.port, ctx);
        s.write(request);
        return read_response([&] { return s.read(65536); });
    }
    green::Socket s = green::create_connection(u.host, u.port);
    s.sendall(request);
    return read_response([&] { return s.recv(65536); });
}

}  // namespace example
