// The numeric GREEN_* variables: a value out of the range their API setters
// accept (or not a number) is ignored, with one message naming the variable
// and the range, and the default stays; one in range is taken silently.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "support/support.hpp"

using test::contains;

namespace {

// How many times `part` occurs in `text`.
int count(const std::string& text, const std::string& part) {
    int n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("env: out-of-range numbers are ignored with one message") {
    struct Case {
        std::string setting;
        std::string message;
    };
    const std::vector<Case> cases{
        {"GREEN_DNS_TRIES=17", "green: ignoring GREEN_DNS_TRIES='17': not a whole number from 1 to 16\n"},
        {"GREEN_DNS_TRIES=0", "green: ignoring GREEN_DNS_TRIES='0': not a whole number from 1 to 16\n"},
        {"GREEN_DNS_TIMEOUT=0", "green: ignoring GREEN_DNS_TIMEOUT='0': not a number of seconds from 0.001 to 3600\n"},
        {"GREEN_DNS_TIMEOUT=1e9", "green: ignoring GREEN_DNS_TIMEOUT='1e9': not a number of seconds from 0.001 to 3600\n"},
        {"GREEN_THREADPOOL_SIZE=0", "green: ignoring GREEN_THREADPOOL_SIZE='0': not a whole number from 1 to 4096\n"},
        {"GREEN_THREADPOOL_SIZE=99999999999999999999",
         "green: ignoring GREEN_THREADPOOL_SIZE='99999999999999999999': not a whole number from 1 to 4096\n"},
        {"GREEN_THREADPOOL_SIZE=-3", "green: ignoring GREEN_THREADPOOL_SIZE='-3': not a whole number from 1 to 4096\n"},
        {"GREEN_GUARDED_STACKS=-1", "green: ignoring GREEN_GUARDED_STACKS='-1': not a whole number from 0 to "},
        {"GREEN_GUARDED_STACKS=99999999999", "green: ignoring GREEN_GUARDED_STACKS='99999999999': not a whole number from 0 to "},
        {"GREEN_MONITOR_MS=3600001", "green: ignoring GREEN_MONITOR_MS='3600001': not a whole number from 0 to 3600000\n"},
        {"GREEN_STACK_SIZE=8K", "green: ignoring GREEN_STACK_SIZE='8K': not a size (like 256K or 1M) from 16K to 1G\n"},
    };
    const auto plain = test::run({HELPER_PATH, "settings"});
    REQUIRE(plain.exit_code == 0);
    CHECK(plain.err == "");
    for (const Case& c : cases) {
        CAPTURE(c.setting);
        const auto r = test::run({HELPER_PATH, "settings"}, {c.setting});
        CHECK(r.exit_code == 0);
        CHECK(count(r.err, c.message) == 1);
        CHECK(count(r.err, "green: ignoring") == 1);
        CHECK(r.out == plain.out);  // the defaults
    }
}

// A value in range is taken, without a word.
TEST_CASE("env: numbers in range are taken") {
    const auto r = test::run({HELPER_PATH, "settings"},
                             {"GREEN_DNS_TRIES=16", "GREEN_DNS_TIMEOUT=0.5", "GREEN_THREADPOOL_SIZE=3",
                              "GREEN_GUARDED_STACKS=0", "GREEN_MONITOR_MS=0", "GREEN_STACK_SIZE=64K"});
    CHECK(r.exit_code == 0);
    CHECK(r.err == "");
    CHECK(contains(r.out, "threadpool 3\n"));
    CHECK(contains(r.out, "stack 64 KiB"));
}
