#include "detail/runtime_fds.hpp"

#include <algorithm>
#include <mutex>

namespace green::detail {
namespace {

std::mutex registry_mutex;
std::vector<int>& registry() {  // sorted
    static std::vector<int> fds;
    return fds;
}

thread_local int scope_depth = 0;

}  // namespace

void mark_runtime_fd(int fd) noexcept {
    if (fd < 0) return;
    std::lock_guard<std::mutex> lock(registry_mutex);
    auto& fds = registry();
    auto it = std::lower_bound(fds.begin(), fds.end(), fd);
    if (it == fds.end() || *it != fd) {
        try {
            fds.insert(it, fd);
        } catch (...) {  // out of memory: the fd is merely left unprotected
        }
    }
}

void unmark_runtime_fd(int fd) noexcept {
    std::lock_guard<std::mutex> lock(registry_mutex);
    auto& fds = registry();
    auto it = std::lower_bound(fds.begin(), fds.end(), fd);
    if (it != fds.end() && *it == fd) fds.erase(it);
}

bool is_runtime_fd(int fd) noexcept {
    std::lock_guard<std::mutex> lock(registry_mutex);
    auto& fds = registry();
    return std::binary_search(fds.begin(), fds.end(), fd);
}

std::vector<int> runtime_fds_between(unsigned first, unsigned last) {
    std::lock_guard<std::mutex> lock(registry_mutex);
    std::vector<int> out;
    for (int fd : registry())
        if (static_cast<unsigned>(fd) >= first && static_cast<unsigned>(fd) <= last) out.push_back(fd);
    return out;
}

RuntimeFdScope::RuntimeFdScope() noexcept { ++scope_depth; }
RuntimeFdScope::~RuntimeFdScope() { --scope_depth; }
bool RuntimeFdScope::active() noexcept { return scope_depth > 0; }

}  // namespace green::detail
