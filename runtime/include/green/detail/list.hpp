// Intrusive doubly linked list: the run queue and every waiter list are made of
// nodes embedded in the objects they link, so queueing never allocates.
#pragma once

#include <cstddef>

namespace green::detail {

// A node that is either linked into exactly one list or unlinked (next == nullptr).
// An object joins several lists by inheriting one ListLink<Tag> per list.
template <class Tag>
struct ListLink {
    ListLink* prev = nullptr;
    ListLink* next = nullptr;

    bool linked() const noexcept { return next != nullptr; }
};

// Removes a node from whatever list holds it; lists keep no count, so this
// needs no access to the list itself.
template <class Tag>
void unlink(ListLink<Tag>& node) noexcept {
    node.prev->next = node.next;
    node.next->prev = node.prev;
    node.next = nullptr;  // unlinked; prev is stale until the next insert sets it
}

// A circular list with a sentinel. T inherits ListLink<Tag>.
template <class T, class Tag = T>
class List {
    using Link = ListLink<Tag>;

public:
    List() noexcept { head_.prev = head_.next = &head_; }
    List(const List&) = delete;
    List& operator=(const List&) = delete;

    bool empty() const noexcept { return head_.next == &head_; }

    void push_back(T& item) noexcept { insert_before(&head_, item); }
    void push_front(T& item) noexcept { insert_before(head_.next, item); }

    T& front() noexcept { return owner(head_.next); }

    T& pop_front() noexcept {
        T& item = owner(head_.next);
        erase(item);
        return item;
    }

    static void erase(T& item) noexcept { unlink(static_cast<Link&>(item)); }

    // Visits every item; `fn` must not modify the list.
    template <class Fn>
    void for_each(Fn&& fn) {
        for (Link* n = head_.next; n != &head_; n = n->next) fn(owner(n));
    }

private:
    static T& owner(Link* node) noexcept { return static_cast<T&>(*node); }

    void insert_before(Link* pos, T& item) noexcept {
        Link& node = item;
        node.prev = pos->prev;
        node.next = pos;
        pos->prev->next = &node;
        pos->prev = &node;
    }

    Link head_;
};

}  // namespace green::detail
