#include "state.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "real.hpp"
#include "resolver_settings.h"
#include "shim_api.hpp"

namespace shim::state {

std::atomic<bool> live{false};
thread_local int plain_depth [[gnu::tls_model("initial-exec")]] = 0;
thread_local bool vfork_child [[gnu::tls_model("initial-exec")]] = false;
Dns dns = Dns::automatic;
bool dns_configured = false;
int log_level = 1;
bool always_cooperate = false;

namespace {

using green::detail::shim_api::env;

[[gnu::constructor(101)]] void start() {
    real::resolve_all();
    if (const char* v = env("GREEN_DNS")) {
        if (!std::strcmp(v, "system"))
            dns = Dns::system;
        else if (!std::strcmp(v, "ares"))
            dns = Dns::ares;
        else if (std::strcmp(v, "auto") != 0)
            std::fprintf(stderr, "green: ignoring GREEN_DNS='%s' (auto, ares or system)\n", v);
    }
    for (const char* v : {GREEN_RESOLVER_SETTINGS}) dns_configured = dns_configured || env(v);
    log_level = static_cast<int>(green::detail::shim_api::env_long("GREEN_LOG", 0, 2, 1));
    if (const char* v = env("GREEN_SHIM_COOPERATE")) always_cooperate = !std::strcmp(v, "always");
    if (log_level >= 2) std::fprintf(stderr, "green: shim active in pid %d\n", static_cast<int>(::getpid()));
    live.store(true, std::memory_order_release);
}

[[gnu::destructor(101)]] void stop() { live.store(false, std::memory_order_release); }

}  // namespace
}  // namespace shim::state
