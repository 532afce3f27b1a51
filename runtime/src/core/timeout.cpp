#include "green/timeout.hpp"

#include "core/hub.hpp"
#include "core/interrupt.hpp"

namespace green {

void Timeout::arm(double seconds) {
    if (seconds == detail::kForever) return;
    detail::Hub& hub = detail::Hub::current();
    owner_ = &detail::current();
    detail::retain(owner_);
    hub.add_hub_user();
    detail::timer_start(hub.loop(), timer_, seconds, on_expiry, this);
}

void Timeout::on_expiry(void* self) {
    auto* t = static_cast<Timeout*>(self);
    t->expired_ = true;
    detail::GreenletCore& g = *t->owner_;
    g.hub->remove_hub_user();
    if (g.state == detail::State::dead) return;
    detail::post_timeout(g, t);
    g.hub->wake(g, detail::WakeReason::woken);
}

void Timeout::cancel() noexcept {
    detail::GreenletCore* g = owner_;
    if (!g) return;
    owner_ = nullptr;
    if (detail::timer_active(timer_)) {
        detail::timer_stop(g->hub->loop(), timer_);
        g->hub->remove_hub_user();
    }
    detail::withdraw_timeout(*g, this);
    detail::release(g);
}

}  // namespace green
