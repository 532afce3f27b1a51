#include "green/dump.hpp"

#include <cstdio>

#include "core/hub.hpp"
#include "diag/report.hpp"

namespace green {

std::string dump() {
    detail::Hub& hub = detail::Hub::current();
    std::string out;
    std::size_t count = 0;
    hub.for_each_greenlet([&](detail::GreenletCore& g) {
        ++count;
        char line[160];
        std::snprintf(line, sizeof line, "#%llu %s: %s", static_cast<unsigned long long>(g.id),
                      detail::display_name(g).c_str(), detail::state_name(g.state));
        out += line;
        if (g.state == detail::State::parked && g.wait_what) {
            std::snprintf(line, sizeof line, " in %s", g.wait_what);
            out += line;
            if (g.wait_on) {
                std::snprintf(line, sizeof line, " (%p)", g.wait_on);
                out += line;
            }
        }
        if (g.start_timer) out += " (spawn_later, timer pending)";
        if (g.ctx.stack_size) {
            std::snprintf(line, sizeof line, ", stack %zu KiB", g.ctx.stack_size / 1024);
            out += line;
        }
        out += '\n';
    });
    char summary[96];
    std::snprintf(summary, sizeof summary, "%zu greenlets, %zu ready\n", count, hub.ready_count());
    out += summary;
    return out;
}

}  // namespace green
