// What glibc 2.36 takes from /etc/resolv.conf besides the servers (which c-ares
// reads itself): `options timeout:N attempts:N ndots:N rotate`, `search` and
// `domain` (the last of the two wins), then RES_OPTIONS (options) and
// LOCALDOMAIN (the search list) from the environment, with glibc's limits.
// c-ares 1.18 reads only BIND's `retrans:`/`retry:`, so these are handed to it
// as options, and the channel retries as glibc does (ares_glue.cpp).
//
// A file's identity (device, inode, size, modification time) tells, with one
// stat per lookup as glibc does, that it changed and must be read again.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <string>
#include <vector>

namespace green::detail {

inline constexpr const char* kResolvConfPath = "/etc/resolv.conf";

struct FileIdentity {
    bool exists = false;
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    timespec modified{};

    static FileIdentity of(const char* path) noexcept;
    bool operator==(const FileIdentity& o) const noexcept;
};

struct ResolvConf {
    int timeout_s = 5;  // per try and server (RES_TIMEOUT)
    int attempts = 2;   // rounds over the servers (RES_DFLRETRY)
    int ndots = 1;
    bool rotate = false;
    // The search list, when the file or LOCALDOMAIN gives one; otherwise glibc
    // (and c-ares) take the domain of the host name.
    bool search_given = false;
    std::vector<std::string> search;

    // Whether names are looked up through a search list at all (given, or the
    // host name has a domain).
    bool searches() const;
};

// Reads `path` (missing or unreadable: the defaults) and then the environment.
ResolvConf read_resolv_conf(const char* path = kResolvConfPath);

}  // namespace green::detail
