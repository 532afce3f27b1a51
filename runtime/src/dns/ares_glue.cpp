// c-ares glue: the only file that includes ares.h.
//
// c-ares tells us through its socket-state callback which of its sockets want
// reading or writing; we keep a loop I/O watcher per socket and one timer for
// ares_timeout(), and call ares_process_fd when either fires. c-ares gets the
// runtime's raw system calls (sys.hpp) for its sockets, so its I/O never enters
// the LD_PRELOAD shim. Callbacks run in the hub and only wake the asker.
#include "detail/dns_channel.hpp"

#include <ares.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstring>
#include <mutex>
#include <stdexcept>

#include "detail/hub.hpp"
#include "detail/loop.hpp"
#include "detail/sys.hpp"

namespace green::detail {
namespace {

std::mutex settings_mutex;
DnsSettings settings;
unsigned settings_generation = 1;

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

// c-ares' sockets use the runtime's raw system calls.
ares_socket_t on_socket(int domain, int type, int protocol, void*) {
    return sys::socket(domain, type | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
}
int on_close(ares_socket_t fd, void*) { return sys::close(fd); }
int on_connect(ares_socket_t fd, const sockaddr* addr, ares_socklen_t len, void*) { return sys::connect(fd, addr, len); }
ares_ssize_t on_recvfrom(ares_socket_t fd, void* buf, size_t len, int flags, sockaddr* from, ares_socklen_t* fromlen,
                         void*) {
    return sys::recvfrom(fd, buf, len, flags, from, fromlen);
}
ares_ssize_t on_sendv(ares_socket_t fd, const iovec* iov, int n, void*) { return sys::writev(fd, iov, n); }
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
    // One c-ares socket and its watchers.
    struct Socket {
        Impl* owner;
        int fd;
        WatcherSlot read, write;
    };
    // One question; freed by the callback if the asker was killed meanwhile.
    struct Query {
        Query(Impl* o, GreenletCore* a) : owner(o), asker(a) {}
        Impl* owner;
        GreenletCore* asker;
        bool done = false;
        bool abandoned = false;
        DnsAnswer answer;
    };

    explicit Impl(Loop& l) : loop(l) {}

    ~Impl() { close_channel(); }

    void close_channel() {
        if (!channel) return;
        closing = true;  // callbacks fired by ares_destroy must not wake anyone
        ares_destroy(channel);
        channel = nullptr;
        closing = false;
        if (timer_active(timer)) timer_stop(loop, timer);
        for (auto& s : sockets) stop(*s);
        sockets.clear();
    }

    void open_channel() {
        static std::once_flag library;
        std::call_once(library, [] { ares_library_init(ARES_LIB_INIT_ALL); });
        unsigned generation;
        DnsSettings s;
        {
            std::lock_guard<std::mutex> lock(settings_mutex);
            s = settings;
            generation = settings_generation;
        }
        ares_options opts{};
        int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS;
        opts.sock_state_cb = on_socket_state;
        opts.sock_state_cb_data = this;
        opts.lookups = const_cast<char*>("b");  // DNS only: green reads the hosts file itself
        if (s.timeout_ms > 0) {
            opts.timeout = s.timeout_ms;
            mask |= ARES_OPT_TIMEOUTMS;
        }
        if (s.tries > 0) {
            opts.tries = s.tries;
            mask |= ARES_OPT_TRIES;
        }
        const int rc = ares_init_options(&channel, &opts, mask);
        if (rc != ARES_SUCCESS) {
            channel = nullptr;
            throw std::runtime_error(std::string("green::dns: c-ares initialisation failed: ") + ares_strerror(rc));
        }
        ares_set_socket_functions(channel, &raw_socket_functions, nullptr);
        if (!s.servers.empty()) ares_set_servers_ports_csv(channel, s.servers.c_str());
        built_for = generation;
    }

    // A channel built with the current settings (rebuilt when they changed and
    // nothing is in flight).
    void ready_channel() {
        unsigned generation;
        {
            std::lock_guard<std::mutex> lock(settings_mutex);
            generation = settings_generation;
        }
        if (channel && generation != built_for && in_flight == 0) close_channel();
        if (!channel) open_channel();
    }

    static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
        auto& self = *static_cast<Impl*>(data);
        Socket* s = nullptr;
        for (auto& k : self.sockets)
            if (k->fd == fd) s = k.get();
        if (!s) {
            if (!readable && !writable) return;
            self.sockets.push_back(std::make_unique<Socket>(Socket{&self, fd, {}, {}}));
            s = self.sockets.back().get();
        }
        self.watch(*s, s->read, readable, false);
        self.watch(*s, s->write, writable, true);
        if (!readable && !writable) {
            for (auto it = self.sockets.begin(); it != self.sockets.end(); ++it)
                if (it->get() == s) {
                    self.sockets.erase(it);
                    break;
                }
        }
    }

    void watch(Socket& s, WatcherSlot& w, bool want, bool for_write) {
        if (want && !io_active(w))
            io_start(loop, w, s.fd, for_write, for_write ? on_writable : on_readable, &s);
        else if (!want && io_active(w))
            io_stop(loop, w);
    }

    void stop(Socket& s) {
        if (io_active(s.read)) io_stop(loop, s.read);
        if (io_active(s.write)) io_stop(loop, s.write);
    }

    static void on_readable(void* arg) {
        auto* s = static_cast<Socket*>(arg);
        Impl* self = s->owner;
        ares_process_fd(self->channel, s->fd, ARES_SOCKET_BAD);  // may erase s
        self->update_timer();
    }
    static void on_writable(void* arg) {
        auto* s = static_cast<Socket*>(arg);
        Impl* self = s->owner;
        ares_process_fd(self->channel, ARES_SOCKET_BAD, s->fd);
        self->update_timer();
    }
    static void on_timer(void* arg) {
        auto* self = static_cast<Impl*>(arg);
        ares_process_fd(self->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        self->update_timer();
    }

    void update_timer() {
        if (!channel) return;
        if (timer_active(timer)) timer_stop(loop, timer);
        timeval tv{};
        if (ares_timeout(channel, nullptr, &tv)) timer_start(loop, timer, double(tv.tv_sec) + tv.tv_usec / 1e6, on_timer, this);
    }

    // Called by a c-ares callback: hands the answer over or, for an abandoned
    // query, frees it.
    void finish(Query* q) {
        --in_flight;
        if (q->abandoned) {
            delete q;
            return;
        }
        q->done = true;
        if (!closing) q->asker->hub->wake(*q->asker, WakeReason::woken);
    }

    DnsAnswer wait(Query* q, const char* what) {
        struct Guard {
            Query* q;
            ~Guard() {
                if (q->done)
                    delete q;
                else
                    q->abandoned = true;  // the callback frees it
            }
        } guard{q};
        update_timer();
        while (!q->done) Hub::current().park(nullptr, kForever, what, q);
        return std::move(q->answer);
    }

    static void on_addrinfo(void* arg, int status, int, ares_addrinfo* res) {
        auto* q = static_cast<Query*>(arg);
        q->answer.status = to_eai(status);
        if (status == ARES_SUCCESS && res && !q->abandoned) {
            for (auto* n = res->nodes; n; n = n->ai_next)
                q->answer.addresses.emplace_back(n->ai_addr, static_cast<socklen_t>(n->ai_addrlen));
            for (auto* c = res->cnames; c; c = c->next)
                if (c->name) q->answer.canonical = c->name;
            if (q->answer.canonical.empty() && res->name) q->answer.canonical = res->name;
        }
        if (res) ares_freeaddrinfo(res);
        q->owner->finish(q);
    }

    static void on_host(void* arg, int status, int, hostent* h) {
        auto* q = static_cast<Query*>(arg);
        q->answer.status = to_eai(status);
        if (status == ARES_SUCCESS && h && h->h_name && !q->abandoned) q->answer.canonical = h->h_name;
        q->owner->finish(q);
    }

    Loop& loop;
    ares_channel channel = nullptr;
    std::vector<std::unique_ptr<Socket>> sockets;
    WatcherSlot timer;
    unsigned built_for = 0;
    int in_flight = 0;
    bool closing = false;
};

DnsChannel::DnsChannel(Loop& loop) : impl_(std::make_unique<Impl>(loop)) {}

DnsChannel::~DnsChannel() = default;

DnsAnswer DnsChannel::lookup(const std::string& name, int family) {
    impl_->ready_channel();
    auto* q = new Impl::Query(impl_.get(), &current());
    ares_addrinfo_hints hints{};
    hints.ai_family = family;
    hints.ai_flags = ARES_AI_CANONNAME;
    ++impl_->in_flight;
    ares_getaddrinfo(impl_->channel, name.c_str(), nullptr, &hints, Impl::on_addrinfo, q);
    return impl_->wait(q, "dns::getaddrinfo");
}

DnsAnswer DnsChannel::reverse(const Address& address) {
    impl_->ready_channel();
    auto* q = new Impl::Query(impl_.get(), &current());
    const void* raw = nullptr;
    int len = 0;
    if (address.family() == AF_INET) {
        raw = &reinterpret_cast<const sockaddr_in*>(address.data())->sin_addr;
        len = sizeof(in_addr);
    } else if (address.family() == AF_INET6) {
        raw = &reinterpret_cast<const sockaddr_in6*>(address.data())->sin6_addr;
        len = sizeof(in6_addr);
    } else {
        delete q;
        DnsAnswer a;
        a.status = EAI_FAMILY;
        return a;
    }
    ++impl_->in_flight;
    ares_gethostbyaddr(impl_->channel, raw, len, address.family(), Impl::on_host, q);
    return impl_->wait(q, "dns::getnameinfo");
}

}  // namespace green::detail
