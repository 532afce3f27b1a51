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
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <memory>
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

// How long glibc waits for server `index` of `servers` (res_send.c): the
// timeout for the first, `timeout_s << index` divided by the count for the
// others, in whole seconds and at least one.
int glibc_wait_ms(int timeout_s, int index, int servers) {
    long wait_s = static_cast<long>(timeout_s) << index;
    if (index > 0) wait_s /= servers;
    return static_cast<int>(std::max(wait_s, 1L) * 1000);
}

// Where `rotate` starts a lookup's round: one process-wide counter, from a
// start that differs from run to run, as glibc's nameserver_offset.
int rotation_offset(int servers) {
    static std::atomic<unsigned> next{static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count())};
    return static_cast<int>(next.fetch_add(1, std::memory_order_relaxed) % static_cast<unsigned>(servers));
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

// What a channel's sockets saw; the user data of its socket functions, which
// use the runtime's raw system calls.
//
// A refusal (the ICMP port unreachable of an earlier datagram) is the socket's
// pending error, which the next call on it takes, whichever it is. c-ares 1.18
// sends A and AAAA on one socket: when the second send takes the refusal, the
// first query would wait for its whole timeout, where glibc, reading, moves on
// at once. So a refusal a send took is reported to the next read as well.
struct SocketNotes {
    std::vector<int> refused;    // sockets whose next read reports a refusal
    std::vector<int> datagrams;  // the UDP sockets
    unsigned refusals = 0;       // refused datagrams: nothing listens at the server's port

    void note_error(int fd) {
        if (errno == ECONNREFUSED && std::ranges::find(datagrams, fd) != datagrams.end()) ++refusals;
    }
};
SocketNotes& notes_of(void* data) { return *static_cast<SocketNotes*>(data); }

ares_socket_t on_socket(int domain, int type, int protocol, void* data) {
    const int fd = make_runtime_fd([&] { return sys::socket(domain, type | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol); });
    if (fd >= 0 && type == SOCK_DGRAM) notes_of(data).datagrams.push_back(fd);
    return fd;
}
int on_close(ares_socket_t fd, void* data) {
    std::erase(notes_of(data).refused, fd);
    std::erase(notes_of(data).datagrams, fd);
    return close_runtime_fd(fd);
}
int on_connect(ares_socket_t fd, const sockaddr* addr, ares_socklen_t len, void*) { return sys::connect(fd, addr, len); }
ares_ssize_t on_recvfrom(ares_socket_t fd, void* buf, size_t len, int flags, sockaddr* from, ares_socklen_t* fromlen,
                         void* data) {
    if (std::erase(notes_of(data).refused, fd) != 0) {
        errno = ECONNREFUSED;
        return -1;
    }
    const ares_ssize_t r = sys::recvfrom(fd, buf, len, flags, from, fromlen);
    if (r < 0) notes_of(data).note_error(fd);
    return r;
}
ares_ssize_t on_sendv(ares_socket_t fd, const iovec* iov, int n, void* data) {
    const ares_ssize_t r = sys::writev(fd, iov, n);
    if (r < 0 && errno == ECONNREFUSED && std::ranges::find(notes_of(data).refused, fd) == notes_of(data).refused.end()) {
        notes_of(data).refused.push_back(fd);
        notes_of(data).note_error(fd);
    }
    return r;
}
const ares_socket_functions raw_socket_functions = {on_socket, on_close, on_connect, on_recvfrom, on_sendv};

// c-ares' channel handle, destroyed with its owner.
struct AresHandle {
    ares_channel ch = nullptr;
    AresHandle() = default;
    AresHandle(const AresHandle&) = delete;
    AresHandle& operator=(const AresHandle&) = delete;
    ~AresHandle() {
        if (ch) ares_destroy(ch);
    }
};

void init_ares(AresHandle& h, ares_options opts, int mask) {
    static std::once_flag library;
    std::call_once(library, [] { ares_library_init(ARES_LIB_INIT_ALL); });
    const int rc = [&] {
        const TransientFds opening;  // c-ares reads its files and /dev/urandom
        return ares_init_options(&h.ch, &opts, mask);
    }();
    if (rc != ARES_SUCCESS) {
        h.ch = nullptr;
        if (rc == ARES_ENOMEM) throw std::bad_alloc();
        throw dns::Error(EAI_FAIL, std::string("c-ares initialisation (") + ares_strerror(rc) + ")");
    }
}

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
    // What one generation of settings and resolv.conf says: c-ares' options,
    // and the servers, each with glibc's wait for it. glibc's wait differs from
    // server to server, c-ares 1.18's does not: so every server gets a channel
    // of its own, and a lookup goes from one to the next as glibc's does (ask).
    struct Setup {
        unsigned settings = 0;
        FileIdentity resolv_conf;  // the file as it was when it was read
        int attempts = 1;          // rounds over the servers for one question
        bool searches = false;     // whether names go through a search list
        bool rotate = false;       // whether a lookup's round starts at a rotating server
        std::vector<std::string> domains;
        std::vector<char*> domain_pointers;
        ares_options opts{};
        int mask = 0;
        std::vector<ares_addr_port_node> servers;  // empty: c-ares' default server
        std::vector<int> wait_ms;                  // per server

        int server_count() const { return std::max(static_cast<int>(servers.size()), 1); }

        // How many times a question that no server answered is asked, in all:
        // glibc's attempts, and for a name looked up through a search list,
        // twice that. glibc then asks its next candidate name once; c-ares stops
        // its search at a timeout, so the whole search is asked again instead.
        int rounds(const std::string* searched_name) const {
            const bool absolute = searched_name && searched_name->ends_with('.');
            return attempts * (searched_name && searches && !absolute ? 2 : 1);
        }
    };

    struct Channel;

    // One c-ares socket and its watchers.
    struct Socket {
        Channel* owner;
        int fd;
        WatcherSlot read, write;
    };

    // One question; freed by the callback if the asker was killed meanwhile.
    struct Query {
        Query(Channel* c, GreenletCore* a) : channel(c), asker(a), refusals(c->notes.refusals) {}
        Channel* channel;
        GreenletCore* asker;
        unsigned refusals;  // the channel's count when asked
        bool done = false;
        bool abandoned = false;
        DnsAnswer answer;
        std::vector<unsigned char>* raw = nullptr;  // res_query's answer message
    };

    // One ares_channel for one server, with its sockets and timer. A channel
    // whose setup went stale is retired: it answers the queries it has, then
    // goes away, while new queries use a fresh one (c-ares cannot change servers
    // under pending queries).
    struct Channel {
        Impl* impl = nullptr;
        std::shared_ptr<const Setup> setup;
        int server = 0;
        AresHandle ares;
        std::vector<std::unique_ptr<Socket>> sockets;
        WatcherSlot timer;
        SocketNotes notes;
        int in_flight = 0;
        bool closing = false;
        bool given_up = false;  // its sockets' numbers go to the program: its queries are asked again

        Loop& loop() { return impl->loop; }
        ares_channel ch() const { return ares.ch; }

        bool owns(int fd) const {
            return std::ranges::find(notes.datagrams, fd) != notes.datagrams.end() ||
                   std::ranges::any_of(sockets, [fd](const auto& s) { return s->fd == fd; });
        }

        ~Channel() {
            closing = !given_up;  // callbacks fired by ares_destroy must not wake anyone
            if (ares.ch) ares_destroy(std::exchange(ares.ch, nullptr));
            if (timer_active(timer)) timer_stop(loop(), timer);
            for (auto& s : sockets) stop(*s);
        }

        bool is_current() const {
            return setup == impl->setup && impl->current[static_cast<std::size_t>(server)].get() == this;
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

        void update_timer() {
            if (timer_active(timer)) timer_stop(loop(), timer);
            timeval tv{};
            if (ares_timeout(ch(), nullptr, &tv))
                timer_start(loop(), timer, to_seconds(tv), on_timer, this);
        }

        // Lets c-ares read the refusals its sends took (on_sendv).
        void read_refusals() {
            while (!notes.refused.empty()) {
                const int fd = notes.refused.back();
                ares_process_fd(ch(), fd, ARES_SOCKET_BAD);
                std::erase(notes.refused, fd);  // c-ares had nothing waiting to read there
            }
        }

        // After c-ares ran: re-arm the timer, or let a drained retired channel go.
        void after_processing() {
            read_refusals();
            if (!is_current() && in_flight == 0)
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

    // The setup a new lookup uses, read again once settings or resolv.conf changed.
    std::shared_ptr<const Setup> ready_setup() {
        unsigned generation;
        {
            std::lock_guard<std::mutex> lock(settings_mutex);
            generation = settings_generation;
        }
        // glibc 2.36 too looks at resolv.conf at each lookup and reads it again once changed.
        if (setup && (setup->settings != generation || setup->resolv_conf != FileIdentity::of(kResolvConfPath))) {
            for (auto& c : current)
                if (c && c->in_flight > 0) retired.push_back(std::move(c));
            current.clear();
            setup.reset();
        }
        if (!setup) {
            setup = read_setup();
            current.resize(static_cast<std::size_t>(setup->server_count()));
        }
        return setup;
    }

    static std::shared_ptr<const Setup> read_setup() {
        auto setup = std::make_shared<Setup>();
        DnsSettings s;
        {
            std::lock_guard<std::mutex> lock(settings_mutex);
            s = settings;
            setup->settings = settings_generation;
        }
        // Read before c-ares reads it: a change in between is seen at the next lookup.
        setup->resolv_conf = FileIdentity::of(kResolvConfPath);
        const ResolvConf conf = read_resolv_conf();
        setup->attempts = std::max(s.tries > 0 ? s.tries : conf.attempts, 1);
        setup->searches = conf.searches();
        setup->rotate = conf.rotate;
        setup->domains = conf.search;
        for (std::string& d : setup->domains) setup->domain_pointers.push_back(d.data());
        ares_options& opts = setup->opts;
        int& mask = setup->mask;
        mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS | ARES_OPT_SOCK_RCVBUF;
        opts.sock_state_cb = on_socket_state;
        opts.lookups = const_cast<char*>("b");      // DNS only: green reads the hosts file itself
        opts.socket_receive_buffer_size = 1 << 20;  // capped by net.core.rmem_max
        // One try per question: c-ares would double the timeout at each round,
        // glibc keeps it; the rounds and servers are gone through by ask().
        const int timeout_s = std::max(conf.timeout_s, 1);
        opts.timeout = s.timeout_ms > 0 ? s.timeout_ms : timeout_s * 1000;
        opts.tries = 1;
        opts.ndots = conf.ndots;
        mask |= ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS | ARES_OPT_NOROTATE;
        if (conf.search_given) {
            opts.domains = setup->domain_pointers.data();
            opts.ndomains = static_cast<int>(setup->domain_pointers.size());
            mask |= ARES_OPT_DOMAINS;
        }
        // The servers, as c-ares reads them from resolv.conf or parses the settings'.
        AresHandle probe;
        init_ares(probe, opts, mask);
        if (!s.servers.empty()) ares_set_servers_ports_csv(probe.ch, s.servers.c_str());
        ares_addr_port_node* servers = nullptr;
        if (ares_get_servers_ports(probe.ch, &servers) != ARES_SUCCESS) return setup;
        // resolv.conf's servers as glibc uses them: the first three (MAXNS), each
        // with its own wait; servers given to green each wait the timeout.
        int count = 0;
        for (ares_addr_port_node* n = servers; n; n = n->next) ++count;
        if (s.servers.empty()) count = std::min(count, kGlibcMaxServers);
        ares_addr_port_node* n = servers;
        for (int i = 0; i < count; ++i, n = n->next) {
            setup->servers.push_back(*n);
            setup->servers.back().next = nullptr;
            setup->wait_ms.push_back(s.timeout_ms > 0 || !s.servers.empty() ? opts.timeout
                                                                             : glibc_wait_ms(timeout_s, i, count));
        }
        ares_free_data(servers);
        return setup;
    }

    std::unique_ptr<Channel> open_channel(const std::shared_ptr<const Setup>& s, int server) {
        auto c = std::make_unique<Channel>();
        c->impl = this;
        c->setup = s;
        c->server = server;
        ares_options opts = s->opts;
        opts.sock_state_cb_data = c.get();
        const auto i = static_cast<std::size_t>(server);
        if (i < s->wait_ms.size()) opts.timeout = s->wait_ms[i];
        init_ares(c->ares, opts, s->mask);
        ares_set_socket_functions(c->ch(), &raw_socket_functions, &c->notes);
        if (i < s->servers.size()) ares_set_servers_ports(c->ch(), const_cast<ares_addr_port_node*>(&s->servers[i]));  // only read
        return c;
    }

    // The channel that asks `server` of `s`: the current one, or (`isolated`,
    // or an older setup) one of its own, retired from the start, so it goes
    // once its one query is answered.
    Channel& channel(const std::shared_ptr<const Setup>& s, int server, bool isolated) {
        if (!isolated && s == setup) {
            std::unique_ptr<Channel>& c = current[static_cast<std::size_t>(server)];
            if (!c) c = open_channel(s, server);
            return *c;
        }
        retired.push_back(open_channel(s, server));
        return *retired.back();
    }

    // Destroys the channel that owns socket `fd`; its queries are asked again.
    bool give_up_socket(int fd) noexcept {
        for (auto* list : {&current, &retired})
            for (auto it = list->begin(); it != list->end(); ++it)
                if (*it && (*it)->owns(fd)) {
                    (*it)->given_up = true;
                    if (list == &current)
                        it->reset();
                    else
                        list->erase(it);
                    return true;
                }
        return false;
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
        ares_process_fd(c->ch(), static_cast<Socket*>(arg)->fd, ARES_SOCKET_BAD);  // may free the Socket
        c->after_processing();
    }
    static void on_writable(void* arg) {
        Channel* c = static_cast<Socket*>(arg)->owner;
        ares_process_fd(c->ch(), ARES_SOCKET_BAD, static_cast<Socket*>(arg)->fd);
        c->after_processing();
    }
    static void on_timer(void* arg) {
        auto* c = static_cast<Channel*>(arg);
        ares_process_fd(c->ch(), ARES_SOCKET_BAD, ARES_SOCKET_BAD);
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
        // c-ares ends a query with ECONNREFUSED both when its server refuses
        // datagrams and when a connection failed; only the sockets tell which.
        if (q->answer.connection_lost && c->notes.refusals != q->refusals) {
            q->answer.connection_lost = false;
            q->answer.server_failed = true;
        }
        q->answer.ask_again = c->given_up;
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

    // One server's answer. c-ares (1.18) ends every query on a server whose
    // connection failed when one query's TCP retry is refused or closed, say.
    // glibc fails only that query: each is asked again on a channel of its
    // own, where only the one at fault fails.
    template <class Issue>
    DnsAnswer ask_server(const std::shared_ptr<const Setup>& s, int server, const char* what, Issue& issue) {
        for (bool isolated = false;;) {
            Channel& c = channel(s, server, isolated);
            auto* q = new Query(&c, &detail::current());
            ++c.in_flight;
            issue(c, q);
            c.read_refusals();
            DnsAnswer a = wait(q, what);
            release_if_drained(&c);
            if (a.ask_again) continue;
            if (!a.connection_lost || isolated) return a;
            isolated = true;
        }
    }

    // What every c-ares callback records of its status first.
    static void note_status(DnsAnswer& answer, int status) {
        answer.status = to_eai(status);
        answer.timed_out = status == ARES_ETIMEOUT;
        answer.server_failed = status == ARES_ESERVFAIL || status == ARES_ENOTIMP || status == ARES_EREFUSED;
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
    std::shared_ptr<const Setup> setup;            // what new lookups use
    std::vector<std::unique_ptr<Channel>> current;  // setup's, one per server, opened at first use
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

bool DnsChannel::give_up_socket(int fd) noexcept { return impl_->give_up_socket(fd); }

// Asks with `issue(channel, query)` as glibc's res_send asks: the servers in
// turn, a round at a time, until one answers; one that does not answer in time,
// refuses or fails passes the question to the next. `searched_name` is the name
// when it goes through the search list.
template <class Issue>
DnsAnswer DnsChannel::ask(const std::string* searched_name, const char* what, Issue issue) {
    InFlight slot(impl_->slots);
    const std::shared_ptr<const Impl::Setup> setup = impl_->ready_setup();  // one for the whole lookup, as glibc's
    const int servers = setup->server_count();
    const int first = setup->rotate && servers > 1 ? rotation_offset(servers) : 0;
    DnsAnswer a;
    for (int round = 0; round < setup->rounds(searched_name); ++round)
        for (int i = 0; i < servers; ++i) {
            a = impl_->ask_server(setup, (first + i) % servers, what, issue);
            if (!a.timed_out && !a.server_failed && !a.connection_lost) return a;
        }
    return a;
}

DnsAnswer DnsChannel::lookup(const std::string& name, int family) {
    return ask(&name, "dns::getaddrinfo", [&](Impl::Channel& c, Impl::Query* q) {
        ares_addrinfo_hints hints{};
        hints.ai_family = family;
        hints.ai_flags = ARES_AI_CANONNAME | ARES_AI_NOSORT;  // green sorts as glibc does
        ares_getaddrinfo(c.ch(), name.c_str(), nullptr, &hints, Impl::on_addrinfo, q);
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
        ares_gethostbyaddr(c.ch(), raw, len, address.family(), Impl::on_host, q);
    });
}

DnsAnswer DnsChannel::raw(const std::string& name, int dns_class, int type, bool search,
                          std::vector<unsigned char>& answer) {
    return ask(search ? &name : nullptr, "res_query", [&](Impl::Channel& c, Impl::Query* q) {
        // The answer vector outlives the query only while the asker waits; an
        // abandoned query drops its answer (on_raw checks `abandoned`).
        q->raw = &answer;
        if (search)
            ares_search(c.ch(), name.c_str(), dns_class, type, Impl::on_raw, q);
        else
            ares_query(c.ch(), name.c_str(), dns_class, type, Impl::on_raw, q);
    });
}

}  // namespace green::detail
