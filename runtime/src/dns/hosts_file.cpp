#include "detail/hosts_file.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <strings.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>

namespace green::detail {
namespace {

struct Entry {
    Address address;
    std::vector<std::string> names;  // official name first
};

// The parsed file, shared by all threads, re-read when its mtime or size changes.
struct Cache {
    std::mutex mutex;
    std::string path;
    timespec mtime{};
    off_t size = -1;
    std::shared_ptr<const std::vector<Entry>> entries = std::make_shared<std::vector<Entry>>();
};

Cache& cache() {
    static Cache c;
    return c;
}

// A line's address: strict IPv4 (inet_pton), otherwise IPv6; unparsable lines are skipped.
bool parse_address(const std::string& text, Address& out) {
    sockaddr_in in{};
    if (inet_pton(AF_INET, text.c_str(), &in.sin_addr) == 1) {
        in.sin_family = AF_INET;
        out = Address(reinterpret_cast<sockaddr*>(&in), sizeof in);
        return true;
    }
    sockaddr_in6 in6{};
    if (inet_pton(AF_INET6, text.c_str(), &in6.sin6_addr) == 1) {
        in6.sin6_family = AF_INET6;
        out = Address(reinterpret_cast<sockaddr*>(&in6), sizeof in6);
        return true;
    }
    return false;
}

std::vector<Entry> parse(std::istream& in) {
    std::vector<Entry> entries;
    std::string line;
    while (std::getline(in, line)) {
        if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
        std::istringstream words(line);
        std::string addr;
        Entry e;
        if (!(words >> addr) || !parse_address(addr, e.address)) continue;
        for (std::string name; words >> name;) e.names.push_back(name);
        if (!e.names.empty()) entries.push_back(std::move(e));
    }
    return entries;
}

std::shared_ptr<const std::vector<Entry>> current_entries() {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    const std::string path = hosts_file_path();
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        c.entries = std::make_shared<std::vector<Entry>>();
        c.size = -1;
        return c.entries;
    }
    if (path != c.path || st.st_size != c.size || st.st_mtim.tv_sec != c.mtime.tv_sec ||
        st.st_mtim.tv_nsec != c.mtime.tv_nsec) {
        std::ifstream in(path);
        c.entries = std::make_shared<std::vector<Entry>>(parse(in));
        c.path = path;
        c.size = st.st_size;
        c.mtime = st.st_mtim;
    }
    return c.entries;
}

// "multi on|off" from /etc/host.conf (off when absent), RESOLV_MULTI overriding.
bool multi() {
    if (const char* v = std::getenv("RESOLV_MULTI")) return ::strcasecmp(v, "on") == 0;
    static const bool from_file = [] {
        std::ifstream in("/etc/host.conf");
        std::string key, value;
        bool on = false;
        for (std::string line; std::getline(in, line);) {
            std::istringstream words(line);
            if (words >> key >> value && ::strcasecmp(key.c_str(), "multi") == 0) on = ::strcasecmp(value.c_str(), "on") == 0;
        }
        return on;
    }();
    return from_file;
}

bool same_name(std::string_view a, std::string_view b) {
    return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// The entry's address as `family` sees it, or false when that family skips it.
bool as_family(const Address& a, int family, Address& out) {
    if (family == AF_UNSPEC || a.family() == family) {
        out = a;
        return true;
    }
    if (family == AF_INET6) return false;  // IPv4 lines are never mapped here
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a.data());
    sockaddr_in in{};
    in.sin_family = AF_INET;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
        std::memcpy(&in.sin_addr, &in6->sin6_addr.s6_addr[12], 4);
    else if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
        in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else
        return false;
    out = Address(reinterpret_cast<sockaddr*>(&in), sizeof in);
    return true;
}

}  // namespace

std::string hosts_file_path() {
    const char* p = std::getenv("GREEN_HOSTS_FILE");
    return p && *p ? p : "/etc/hosts";
}

HostsMatch hosts_lookup(std::string_view name, int family) {
    HostsMatch m;
    const bool all = multi();
    const auto entries = current_entries();
    for (const Entry& e : *entries) {
        bool hit = false;
        for (const auto& n : e.names) hit = hit || same_name(n, name);
        Address a;
        if (!hit || !as_family(e.address, family, a)) continue;
        if (m.addresses.empty()) {
            m.canonical = e.names.front();
            m.aliases.assign(e.names.begin() + 1, e.names.end());
        } else {
            if (!same_name(e.names.front(), m.canonical)) m.aliases.push_back(e.names.front());
            m.aliases.insert(m.aliases.end(), e.names.begin() + 1, e.names.end());
        }
        m.addresses.push_back(a);
        if (!all) break;
    }
    return m;
}

std::string hosts_reverse(const Address& address) {
    const auto entries = current_entries();
    for (const Entry& e : *entries)
        if (e.address.family() == address.family() && e.address.host() == address.host()) return e.names.front();
    return "";
}

}  // namespace green::detail
