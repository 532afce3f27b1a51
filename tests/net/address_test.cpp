#include <doctest/doctest.h>

#include <green/green.hpp>

#include <netinet/in.h>

#include <stdexcept>

// IPv4, IPv6 (with and without scope) and unix addresses parse and format back.
TEST_CASE("address: parse and format") {
    auto v4 = green::Address::parse("127.0.0.1:8080");
    CHECK(v4.family() == AF_INET);
    CHECK(v4.port() == 8080);
    CHECK(v4.host() == "127.0.0.1");
    CHECK(v4.to_string() == "127.0.0.1:8080");
    auto v6 = green::Address::parse("[::1]:443");
    CHECK(v6.family() == AF_INET6);
    CHECK(v6.port() == 443);
    CHECK(v6.to_string() == "[::1]:443");
    auto scoped = green::Address::parse("[fe80::1%lo]:22");
    CHECK(scoped.host() == "fe80::1%lo");
    auto path = green::Address::parse("unix:/tmp/x.sock");
    CHECK(path.family() == AF_UNIX);
    CHECK(path.to_string() == "unix:/tmp/x.sock");
    CHECK(green::Address::parse("/run/y.sock").host() == "/run/y.sock");
}

// Conversion to and from sockaddr keeps every byte.
TEST_CASE("address: sockaddr round trip") {
    auto a = green::Address::parse("[2001:db8::5]:65535");
    green::Address b(a.data(), a.size());
    CHECK(a == b);
    CHECK(b.port() == 65535);
    CHECK(green::Address::ip("10.1.2.3", 7) == green::Address::parse("10.1.2.3:7"));
}

// from_bytes builds the address an in_addr or in6_addr holds, with a port; other
// families are refused.
TEST_CASE("address: from raw bytes") {
    const unsigned char v4[4] = {192, 0, 2, 7};
    CHECK(green::Address::from_bytes(AF_INET, v4, 53) == green::Address::parse("192.0.2.7:53"));
    in6_addr v6{};
    v6.s6_addr[0] = 0x20;
    v6.s6_addr[1] = 0x01;
    v6.s6_addr[2] = 0x0d;
    v6.s6_addr[3] = 0xb8;
    v6.s6_addr[15] = 9;
    CHECK(green::Address::from_bytes(AF_INET6, &v6) == green::Address::parse("[2001:db8::9]:0"));
    CHECK_THROWS_AS(green::Address::from_bytes(AF_UNIX, v4), std::invalid_argument);
}

// Malformed input is refused with invalid_argument naming the text.
TEST_CASE("address: bad input") {
    for (const char* bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "localhost:80", "[::1:80",
                            "[::1]80", "::1:80", "[127.0.0.1]:80", "1.2.3.4:8x", "unix:", ""}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(green::Address::parse(bad), std::invalid_argument);
    }
    try {
        green::Address::parse("example.com:80");
    } catch (const std::invalid_argument& e) {
        CHECK(std::string(e.what()).find("example.com:80") != std::string::npos);
    }
    CHECK_THROWS_AS(green::Address::unix_path(std::string(200, 'x')), std::invalid_argument);
    // A NUL byte inside is refused, never cut at: the kernel and inet_pton would stop there.
    using namespace std::string_view_literals;
    for (std::string_view nul : {"127.0.0.1\0junk:80"sv, "[::1\0junk]:80"sv, "[fe80::1%lo\0x]:80"sv, "1.2.3.4:80\0"sv,
                                 "unix:/tmp/a\0b"sv, "/tmp/a\0b"sv}) {
        CAPTURE(nul);
        CHECK_THROWS_AS(green::Address::parse(nul), std::invalid_argument);
    }
    CHECK_THROWS_AS(green::Address::ip("127.0.0.1\0junk"sv, 80), std::invalid_argument);
    CHECK_THROWS_AS(green::Address::unix_path("/tmp/a\0b"sv), std::invalid_argument);
    try {
        green::Address::parse("127.0.0.1\0junk:80"sv);
    } catch (const std::invalid_argument& e) {
        CHECK(std::string(e.what()) == "green: bad address '127.0.0.1\\0junk:80': it contains a NUL byte");
    }
    CHECK(green::Address().empty());
    CHECK(green::Address().to_string() == "(no address)");
}
