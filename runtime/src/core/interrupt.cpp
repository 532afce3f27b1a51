#include "core/interrupt.hpp"

#include <atomic>
#include <utility>

#include "bridge/shim_api.hpp"
#include "core/hub.hpp"
#include "green/errors.hpp"

namespace green::detail {
namespace {

std::atomic<void (*)(GreenletCore&)> signal_taker{nullptr};

}  // namespace

void Hub::set_signal_taker(void (*taker)(GreenletCore&)) noexcept { signal_taker.store(taker); }

void post_kill(GreenletCore& g, std::exception_ptr e) noexcept {
    g.interruption = std::move(e);
    g.pending |= pending_kill;
}

void post_timeout(GreenletCore& g, const Timeout* t) noexcept {
    if (g.pending & pending_timeout) return;  // the first to expire is the one thrown
    g.pending |= pending_timeout;
    g.expired_timeout = t;
}

void post_loop_exit(GreenletCore& g) noexcept { g.pending |= pending_loop_exit; }
void post_cancel(GreenletCore& g) noexcept { g.pending |= pending_cancel; }
void post_signal(GreenletCore& g) noexcept { g.pending |= pending_signal; }

void withdraw_timeout(GreenletCore& g, const Timeout* t) noexcept {
    if (!(g.pending & pending_timeout) || g.expired_timeout != t) return;
    g.pending &= static_cast<std::uint8_t>(~pending_timeout);
    g.expired_timeout = nullptr;
}

void withdraw_cancel(GreenletCore& g) noexcept { g.pending &= static_cast<std::uint8_t>(~pending_cancel); }

std::uint8_t hold_back(GreenletCore& g, std::uint8_t keep) noexcept {
    const auto held = static_cast<std::uint8_t>(g.pending & ~keep);
    g.pending &= keep;
    return held;
}

void restore(GreenletCore& g, std::uint8_t held) noexcept { g.pending |= held; }

void Hub::throw_pending(GreenletCore& g) {
    if (g.pending & pending_signal) {
        g.pending &= static_cast<std::uint8_t>(~pending_signal);
        if (auto take = signal_taker.load()) take(g);  // its handlers run here, on its own stack
    }
    std::exception_ptr e;
    if (g.pending & pending_kill) {
        g.thrown = pending_kill;
        e = g.interruption;
    } else if (g.pending & pending_timeout) {
        g.thrown = pending_timeout;
        e = std::make_exception_ptr(TimeoutError(std::exchange(g.expired_timeout, nullptr)));
    } else if (g.pending & pending_loop_exit) {
        g.thrown = pending_loop_exit;
        e = std::make_exception_ptr(LoopExit());
    } else if ((g.pending & pending_cancel) && g.cancel_point) {
        g.thrown = pending_cancel;
        e = std::make_exception_ptr(shim_api::ThreadCancel());
    } else {
        return;  // nothing is due here
    }
    g.pending &= static_cast<std::uint8_t>(~g.thrown);
    g.interruption = e;
    std::rethrow_exception(std::move(e));
}

bool repost(GreenletCore& g, const std::exception_ptr& e) noexcept {
    if (!e || e != g.interruption || g.thrown == 0) return false;
    const std::uint8_t what = std::exchange(g.thrown, 0);  // reposted once: a second repost is an error's
    switch (what) {
    case pending_kill: post_kill(g, e); break;
    case pending_timeout:
        try {
            std::rethrow_exception(e);
        } catch (const TimeoutError& t) {
            post_timeout(g, t.source());
        } catch (...) {
        }
        break;
    case pending_loop_exit: post_loop_exit(g); break;
    default: post_cancel(g); break;
    }
    return true;
}

void Hub::interrupt_later(std::exception_ptr e) noexcept {
    if (running_) repost(*running_, e);
}

}  // namespace green::detail
