// A tiny HTTP/1.1 GET shared by the fetch and crawler examples:
// http://host[:port]/path only, one request per connection.
#pragma once

#include <green/green.hpp>

#include <stdexcept>
#include <string>

namespace example {

struct Url {
    std::string host;
    std::uint16_t port = 80;
    std::string path = "/";
};

// Throws std::invalid_argument for anything but http://host[:port][/path].
inline Url parse_url(const std::string& url) {
    const std::string scheme = "http://";
    if (url.rfind(scheme, 0) != 0) throw std::invalid_argument("not an http:// URL: " + url);
    Url u;
    std::string rest = url.substr(scheme.size());
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

// The response body (headers stripped): Content-Length bytes, or everything up
// to the end of the connection. Throws on network errors and timeouts.
inline std::string http_get(const std::string& url, std::chrono::seconds timeout = std::chrono::seconds(10)) {
    const Url u = parse_url(url);
    green::Timeout deadline(timeout);
    green::Socket s = green::create_connection(u.host, u.port);
    s.sendall("GET " + u.path + " HTTP/1.1\r\nHost: " + u.host + "\r\nConnection: close\r\n\r\n");
    std::string reply;
    std::size_t header_end = std::string::npos, want = std::string::npos;
    while (reply.size() < want) {
        std::string part = s.recv(65536);
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

}  // namespace example
