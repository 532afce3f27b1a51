// c-ares glue: the only file that includes ares.h.
//
// c-ares tells us through its socket-state callback which of its sockets want
// reading or writing; we keep a loop I/O watcher per socket and one timer for
// ares_timeout(), and call ares_process_fd when either fires. c-ares gets the
// runtime's raw system calls (sys.hpp) for its sockets, so its I/O never enters
// the LD_PRELOAD shim. Callbacks run in the hub and only wake the asker.
#include "dns/dns_channel.hpp"

#include <ares.h>
#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <new>
#include <utility>

#include "base/sys.hpp"
#include "core/hub.hpp"
#include "core/loop.hpp"
#include "core/runtime_fds.hpp"
#include "dns/resolv_conf.hpp"
#include "green/dns.hpp"
#include "green/semaphore.hpp"

namespace green::detail {
namespace {

std::mutex settings_mutex;
DnsSettings settings;
unsigned settings_generation = 1;

// glibc reads at most three nameserver lines (MAXNS).
constexpr int kGlibcMaxServers = 3;

// glibc waits `timeout_s << i` seconds for server i of n, divided by n after
// the first, and at least 1 s (res_send.c); c-ares 1.18 waits as long for each
// server. The mean over the servers makes a round over them, and so a failure,
// last as long as glibc's (to the millisecond; a single server waits the same).
int glibc_per_server_ms(int timeout_s, int servers) {
    if (servers <= 1) return timeout_s * 1000;
    long total_s = 0;
    for (int i = 0; i < servers; ++i) {
        long wait = static_cast<long>(timeout_s) << i;
        if (i > 0) wait /= servers;
        total_s += std::max(wait, 1L);
    }
    return static_cast<int>(total_s * 1000 / servers);
}

int to_eai(int status) {
    switch (status) {
    case ARES_SUCCESS: return 0;
    case ARES_ENOTFOUND:
    case ARES_EBADNAME:
    case ARES_EBADQUERY: return EAI_NONAME;
    case ARES_ENODATA: return EAI_NODATA;
    case ARES_EBADFAMILY: return EAI_FAMILY;
    case ARES_ENOMEM: return EAI_MEMORY;
    case ARES_EFORMERR:
    case ARES_EBADRESP:
    case ARES_ENOTIMP: return EAI_FAIL;
    default: return EAI_AGAIN;  // timeouts, refused or failing servers, cancellations
    }
}

// c-ares' sockets use the runtime's raw system calls. Their user data is the
// channel's list of sockets whose server refused (Channel::refused).
//
// A refusal (the ICMP port unreachable of an earlier datagram) is the socket's
// pending error, which the next call on it takes, whichever it is. c-ares 1.18
// sends A and AAAA on one socket: when the second send takes the refusal, the
// first query would wait for its whole timeout, where glibc, reading, moves on
// at once. So a refusal a send took is reported to the next read as well.
std::vector<int>& refused_of(void* data) { return *static_cast<std::vector<int>*>(data); }

ares_socket_t on_socket(int domain, int type, int protocol, void*) {
    return own_runtime_fd(sys::socket(domain, type | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol));
}
int on_close(ares_socket_t fd, void* data) {
    std::erase(refused_of(data), fd);
    unmark_runtime_fd(fd);
    return sys::close(fd);
}
int on_connect(ares_socket_t fd, const sockaddr* addr, ares_socklen_t len, void*) { return sys::connect(fd, addr, len); }
ares_ssize_t on_recvfrom(ares_socket_t fd, void* buf, size_t len, int flags, sockaddr* from, ares_socklen_t* fromlen,
                         void* data) {
    if (std::erase(refused_of(data), fd) != 0) {
        errno = ECONNREFUSED;
        return -1;
    }
    return sys::recvfrom(fd, buf, len, flags, from, fromlen);
}
ares_ssize_t on_sendv(ares_socket_t fd, const iovec* iov, int n, void* data) {
    const ares_ssize_t r = sys::writev(fd, iov, n);
    if (r < 0 && errno == ECONNREFUSED && std::ranges::find(refused_of(data), fd) == refused_of(data).end())
        refused_of(data).push_back(fd);
    return r;
}
const ares_socket_functions raw_socket_functions = {on_socket, on_close, on_connect, on_recvfrom, on_sendv};

}  // namespace

void set_dns_settings(const DnsSettings& s) {
    std::lock_guard<std::mutex> lock(settings_mutex);
    settings = s;
    ++settings_generation;
}

DnsSettings dns_settings() {
    std::lock_guard<std::mutex> lock(settings_mutex);
    return settings;
}

struct DnsChannel::Impl {
    struct Channel;

    // One c-ares socket and its watchers.
    struct Socket {
        Channel* owner;
        int fd;
        WatcherSlot read, write;
    };

    // One question; freed by the callback if the asker was killed meanwhile.
    struct Query {
        Query(Channel* c, GreenletCore* a) : channel(c), asker(a) {}
        Channel* channel;
        GreenletCore* asker;
        bool done = false;
        bool abandoned = false;
        DnsAnswer answer;
        std::vector<unsigned char>* raw = nullptr;  // res_query's answer message
    };

    // One ares_channel with its sockets and timer. A channel whose settings went
    // stale is retired: it answers the queries it has, then goes away, while new
    // queries use a fresh one (c-ares cannot change servers under pending queries).
    struct Channel {
        Impl* impl;
        ares_channel ch = nullptr;
        std::vector<std::unique_ptr<Socket>> sockets;
        WatcherSlot timer;
        unsigned settings = 0;
        std::vector<int> refused;  // sockets whose next read reports a refusal (on_sendv)
        FileIdentity resolv_conf;  // the file as it was when the channel read it
        int attempts = 1;          // rounds over the servers for one question
        bool searches = false;     // whether names go through a search list
        int in_flight = 0;
        bool closing = false;

        Loop& loop() { return impl->loop; }

        ~Channel() {
            closing = true;  // callbacks fired by ares_destroy must not wake anyone
            if (ch) ares_destroy(ch);
            if (timer_active(timer)) timer_stop(loop(), timer);
            for (auto& s : sockets) stop(*s);
        }

        void stop(Socket& s) {
            if (io_active(s.read)) io_stop(loop(), s.read);
            if (io_active(s.write)) io_stop(loop(), s.write);
        }

        void watch(Socket& s, WatcherSlot& w, bool want, bool for_write) {
            if (want && !io_active(w))
                io_start(loop(), w, s.fd, for_write, for_write ? on_writable : on_readable, &s);
            else if (!want && io_active(w))
                io_stop(loop(), w);
        }

        // How many times a question that no server answered is asked, in all:
        // glibc's attempts, and for a name looked up through a search list,
        // twice that. glibc then asks its next candidate name once; c-ares stops
        // its search at a timeout, so the whole search is asked again instead.
        int rounds(const std::string* searched_name) const {
            const bool absolute = searched_name && searched_name->ends_with('.');
            return attempts * (searched_name && searches && !absolute ? 2 : 1);
        }

        void update_timer() {
            if (timer_active(timer)) timer_stop(loop(), timer);
            timeval tv{};
            if (ares_timeout(ch, nullptr, &tv))
                timer_start(loop(), timer, to_seconds(tv), on_timer, this);
        }

        // After c-ares ran: re-arm the timer, or let a drained retired channel go.
        // Lets c-ares read the refusals its sends took (on_sendv).
        void read_refusals() {
            while (!refused.empty()) {
                const int fd = refused.back();
                ares_process_fd(ch, fd, ARES_SOCKET_BAD);
                std::erase(refused, fd);  // c-ares had nothing waiting to read there
            }
        }

        void after_processing() {
            read_refusals();
            if (this != impl->current.get() && in_flight == 0)
                impl->release(this);
            else
                update_timer();
        }
    };

    explicit Impl(Loop& l) : loop(l) {}

    // At most this many lookups wait for answers at once; the rest queue (FIFO).
    // A burst of answers to thousands of queries would overflow the socket's
    // receive buffer, and every dropped answer costs a whole c-ares timeout.
    static constexpr long kMaxInFlight = 64;

    Channel& ready_channel() {
        unsigned generation;
        {
            std::lock_guard<std::mutex> lock(settings_mutex);
            generation = settings_generation;
        }
        // glibc 2.36 too looks at resolv.conf at each lookup and reads it again once changed.
        if (current && (current->settings != generation || current->resolv_conf != FileIdentity::of(kResolvConfPath))) {
            if (current->in_flight == 0)
                current.reset();
            else
                retired.push_back(std::move(current));
        }
        if (!current) current = open_channel();
        return *current;
    }

    std::unique_ptr<Channel> open_channel() {
        static std::once_flag library;
        std::call_once(library, [] { ares_library_init(ARES_LIB_INIT_ALL); });
        auto c = std::make_unique<Channel>();
        c->impl = this;
        DnsSettings s;
        {
            std::lock_guard<std::mutex> lock(settings_mutex);
            s = settings;
            c->settings = settings_generation;
        }
        // Read before c-ares reads it: a change in between is seen at the next lookup.
        c->resolv_conf = FileIdentity::of(kResolvConfPath);
        const ResolvConf conf = read_resolv_conf();
        c->attempts = std::max(s.tries > 0 ? s.tries : conf.attempts, 1);
        c->searches = conf.searches();
        std::vector<char*> domains;
        for (const std::string& d : conf.search) domains.push_back(const_cast<char*>(d.c_str()));
        ares_options opts{};
        int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS;
        opts.sock_state_cb = on_socket_state;
        opts.sock_state_cb_data = c.get();
        opts.lookups = const_cast<char*>("b");  // DNS only: green reads the hosts file itself
        opts.socket_receive_buffer_size = 1 << 20;  // capped by net.core.rmem_max
        mask |= ARES_OPT_SOCK_RCVBUF;
        // One try per server and question: c-ares would double the timeout at
        // each round, glibc keeps it; the rounds are asked from here (rounds()).
        opts.timeout = s.timeout_ms > 0 ? s.timeout_ms : std::max(conf.timeout_s, 1) * 1000;
        opts.tries = 1;
        opts.ndots = conf.ndots;
        mask |= ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS;
        mask |= conf.rotate ? ARES_OPT_ROTATE : ARES_OPT_NOROTATE;
        if (conf.search_given) {
            opts.domains = domains.data();
            opts.ndomains = static_cast<int>(domains.size());
            mask |= ARES_OPT_DOMAINS;
        }
        init_ares(*c, opts, mask);
        if (!s.servers.empty()) {
            ares_set_servers_ports_csv(c->ch, s.servers.c_str());
            return c;
        }
        // resolv.conf's servers, as glibc uses them: the first three (MAXNS),
        // and a round over them as long as glibc's (glibc_per_server_ms).
        ares_addr_port_node* servers = nullptr;
        if (ares_get_servers_ports(c->ch, &servers) != ARES_SUCCESS) return c;
        int count = 0;
        ares_addr_port_node* last = servers;
        for (ares_addr_port_node* n = servers; n && count < kGlibcMaxServers; n = n->next, ++count) last = n;
        ares_addr_port_node* const beyond = last ? last->next : nullptr;
        if (last) last->next = nullptr;
        const int per_server_ms = s.timeout_ms > 0 ? opts.timeout : glibc_per_server_ms(std::max(conf.timeout_s, 1), count);
        const bool again = per_server_ms != opts.timeout;
        if (again) {  // c-ares 1.18 takes its timeout only here
            ares_destroy(std::exchange(c->ch, nullptr));
            opts.timeout = per_server_ms;
            init_ares(*c, opts, mask);
        }
        if (beyond || again) ares_set_servers_ports(c->ch, servers);
        if (last) last->next = beyond;
        ares_free_data(servers);
        return c;
    }

    static void init_ares(Channel& c, ares_options& opts, int mask) {
        const int rc = ares_init_options(&c.ch, &opts, mask);
        if (rc != ARES_SUCCESS) {
            c.ch = nullptr;
            if (rc == ARES_ENOMEM) throw std::bad_alloc();
            throw dns::Error(EAI_FAIL, std::string("c-ares initialisation (") + ares_strerror(rc) + ")");
        }
        ares_set_socket_functions(c.ch, &raw_socket_functions, &c.refused);
    }

    // A channel of its own for one lookup: retired from the start, so it goes
    // once that lookup is answered.
    Channel& private_channel() {
        retired.push_back(open_channel());
        return *retired.back();
    }

    // Destroys a retired channel with no query left, if `c` still is one (it may
    // have gone already). Never from inside its own callbacks.
    void release_if_drained(Channel* c) {
        for (auto& r : retired)
            if (r.get() == c && r->in_flight == 0) return release(c);
    }

    // Destroys a retired channel (never from inside its own callbacks).
    void release(Channel* c) {
        for (auto it = retired.begin(); it != retired.end(); ++it)
            if (it->get() == c) {
                retired.erase(it);
                return;
            }
    }

    static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
        auto& c = *static_cast<Channel*>(data);
        Socket* s = nullptr;
        for (auto& k : c.sockets)
            if (k->fd == fd) s = k.get();
        if (!s) {
            if (!readable && !writable) return;
            c.sockets.push_back(std::make_unique<Socket>(Socket{&c, fd, {}, {}}));
            s = c.sockets.back().get();
        }
        c.watch(*s, s->read, readable, false);
        c.watch(*s, s->write, writable, true);
        if (!readable && !writable) {
            for (auto it = c.sockets.begin(); it != c.sockets.end(); ++it)
                if (it->get() == s) {
                    c.sockets.erase(it);
                    break;
                }
        }
    }

    static void on_readable(void* arg) {
        Channel* c = static_cast<Socket*>(arg)->owner;
        ares_process_fd(c->ch, static_cast<Socket*>(arg)->fd, ARES_SOCKET_BAD);  // may free the Socket
        c->after_processing();
    }
    static void on_writable(void* arg) {
        Channel* c = static_cast<Socket*>(arg)->owner;
        ares_process_fd(c->ch, ARES_SOCKET_BAD, static_cast<Socket*>(arg)->fd);
        c->after_processing();
    }
    static void on_timer(void* arg) {
        auto* c = static_cast<Channel*>(arg);
        ares_process_fd(c->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        c->after_processing();
    }

    // Called by a c-ares callback: hands the answer over or, for an abandoned
    // query, frees it. c-ares may answer at once, inside the call that asked,
    // while the asker still runs: it then finds the answer without waiting.
    static void finish(Query* q) {
        Channel* c = q->channel;
        --c->in_flight;
        if (q->abandoned) {
            delete q;
            return;
        }
        q->done = true;
        if (!c->closing && q->asker->state != State::running) q->asker->hub->wake(*q->asker, WakeReason::woken);
    }

    static DnsAnswer wait(Query* q, const char* what) {
        struct Guard {
            Query* q;
            ~Guard() {
                if (q->done)
                    delete q;
                else
                    q->abandoned = true;  // the callback frees it
            }
        } guard{q};
        if (!q->done) q->channel->update_timer();
        while (!q->done) Hub::current().park(nullptr, kForever, what, q);
        return std::move(q->answer);
    }

    // What every c-ares callback records of its status first.
    static void note_status(DnsAnswer& answer, int status) {
        answer.status = to_eai(status);
        answer.timed_out = status == ARES_ETIMEOUT;
        answer.connection_lost = status == ARES_ECONNREFUSED;
    }

    static void on_addrinfo(void* arg, int status, int, ares_addrinfo* res) {
        auto* q = static_cast<Query*>(arg);
        note_status(q->answer, status);
        if (status == ARES_SUCCESS && res && !q->abandoned) {
            for (int family : {AF_INET, AF_INET6})  // glibc lists the A answer first
                for (auto* n = res->nodes; n; n = n->ai_next)
                    if (n->ai_family == family)
                        q->answer.addresses.emplace_back(n->ai_addr, static_cast<socklen_t>(n->ai_addrlen));
            for (auto* c = res->cnames; c; c = c->next) {
                if (c->alias) q->answer.aliases.push_back(c->alias);
                if (c->name) q->answer.canonical = c->name;
            }
            if (q->answer.canonical.empty() && res->name) q->answer.canonical = res->name;
        }
        if (res) ares_freeaddrinfo(res);
        finish(q);
    }

    static void on_raw(void* arg, int status, int, unsigned char* abuf, int alen) {
        auto* q = static_cast<Query*>(arg);
        note_status(q->answer, status);
        if (abuf && alen > 0 && !q->abandoned && q->raw) q->raw->assign(abuf, abuf + alen);
        finish(q);
    }

    static void on_host(void* arg, int status, int, hostent* h) {
        auto* q = static_cast<Query*>(arg);
        note_status(q->answer, status);
        if (status == ARES_SUCCESS && h && h->h_name && !q->abandoned) q->answer.canonical = h->h_name;
        finish(q);
    }

    Loop& loop;
    std::unique_ptr<Channel> current;
    std::vector<std::unique_ptr<Channel>> retired;
    Semaphore slots{kMaxInFlight};
};

namespace {

// A slot among the lookups in flight, held for the whole lookup.
struct InFlight {
    Semaphore& slots;
    explicit InFlight(Semaphore& s) : slots(s) { slots.acquire(); }
    ~InFlight() { slots.release(); }
};

}  // namespace

DnsChannel::DnsChannel(Loop& loop) : impl_(std::make_unique<Impl>(loop)) {}

DnsChannel::~DnsChannel() = default;

// Asks with `issue(channel, query)` until an answer comes or the rounds are
// used up; `searched_name` is the name when it goes through the search list.
template <class Issue>
DnsAnswer DnsChannel::ask(const std::string* searched_name, const char* what, Issue issue) {
    InFlight slot(impl_->slots);
    bool isolated = false;
    for (int round = 1;; ++round) {
        Impl::Channel& c = isolated ? impl_->private_channel() : impl_->ready_channel();
        auto* q = new Impl::Query(&c, &current());
        ++c.in_flight;
        issue(c, q);
        c.read_refusals();
        const int rounds = c.rounds(searched_name);
        DnsAnswer a = Impl::wait(q, what);
        if (isolated) impl_->release_if_drained(&c);
        // c-ares (1.18) ends every query on a server whose connection failed
        // when one query's TCP retry is refused or closed, say. glibc fails only
        // that query: each is asked again on a channel of its own, where only
        // the one at fault fails.
        if (a.connection_lost && !isolated) {
            isolated = true;
            --round;
            continue;
        }
        if (!a.timed_out || round >= rounds) return a;
    }
}

DnsAnswer DnsChannel::lookup(const std::string& name, int family) {
    return ask(&name, "dns::getaddrinfo", [&](Impl::Channel& c, Impl::Query* q) {
        ares_addrinfo_hints hints{};
        hints.ai_family = family;
        hints.ai_flags = ARES_AI_CANONNAME | ARES_AI_NOSORT;  // green sorts as glibc does
        ares_getaddrinfo(c.ch, name.c_str(), nullptr, &hints, Impl::on_addrinfo, q);
    });
}

DnsAnswer DnsChannel::reverse(const Address& address) {
    const void* raw = nullptr;
    int len = 0;
    if (address.family() == AF_INET) {
        raw = &reinterpret_cast<const sockaddr_in*>(address.data())->sin_addr;
        len = sizeof(in_addr);
    } else if (address.family() == AF_INET6) {
        raw = &reinterpret_cast<const sockaddr_in6*>(address.data())->sin6_addr;
        len = sizeof(in6_addr);
    } else {
        DnsAnswer a;
        a.status = EAI_FAMILY;
        return a;
    }
    return ask(nullptr, "dns::getnameinfo", [&](Impl::Channel& c, Impl::Query* q) {
        ares_gethostbyaddr(c.ch, raw, len, address.family(), Impl::on_host, q);
    });
}

DnsAnswer DnsChannel::raw(const std::string& name, int dns_class, int type, bool search,
                          std::vector<unsigned char>& answer) {
    return ask(search ? &name : nullptr, "res_query", [&](Impl::Channel& c, Impl::Query* q) {
        // The answer vector outlives the query only while the asker waits; an
        // abandoned query drops its answer (on_raw checks `abandoned`).
        q->raw = &answer;
        if (search)
            ares_search(c.ch, name.c_str(), dns_class, type, Impl::on_raw, q);
        else
            ares_query(c.ch, name.c_str(), dns_class, type, Impl::on_raw, q);
    });
}

}  // namespace green::detail
