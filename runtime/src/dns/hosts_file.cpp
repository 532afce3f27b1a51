#include "dns/hosts_file.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>

#include "base/env.hpp"
#include "core/runtime_fds.hpp"

namespace green::detail {
namespace {

// One line of the file as glibc's files backend sees it.
struct Line {
    std::size_t length = 0;          // bytes as read, newline included
    bool has_address = false;        // false: blank, comment, or no parsable address
    Address address;
    std::vector<std::string> names;  // official name first; may be empty
};

struct HostsFile {
    std::vector<Line> lines;
};

// The parsed file, shared by all threads, re-read when its mtime or size changes.
struct Cache {
    std::mutex mutex;
    std::string path;
    timespec mtime{};
    off_t size = -1;
    std::shared_ptr<const HostsFile> file = std::make_shared<HostsFile>();
};

Cache& cache() {
    static Cache c;
    return c;
}

// A line's address: strict IPv4 (inet_pton), otherwise IPv6; unparsable lines are skipped.
bool parse_address(const std::string& text, Address& out) {
    unsigned char bytes[sizeof(in6_addr)];
    for (const int family : {AF_INET, AF_INET6}) {
        if (inet_pton(family, text.c_str(), bytes) == 1) {
            out = Address::from_bytes(family, bytes);
            return true;
        }
    }
    return false;
}

// glibc reads the file a line at a time into a C string: a NUL byte ends the
// line's text there (the bytes after it up to the newline are never seen).
HostsFile parse(std::string_view content) {
    HostsFile file;
    while (!content.empty()) {
        const std::size_t newline = content.find('\n');
        const std::size_t length = newline == std::string_view::npos ? content.size() : newline + 1;
        std::string text(content.substr(0, length - (newline == std::string_view::npos ? 0 : 1)));
        content.remove_prefix(length);
        Line line;
        line.length = length;
        if (auto nul = text.find('\0'); nul != std::string::npos) text.resize(nul);
        if (auto hash = text.find('#'); hash != std::string::npos) text.resize(hash);
        std::istringstream words(text);
        std::string addr;
        line.has_address = (words >> addr) && parse_address(addr, line.address);
        if (line.has_address)
            for (std::string name; words >> name;) line.names.push_back(name);
        file.lines.push_back(std::move(line));
    }
    return file;
}

// Past this many bytes the file is not read: what a real hosts file never
// reaches, and what keeps a runaway one from costing gigabytes.
constexpr std::size_t kMaxHostsBytes = 16 << 20;

void warn_once(const std::string& path, const char* why) {
    static std::string warned;  // under the cache's mutex
    if (warned == path) return;
    warned = path;
    std::fprintf(stderr, "green: hosts file %s %s\n", path.c_str(), why);
}

// The file's bytes, if it is a regular file: a FIFO or a device (/dev/zero)
// could block the thread forever or never end. Opened non-blocking and checked
// on the open descriptor, so a file swapped for a FIFO meanwhile is refused too.
// Only whole lines of the first kMaxHostsBytes are kept.
bool read_regular(const std::string& path, std::string& out) {
    const TransientFds opening;
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st {};
    bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    if (!ok) warn_once(path, "is not a regular file: ignored");
    while (ok && out.size() < kMaxHostsBytes + 1) {
        const std::size_t at = out.size();
        out.resize(std::min<std::size_t>(at + 65536, kMaxHostsBytes + 1));
        const ssize_t n = ::read(fd, out.data() + at, out.size() - at);
        if (n < 0 && errno == EINTR) {
            out.resize(at);
            continue;
        }
        out.resize(at + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
        if (n <= 0) {
            ok = n == 0;
            break;
        }
    }
    ::close(fd);
    if (ok && out.size() > kMaxHostsBytes) {
        warn_once(path, "is larger than 16 MiB: only its first 16 MiB are read");
        out.resize(out.rfind('\n', kMaxHostsBytes - 1) + 1);  // npos + 1 == 0: no whole line
    }
    return ok;
}

std::shared_ptr<const HostsFile> current_file() {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    const std::string path = hosts_file_path();
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        c.file = std::make_shared<HostsFile>();
        c.size = -1;
        return c.file;
    }
    if (path != c.path || st.st_size != c.size || st.st_mtim.tv_sec != c.mtime.tv_sec ||
        st.st_mtim.tv_nsec != c.mtime.tv_nsec) {
        std::string content;
        c.file = std::make_shared<HostsFile>(read_regular(path, content) ? parse(content) : HostsFile{});
        c.path = path;
        c.size = st.st_size;
        c.mtime = st.st_mtim;
    }
    return c.file;
}

// "multi on|off" from /etc/host.conf (off when absent), RESOLV_MULTI overriding.
bool multi() {
    if (const char* v = env("RESOLV_MULTI")) return ::strcasecmp(v, "on") == 0;
    static const bool from_file = [] {
        const TransientFds opening;
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

// Whether `line` names `name`, officially or as an alias.
bool names(const Line& line, std::string_view name) {
    for (const auto& n : line.names)
        if (same_name(n, name)) return true;
    return false;
}

// The entry's address as `family` sees it, or false when that family skips it.
bool as_family(const Address& a, int family, Address& out) {
    if (family == AF_UNSPEC || a.family() == family) {
        out = a;
        return true;
    }
    if (family == AF_INET6) return false;  // IPv4 lines are never mapped here
    const in6_addr& in6 = reinterpret_cast<const sockaddr_in6*>(a.data())->sin6_addr;
    static const in_addr loopback{htonl(INADDR_LOOPBACK)};
    if (IN6_IS_ADDR_V4MAPPED(&in6))
        out = Address::from_bytes(AF_INET, &in6.s6_addr[12]);
    else if (IN6_IS_ADDR_LOOPBACK(&in6))
        out = Address::from_bytes(AF_INET, &loopback);
    else
        return false;
    return true;
}

}  // namespace

std::string hosts_file_path() {
    const char* p = env("GREEN_HOSTS_FILE");
    return p ? p : "/etc/hosts";
}

namespace {

HostsMatch lookup(const HostsFile& file, std::string_view name, int family) {
    HostsMatch m;
    const bool all = multi();
    for (const Line& line : file.lines) {
        Address a;
        if (!names(line, name) || !as_family(line.address, family, a)) continue;
        if (m.addresses.empty()) {
            m.canonical = line.names.front();
            m.aliases.assign(line.names.begin() + 1, line.names.end());
        } else {  // glibc: the line's aliases, then its official name if spelled otherwise
            m.aliases.insert(m.aliases.end(), line.names.begin() + 1, line.names.end());
            if (line.names.front() != m.canonical) m.aliases.push_back(line.names.front());
        }
        m.addresses.push_back(a);
        if (!all) break;
    }
    return m;
}

}  // namespace

HostsMatch hosts_lookup(std::string_view name, int family) { return lookup(*current_file(), name, family); }

HostsMatch hosts_lookup_in(std::string_view content, std::string_view name, int family) {
    return lookup(parse(content), name, family);
}

namespace {

HostsMatch reverse(const HostsFile& file, const Address& address) {
    for (const Line& line : file.lines) {
        Address a;
        if (line.names.empty() || !as_family(line.address, address.family(), a) || a.host() != address.host()) continue;
        return {line.names.front(), {line.names.begin() + 1, line.names.end()}, {a}};
    }
    return {};
}

}  // namespace

HostsMatch hosts_reverse(const Address& address) { return reverse(*current_file(), address); }

HostsMatch hosts_reverse_in(std::string_view content, const Address& address) {
    return reverse(parse(content), address);
}

namespace {

constexpr std::size_t kPointer = sizeof(char*);

std::size_t align_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

// With "multi on", glibc goes on reading the file after the first match
// (`first`) and builds the answer in the caller's buffer from `used` on, where the
// first line's alias pointers were: each further line's address and strings,
// then the address and alias pointer arrays. Whether that runs out of room.
bool multi_answer_runs_out(const HostsFile& file, const Line& first, std::string_view name, int family,
                           std::size_t used, std::size_t room) {
    std::size_t addresses = 1;
    std::size_t aliases = first.names.size() - 1;
    for (const Line* line = &first + 1; line != file.lines.data() + file.lines.size(); ++line) {
        Address a;
        if (!names(*line, name) || !as_family(line->address, family, a)) continue;
        used = align_up(used, 4) + (family == AF_INET6 ? sizeof(in6_addr) : sizeof(in_addr));
        if (used > room) return true;
        ++addresses;
        for (std::size_t i = 1; i < line->names.size(); ++i, ++aliases) used += line->names[i].size() + 1;
        if (line->names.front() != first.names.front()) {
            used += line->names.front().size() + 1;
            ++aliases;
        }
        if (used > room) return true;
    }
    used = align_up(used, kPointer) + (addresses + 1) * kPointer + (aliases + 1) * kPointer;
    return used > room;
}

}  // namespace

bool hosts_scan_runs_out(std::string_view name, const Address* address, int family, const void* buffer,
                         std::size_t buflen) {
    // The buffer holds a struct hostent_data (16 address bytes, two pointers),
    // then the line as fgets reads it, then the line's alias pointers.
    constexpr std::size_t kHeader = 32;
    const std::size_t pad = (kPointer - reinterpret_cast<std::uintptr_t>(buffer) % kPointer) % kPointer;
    const std::size_t room = buflen > pad ? buflen - pad : 0;
    if (room < kHeader + 3) return true;  // no room for a one-character line
    const auto file = current_file();
    for (const Line& line : file->lines) {
        if (line.length + 2 > room - kHeader) return true;  // fgets could not take the whole line
        Address a;
        if (!line.has_address || (family != AF_INET && family != AF_INET6) || !as_family(line.address, family, a))
            continue;
        const std::size_t list_at = align_up(kHeader + line.length + 1, kPointer);
        const std::size_t aliases = line.names.empty() ? 0 : line.names.size() - 1;
        if (list_at + (aliases + 2) * kPointer > room) return true;
        if (address) {
            if (a.host() == address->host()) return false;
        } else if (names(line, name)) {
            return multi() && multi_answer_runs_out(*file, line, name, family, list_at, room);
        }
    }
    return false;
}

}  // namespace green::detail
