// Group and Pool (gevent.pool): track a set of greenlets; Pool(n) also caps how
// many run at once, its spawn() waiting for a free slot.
//
//   green::Pool pool(10);
//   auto sizes = pool.map(fetch_size, urls);            // input order, 10 at a time
//   for (auto& s : pool.imap_unordered(fetch_size, urls)) ...   // completion order
//
// A greenlet leaves its group when it ends. Destroying a group forgets its
// members without killing them. All members belong to the group's thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <ranges>
#include <type_traits>
#include <vector>

#include "green/detail/config.hpp"
#include "green/detail/core.hpp"
#include "green/detail/pull_iterator.hpp"
#include "green/detail/time.hpp"
#include "green/greenlet.hpp"
#include "green/queue.hpp"
#include "green/semaphore.hpp"

namespace green {

template <class R>
class Imap;

class GREEN_API Group {
public:
    Group() = default;
    virtual ~Group();
    Group(const Group&) = delete;
    Group& operator=(const Group&) = delete;

    // Spawns f(args...) as a member (in a Pool, first waits for a free slot).
    template <class F, class... A>
    auto spawn(F&& f, A&&... args) {
        reserve_slot();
        try {
            auto g = green::spawn(std::forward<F>(f), std::forward<A>(args)...);
            adopt(g);
            return g;
        } catch (...) {
            release_slot();
            throw;
        }
    }

    // Adds a running greenlet (in a Pool, waiting for a slot); finished ones and
    // members already present are ignored.
    void add(const AnyGreenlet& g);
    // Forgets a member without killing it.
    void discard(const AnyGreenlet& g);
    bool contains(const AnyGreenlet& g) const;
    std::size_t size() const noexcept { return count_; }
    std::vector<AnyGreenlet> greenlets() const;

    // Waits until the group is empty; false when `timeout` runs out first. With
    // raise_error, rethrows the first exception among the greenlets that were
    // members when join began. May switch.
    bool join() { return join_for(detail::kForever, false); }
    template <class Rep, class Period>
    bool join(std::chrono::duration<Rep, Period> timeout, bool raise_error = false) {
        return join_for(detail::to_seconds(timeout), raise_error);
    }

    // Kills every member (GreenletExit, or `e`); with `block`, waits until they end.
    void kill(bool block = true) { kill(nullptr, block); }
    void kill(std::exception_ptr e, bool block);

    // f(x) for every x of `inputs`, run concurrently (a Pool bounds how many at
    // once); returns the results in input order. If one throws, the others are
    // killed and the exception is rethrown.
    template <class F, std::ranges::input_range Range>
    auto map(F f, Range&& inputs);

    // Like map, but iterating the result yields each f(x) as soon as it is ready
    // (completion order). Keep the group alive while iterating; destroying the
    // returned range early kills the work still running.
    template <class F, std::ranges::input_range Range>
    auto imap_unordered(F f, Range&& inputs);

protected:
    // Pool hooks: a member takes a slot before it starts and frees it when it leaves.
    virtual void reserve_slot() {}
    virtual void release_slot() noexcept {}

private:
    struct MemberTag;
    struct Member;
    void adopt(const AnyGreenlet& g);
    void leave(Member& m) noexcept;
    bool join_for(double timeout, bool raise_error);
    static void on_member_end(detail::Waiter& w, detail::WakeReason) noexcept;

    detail::List<Member, MemberTag> members_;
    std::size_t count_ = 0;
    detail::WaitList empty_waiters_;
};

class GREEN_API Pool : public Group {
public:
    // At most `size` members at once; 0 throws std::invalid_argument.
    explicit Pool(std::size_t size);
    ~Pool() override;

    std::size_t free_count() const noexcept { return static_cast<std::size_t>(slots_.counter()); }
    bool full() const noexcept { return slots_.locked(); }
    std::size_t capacity() const noexcept { return size_; }

    // Waits until a slot is free (without taking it); false on timeout. May switch.
    bool wait_available() { return wait_available_for(detail::kForever); }
    template <class Rep, class Period>
    bool wait_available(std::chrono::duration<Rep, Period> timeout) {
        return wait_available_for(detail::to_seconds(timeout));
    }

protected:
    void reserve_slot() override;
    void release_slot() noexcept override;

private:
    bool wait_available_for(double timeout);

    std::size_t size_;
    Semaphore slots_;
};

template <class F, std::ranges::input_range Range>
auto Group::map(F f, Range&& inputs) {
    using R = detail::SpawnResult<F&, std::ranges::range_reference_t<Range>>;
    static_assert(!std::is_void_v<R>, "green: map needs a function that returns a value; use spawn and join for void");
    std::vector<Greenlet<R>> running;
    try {
        for (auto&& x : inputs) running.push_back(spawn(f, x));
        std::vector<R> results;
        results.reserve(running.size());
        for (auto& g : running) results.push_back(g.get());
        return results;
    } catch (...) {
        for (auto& g : running) g.kill(nullptr, false);
        throw;
    }
}

// The range imap_unordered returns: yields each result once it is ready.
template <class R>
class Imap {
    struct Outcome {
        std::optional<R> value;
        std::exception_ptr error;  // rethrown while iterating
        bool killed = false;       // the task was killed from outside: nothing to yield
    };
    struct State {
        Queue<Outcome> outcomes;
        std::size_t total = 0;
        std::size_t received = 0;
        std::vector<AnyGreenlet> tasks;
        AnyGreenlet feeder;
    };

public:
    template <class F, class Item>
    Imap(Group& group, F f, std::vector<Item> items) : state_(std::make_shared<State>()) {
        state_->total = items.size();
        // The feeder spawns through the group, waiting for Pool slots as it goes.
        state_->feeder = green::spawn([&group, f = std::move(f), items = std::move(items), st = state_]() mutable {
            for (auto& x : items) {
                st->tasks.push_back(group.spawn([f, x = std::move(x), st]() mutable {
                    try {
                        st->outcomes.put(Outcome{f(x), nullptr});
                    } catch (const GreenletExit&) {
                        st->outcomes.put(Outcome{std::nullopt, nullptr, true});
                        throw;
                    } catch (...) {
                        st->outcomes.put(Outcome{std::nullopt, std::current_exception()});
                    }
                }));
            }
        });
    }
    ~Imap() {
        if (!state_) return;
        state_->feeder.kill(nullptr, false);
        for (auto& t : state_->tasks) t.kill(nullptr, false);
    }
    Imap(Imap&&) noexcept = default;
    Imap(const Imap&) = delete;

    // The next result, or nullopt once all are yielded. Rethrows a task's exception.
    std::optional<R> pull() {
        while (state_->received < state_->total) {
            Outcome o = state_->outcomes.get();
            ++state_->received;
            if (o.error) std::rethrow_exception(o.error);
            if (!o.killed) return std::move(o.value);
        }
        return std::nullopt;
    }

    using iterator = detail::PullIterator<R, Imap>;
    iterator begin() { return iterator(this); }
    std::default_sentinel_t end() const { return {}; }

private:
    std::shared_ptr<State> state_;
};

template <class F, std::ranges::input_range Range>
auto Group::imap_unordered(F f, Range&& inputs) {
    using Item = std::remove_cvref_t<std::ranges::range_reference_t<Range>>;
    using R = detail::SpawnResult<F&, Item&>;
    static_assert(!std::is_void_v<R>, "green: imap_unordered needs a function that returns a value");
    std::vector<Item> items;
    for (auto&& x : inputs) items.push_back(x);
    return Imap<R>(*this, std::move(f), std::move(items));
}

}  // namespace green
