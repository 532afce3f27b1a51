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

// The response body (headers stripped) as `read` (which returns "" at the end
// of the stream) delivers it: Content-Length bytes, or everything to the end.
template <class Read>
std::string read_response(Read read) {
    std::string reply;
    std::size_t header_end = std::string::npos, want = std::string::npos;
    while (reply.size() < want) {
        std::string part = read();
        if (part.empty()) break;
        reply += part;
        if (header_end == std::string::npos && (header_end = reply.find("\r\n\r\n")) != std::string::npos) {
            for (const char* name : {"Content-Length: ", "content-length: "})
                if (auto at = reply.find(name); at != std::string::npos && at < header_end)
                    want = header_end + 4 + std::stoul(reply.substr(at + 16));
        }
    }
    return header_end == std::string::npos ? std::string() : reply.substr(header_end + 4);
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
