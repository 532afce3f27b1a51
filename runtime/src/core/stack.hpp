// Greenlet stacks: mmap'd, pooled per hub, with a PROT_NONE guard page below each
// while the process-wide guard budget lasts.
//
// Why a budget: every guarded stack costs two kernel mappings (the guard and the
// stack), and vm.max_map_count is 65530 by default, so at most ~32k guarded stacks
// can exist. Up to a quarter of max_map_count goes to guarded stacks (16k by
// default, GREEN_GUARDED_STACKS overrides); beyond that stacks are carved from
// unguarded slabs, 64 stacks per mapping, which is how a million parked greenlets
// fit. An unguarded stack's overflow is caught only when its greenlet switches out
// with its stack pointer past the end; raise vm.max_map_count to guard them all.
//
//   guarded:    | guard (1 page, PROT_NONE) | stack_lo ... usable ... top |
//   slab:       | stack 0 | stack 1 | ... | stack 63 |     (one mapping)
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace green::detail {

enum StackKind : std::uint8_t {
    stack_thread = 0,     // a thread's own stack; not ours to free
    stack_guarded = 1,    // own mapping with a guard page below stack_lo
    stack_unguarded = 2,  // carved from a slab
};

struct Stack {
    void* lo = nullptr;
    std::size_t size = 0;
    StackKind kind = stack_thread;
    std::size_t guard = 0;  // the guard asked for: PROT_NONE bytes below lo when stack_guarded
};

std::size_t page_size() noexcept;

// The stack size used when a spawn does not name one: GREEN_STACK_SIZE, else 128 KiB
// (four times that under AddressSanitizer, whose frames are larger).
std::size_t default_stack_size() noexcept;

// Rounds a requested size up to whole pages; throws std::invalid_argument for a
// size below 16 KiB or above 1 GiB.
std::size_t checked_stack_size(std::size_t requested);

class StackPool {
public:
    StackPool() = default;
    ~StackPool();
    StackPool(const StackPool&) = delete;
    StackPool& operator=(const StackPool&) = delete;

    // A stack of exactly `size` bytes (a page multiple) with `guard` bytes of
    // guard below it (a page multiple; 0: none) while the guard budget lasts.
    // Throws std::system_error when the kernel refuses memory.
    Stack allocate(std::size_t size) { return allocate(size, page_size()); }
    Stack allocate(std::size_t size, std::size_t guard);
    // Never allocates (a greenlet's end cannot fail for want of memory): the
    // hot list has room for kHotStacks from its size class's start, and
    // allocate() makes room in the cold list for every unguarded stack it carves.
    void release(const Stack& s) noexcept;

    // Number of stacks kept ready for reuse per size before memory is returned.
    static constexpr std::size_t kHotStacks = 1024;

private:
    struct SizeClass {
        std::size_t size;
        std::size_t guard;
        std::vector<Stack> hot;         // released, memory still resident
        std::vector<Stack> cold;        // unguarded, memory returned (MADV_DONTNEED)
        std::vector<void*> slabs;       // slab mappings, unmapped with the pool
        char* slab_cursor = nullptr;    // next unused stack in the newest slab
        char* slab_end = nullptr;
        std::size_t carved = 0;         // unguarded stacks made: room for this many in cold
    };
    SizeClass& size_class(std::size_t size, std::size_t guard);

    std::vector<SizeClass> classes_;
};

}  // namespace green::detail
