#include "retry_wait.hpp"

#include <atomic>
#include <cstdint>

namespace shim::retry {
namespace {

namespace api = green::detail::shim_api;

std::atomic<int> waiting{0};
// Counts changed() calls; the waiters park on its address.
std::atomic<std::uint32_t> change_count{0};

bool unchanged(void* seen) noexcept {
    return change_count.load(std::memory_order_acquire) == *static_cast<std::uint32_t*>(seen);
}

}  // namespace

void changed() noexcept {
    if (waiting.load(std::memory_order_seq_cst) == 0) return;
    change_count.fetch_add(1, std::memory_order_acq_rel);
    api::unpark(&change_count, SIZE_MAX, 0, true);  // true: a close may come from a signal handler
}

namespace detail {

void enter() noexcept { waiting.fetch_add(1, std::memory_order_seq_cst); }
void leave() noexcept { waiting.fetch_sub(1, std::memory_order_relaxed); }
std::uint32_t changes() noexcept { return change_count.load(std::memory_order_acquire); }

void park(std::uint32_t seen, double pause, Deadline deadline, const char* what) {
    api::park(&change_count, unchanged, nullptr, &seen, earliest(deadline, Deadline::after(pause)), what, true, true);
}

}  // namespace detail
}  // namespace shim::retry
