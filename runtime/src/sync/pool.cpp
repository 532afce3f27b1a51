#include "green/pool.hpp"

#include <stdexcept>

namespace green {

// A subscription to one member's end, and the member's place in the group.
struct Group::Member : detail::Waiter, detail::ListLink<MemberTag> {
    Group* group = nullptr;
    AnyGreenlet greenlet;
};

Group::~Group() {
    while (!members_.empty()) {
        Member& m = members_.pop_front();
        delete &m;  // its Waiter unsubscribes from the greenlet
    }
}

void Group::adopt(const AnyGreenlet& g) {
    auto* m = new Member;
    m->group = this;
    m->greenlet = g;
    m->notify = on_member_end;
    g.core().exit_waiters.push_back(*m);
    members_.push_back(*m);
    ++count_;
}

void Group::on_member_end(detail::Waiter& w, detail::WakeReason) noexcept {
    auto& m = static_cast<Member&>(w);
    m.group->leave(m);
}

void Group::leave(Member& m) noexcept {
    detail::List<Member, MemberTag>::erase(m);
    --count_;
    delete &m;
    release_slot();
    if (count_ == 0) empty_waiters_.wake_all(detail::WakeReason::woken);
}

void Group::add(const AnyGreenlet& g) {
    if (g.ready() || contains(g)) return;
    reserve_slot();
    if (g.ready()) {  // it ended while we waited for a slot
        release_slot();
        return;
    }
    adopt(g);
}

void Group::discard(const AnyGreenlet& g) {
    Member* found = nullptr;
    members_.for_each([&](Member& m) {
        if (m.greenlet == g) found = &m;
    });
    if (found) leave(*found);
}

bool Group::contains(const AnyGreenlet& g) const {
    bool found = false;
    const_cast<detail::List<Member, MemberTag>&>(members_).for_each([&](Member& m) { found = found || m.greenlet == g; });
    return found;
}

std::vector<AnyGreenlet> Group::greenlets() const {
    std::vector<AnyGreenlet> out;
    out.reserve(count_);
    const_cast<detail::List<Member, MemberTag>&>(members_).for_each([&](Member& m) { out.push_back(m.greenlet); });
    return out;
}

bool Group::join_for(double timeout, bool raise_error) {
    std::vector<AnyGreenlet> joined;
    if (raise_error) joined = greenlets();
    bool empty = count_ == 0;
    if (!empty && timeout != 0) {
        switch (detail::wait_on(empty_waiters_, timeout, "Group::join", this)) {
        case detail::WakeReason::closed: throw std::logic_error("green: Group destroyed while a greenlet joined it");
        case detail::WakeReason::deadline: break;
        default: empty = true;
        }
    }
    for (const AnyGreenlet& g : joined)
        if (std::exception_ptr e = g.exception()) std::rethrow_exception(e);
    return empty;
}

void Group::kill(std::exception_ptr e, bool block) {
    for (const AnyGreenlet& g : greenlets()) g.kill(e, false);
    if (block) join();
}

Pool::Pool(std::size_t size) : size_(size), slots_(static_cast<long>(size)) {
    if (size == 0) throw std::invalid_argument("green: a Pool needs at least one slot");
}

Pool::~Pool() = default;

void Pool::reserve_slot() { slots_.acquire(); }

void Pool::release_slot() noexcept { slots_.release(); }

bool Pool::wait_available_for(double timeout) {
    if (!slots_.locked()) return true;
    if (!slots_.acquire(std::chrono::duration<double>(timeout))) return false;
    slots_.release();
    return true;
}

}  // namespace green
