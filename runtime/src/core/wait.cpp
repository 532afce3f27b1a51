#include "green/wait.hpp"

#include <stdexcept>

#include "core/hub.hpp"

namespace green {

// A subscription to one greenlet's end.
struct Iwait::Node : detail::Waiter {
    Iwait* owner = nullptr;
    std::size_t index = 0;
};

Iwait::Iwait(std::vector<AnyGreenlet> greenlets, double timeout)
    : greenlets_(std::move(greenlets)),
      nodes_(new Node[greenlets_.size()]),
      deadline_(detail::Deadline::after(timeout)) {
    done_.reserve(greenlets_.size());  // on_done must not allocate
    for (std::size_t i = 0; i < greenlets_.size(); ++i) {
        detail::GreenletCore& g = greenlets_[i].core();
        if (g.state == detail::State::dead) {
            done_.push_back(i);
            continue;
        }
        Node& n = nodes_[i];
        n.owner = this;
        n.index = i;
        n.notify = on_done;
        g.exit_waiters.push_back(n);
    }
}

Iwait::~Iwait() = default;  // each Node unlinks itself

void Iwait::on_done(detail::Waiter& w, detail::WakeReason) noexcept {
    auto& n = static_cast<Node&>(w);
    Iwait& self = *n.owner;
    self.done_.push_back(n.index);
    if (self.waiting_) self.waiting_->hub->wake(*self.waiting_, detail::WakeReason::woken);
}

AnyGreenlet Iwait::next() {
    while (next_done_ == done_.size()) {
        if (done_.size() == greenlets_.size()) return {};
        const double left = deadline_.remaining();
        if (left == 0) return {};
        waiting_ = &detail::current();
        try {
            detail::park(left, "iwait", this);
        } catch (...) {
            waiting_ = nullptr;
            throw;
        }
        waiting_ = nullptr;
    }
    return greenlets_[done_[next_done_++]];
}

namespace detail {

bool join_all(const std::vector<AnyGreenlet>& gs, double timeout, bool raise_error) {
    if (!raise_error) {
        const Deadline deadline = Deadline::after(timeout);
        for (const AnyGreenlet& g : gs)
            if (!join(g.core(), deadline.remaining())) return false;
        return true;
    }
    Iwait it(gs, timeout);
    std::size_t finished = 0;
    while (AnyGreenlet g = it.next()) {
        ++finished;
        if (std::exception_ptr e = g.exception()) std::rethrow_exception(e);
    }
    return finished == gs.size();
}

std::vector<AnyGreenlet> wait_some(std::vector<AnyGreenlet> gs, double timeout, std::size_t count) {
    const std::size_t want = count == 0 || count > gs.size() ? gs.size() : count;
    Iwait it(std::move(gs), timeout);
    std::vector<AnyGreenlet> done;
    done.reserve(want);
    while (done.size() < want) {
        AnyGreenlet g = it.next();
        if (!g) break;
        done.push_back(std::move(g));
    }
    return done;
}

}  // namespace detail
}  // namespace green
