// The iterator of a range whose items are pulled one at a time (Iwait, Queue,
// Imap): Source::pull() returns the next item, or nullopt at the end.
#pragma once

#include <cstddef>
#include <iterator>
#include <optional>

namespace green::detail {

template <class T, class Source>
class PullIterator {
public:
    using value_type = T;
    using difference_type = std::ptrdiff_t;

    PullIterator() = default;
    explicit PullIterator(Source* source) : source_(source), current_(source->pull()) {}

    T& operator*() { return *current_; }
    T* operator->() { return &*current_; }
    PullIterator& operator++() {
        current_ = source_->pull();
        return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const PullIterator& it, std::default_sentinel_t) { return !it.current_; }

private:
    Source* source_ = nullptr;
    std::optional<T> current_;
};

}  // namespace green::detail
