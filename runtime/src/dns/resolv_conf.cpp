#include "dns/resolv_conf.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/runtime_fds.hpp"

namespace green::detail {
namespace {

// glibc's RES_MAXNDOTS, RES_MAXRETRANS, RES_MAXRETRY.
constexpr int kMaxNdots = 15;
constexpr int kMaxTimeout = 30;
constexpr int kMaxAttempts = 5;

std::vector<std::string> words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

// `keyword` followed by a blank, as glibc's MATCH: the rest of the line.
bool keyword(const std::string& line, const char* keyword, std::string& rest) {
    const std::size_t n = std::strlen(keyword);
    if (line.compare(0, n, keyword) != 0 || line.size() <= n || (line[n] != ' ' && line[n] != '\t')) return false;
    rest = line.substr(n);
    return true;
}

int value(const std::string& option, std::size_t prefix, int max) {
    return std::clamp(std::atoi(option.c_str() + prefix), 0, max);
}

// glibc's res_setoptions: unknown options are ignored.
void set_options(ResolvConf& c, const std::string& text) {
    for (const std::string& o : words(text)) {
        if (o.starts_with("ndots:"))
            c.ndots = value(o, 6, kMaxNdots);
        else if (o.starts_with("timeout:"))
            c.timeout_s = value(o, 8, kMaxTimeout);
        else if (o.starts_with("attempts:"))
            c.attempts = value(o, 9, kMaxAttempts);
        else if (o == "rotate")
            c.rotate = true;
    }
}

}  // namespace

FileIdentity FileIdentity::of(const char* path) noexcept {
    FileIdentity id;
    struct stat st {};
    if (::stat(path, &st) != 0) return id;
    id.exists = true;
    id.device = st.st_dev;
    id.inode = st.st_ino;
    id.size = st.st_size;
    id.modified = st.st_mtim;
    return id;
}

bool FileIdentity::operator==(const FileIdentity& o) const noexcept {
    return exists == o.exists && device == o.device && inode == o.inode && size == o.size &&
           modified.tv_sec == o.modified.tv_sec && modified.tv_nsec == o.modified.tv_nsec;
}

bool ResolvConf::searches() const {
    if (search_given) return !search.empty();
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) return false;
    const char* dot = std::strchr(host, '.');
    return dot && dot[1] != '\0';
}

ResolvConf read_resolv_conf(const char* path) {
    const TransientFds opening;
    ResolvConf c;
    const char* local_domain = std::getenv("LOCALDOMAIN");
    if (local_domain) {
        c.search_given = true;
        c.search = words(local_domain);
    }
    std::ifstream file(path);
    for (std::string line; std::getline(file, line);) {
        if (line.empty() || line[0] == ';' || line[0] == '#') continue;
        std::string rest;
        if (keyword(line, "domain", rest) || keyword(line, "search", rest)) {
            if (local_domain) continue;
            std::vector<std::string> list = words(rest);
            if (list.empty()) continue;
            if (line[0] == 'd') list.resize(1);
            c.search_given = true;
            c.search = std::move(list);
        } else if (keyword(line, "options", rest)) {
            set_options(c, rest);
        }
    }
    if (const char* v = std::getenv("RES_OPTIONS")) set_options(c, v);
    return c;
}

}  // namespace green::detail
