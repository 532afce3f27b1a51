#include "detail/hosts_file.hpp"

#include <sys/stat.h>
#include <sys/socket.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <strings.h>

namespace green::detail {
namespace {

struct Entry {
    Address address;
    std::vector<std::string> names;  // canonical first
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

std::vector<Entry> parse(std::istream& in) {
    std::vector<Entry> entries;
    std::string line;
    while (std::getline(in, line)) {
        if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
        std::istringstream words(line);
        std::string addr;
        if (!(words >> addr)) continue;
        Entry e;
        try {
            e.address = Address::ip(addr, 0);
        } catch (const std::invalid_argument&) {
            continue;  // glibc skips lines whose address does not parse
        }
        for (std::string name; words >> name;) e.names.push_back(name);
        if (!e.names.empty()) entries.push_back(std::move(e));
    }
    return entries;
}

// A snapshot of the entries, re-reading the file if it changed.
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

bool same_name(std::string_view a, std::string_view b) {
    return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::string hosts_file_path() {
    const char* p = std::getenv("GREEN_HOSTS_FILE");
    return p && *p ? p : "/etc/hosts";
}

HostsMatch hosts_lookup(std::string_view name, int family) {
    HostsMatch m;
    const auto entries = current_entries();
    for (const Entry& e : *entries) {
        if (family != AF_UNSPEC && e.address.family() != family) continue;
        bool hit = false;
        for (const auto& n : e.names) hit = hit || same_name(n, name);
        if (!hit) continue;
        if (m.addresses.empty()) m.canonical = e.names.front();
        for (const auto& n : e.names)
            if (n != m.canonical) m.aliases.push_back(n);
        m.addresses.push_back(e.address);
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
