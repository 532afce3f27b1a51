// The main() of every doctest program. meson runs each test case in a process of
// its own (tests/meson.build registers one meson test per TEST_CASE line):
//
//   PROGRAM --case=NAME --cases=N
//
// runs the case named NAME, exactly, and exits as meson reads it: 0 passed,
// 1 failed, 77 skipped (test::skip, or a skip decorator that applies here), 99
// when NAME matches no case or the program has not N cases (a case meson did
// not register: re-run meson). Without --case it is a plain doctest program,
// but one that exits 77 when a case it ran skipped itself and none failed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "support/support.hpp"

namespace {

std::string wanted;              // --case
bool wanted_ran = false;         // the case started
bool wanted_decorated = false;   // the case was passed over for its skip decorator
int others_ran = 0;              // cases the filter let through besides it

// Sees which cases doctest ran and which it passed over.
struct CaseWatch : doctest::IReporter {
    explicit CaseWatch(const doctest::ContextOptions&) {}
    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats&) override {}
    void test_case_start(const doctest::TestCaseData& tc) override {
        if (tc.m_name == wanted)
            wanted_ran = true;
        else
            ++others_ran;
    }
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_end(const doctest::CurrentTestCaseStats&) override {}
    void test_case_exception(const doctest::TestCaseException&) override {}
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData&) override {}
    void log_message(const doctest::MessageData&) override {}
    void test_case_skipped(const doctest::TestCaseData& tc) override {
        if (tc.m_name == wanted && tc.m_skip) wanted_decorated = true;
    }
};

// doctest reads a filter as comma-separated wildcards: a comma in a name is escaped.
std::string as_filter(const std::string& name) {
    std::string out;
    for (char c : name) {
        if (c == ',' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

int wrong_registration(const char* why) {
    std::fprintf(stderr, "doctest_main: %s; re-run meson (it reads the TEST_CASE lines of each file)\n", why);
    return 99;
}

}  // namespace

DOCTEST_REGISTER_LISTENER("case_watch", 1, CaseWatch);

int main(int argc, char** argv) {
    long expected_cases = -1;
    for (int i = 1; i < argc; ++i) {
        if (!std::strncmp(argv[i], "--case=", 7)) wanted = argv[i] + 7;
        if (!std::strncmp(argv[i], "--cases=", 8)) expected_cases = std::atol(argv[i] + 8);
    }
    doctest::Context context;
    context.applyCommandLine(argc, argv);
    if (wanted.empty()) {
        const int status = context.run();
        return status == 0 && test::skipped() ? 77 : status;
    }

    const auto registered = static_cast<long>(doctest::detail::getRegisteredTests().size());
    if (expected_cases >= 0 && registered != expected_cases)
        return wrong_registration(("meson registered " + std::to_string(expected_cases) + " cases, the program has " +
                                   std::to_string(registered)).c_str());
    context.addFilter("test-case", as_filter(wanted).c_str());
    const int status = context.run();
    if (others_ran != 0) return wrong_registration(("'" + wanted + "' selects other cases too").c_str());
    if (!wanted_ran && !wanted_decorated) return wrong_registration(("no case is named '" + wanted + "'").c_str());
    if (status != 0) return status;
    if (wanted_decorated) {
        std::fprintf(stderr, "SKIP: '%s' has a skip decorator that applies here\n", wanted.c_str());
        return 77;
    }
    if (test::skipped()) return 77;
    return 0;
}
