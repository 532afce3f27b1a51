// DNS queries through c-ares, driven by the hub's loop (ares_glue.cpp is the only
// file that includes ares.h). One DnsChannel per hub, created on first use;
// every lookup in flight on a thread shares it. A changed /etc/resolv.conf is
// read again at the next lookup, and the servers are asked in turn, each
// waited for as long as glibc waits for it (resolv_conf.hpp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "green/address.hpp"

namespace green::detail {

class Loop;

// Process-wide resolver settings; a channel picks up changes at its next lookup.
struct DnsSettings {
    std::string servers;  // c-ares CSV ("127.0.0.1:5353,[::1]:53"); empty: resolv.conf
    int timeout_ms = 0;   // per try; 0: resolv.conf (glibc's default is 5 s)
    int tries = 0;        // 0: resolv.conf (default 2)
};
void set_dns_settings(const DnsSettings& s);
DnsSettings dns_settings();

// What a lookup found: status 0 or an EAI_* code.
struct DnsAnswer {
    int status = 0;
    std::vector<Address> addresses;    // port 0: A records first, then AAAA, as glibc lists them before sorting
    std::string canonical;             // the last CNAME target, or the name asked for
    std::vector<std::string> aliases;  // the CNAME owners along the chain
    bool timed_out = false;            // the server did not answer in time
    bool server_failed = false;        // the server refused the question (a closed port, SERVFAIL, NOTIMP, REFUSED)
    bool connection_lost = false;      // c-ares lost its server connection while asking
    bool ask_again = false;            // the channel went while asking (DnsChannel::give_up_socket)
};

class DnsChannel;

// This thread's channel, with GREEN_DNS_* applied first: every lookup goes here.
DnsChannel& thread_dns_channel();

class DnsChannel {
public:
    explicit DnsChannel(Loop& loop);
    ~DnsChannel();
    DnsChannel(const DnsChannel&) = delete;
    DnsChannel& operator=(const DnsChannel&) = delete;

    // A and/or AAAA records of `name` (family AF_INET, AF_INET6 or AF_UNSPEC).
    // Parks the calling greenlet until the answer; a kill abandons the query.
    DnsAnswer lookup(const std::string& name, int family);
    // The PTR name of `address` (in `canonical`).
    DnsAnswer reverse(const Address& address);
    // A raw query (res_query; with `search`, res_search): the answer message, or
    // an error as status (EAI_NONAME for NXDOMAIN, EAI_NODATA, EAI_AGAIN...).
    DnsAnswer raw(const std::string& name, int dns_class, int type, bool search, std::vector<unsigned char>& answer);

    // If `fd` is one of the channel's sockets: lets go of it (a program's dup2
    // wants the number) and returns true. The queries asked through it are
    // asked again.
    bool give_up_socket(int fd) noexcept;

private:
    struct Impl;
    template <class Issue>
    DnsAnswer ask(const std::string* searched_name, const char* what, Issue issue);
    std::unique_ptr<Impl> impl_;
};

}  // namespace green::detail
