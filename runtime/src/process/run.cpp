// green::run (subprocess.run) and the error it throws under `check`.
#include <string.h>

#include <string>
#include <string_view>

#include "green/subprocess.hpp"

namespace green {
namespace {

// The last few lines of a child's stderr, for an error message.
std::string tail_of(std::string_view text) {
    constexpr std::size_t kMaxBytes = 1000;
    constexpr int kMaxLines = 5;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    std::size_t start = text.size() > kMaxBytes ? text.size() - kMaxBytes : 0;
    int lines = 0;
    for (std::size_t i = text.size(); i > start; --i)
        if (text[i - 1] == '\n' && ++lines == kMaxLines) {
            start = i;
            break;
        }
    return std::string(text.substr(start));
}

std::string describe(const std::vector<std::string>& args, int returncode, const std::string& err) {
    std::string what = "green::run: " + (args.empty() ? std::string() : args.front());
    if (returncode < 0)
        what += " was killed by signal " + std::to_string(-returncode) + " (" + ::strsignal(-returncode) + ")";
    else
        what += " exited with status " + std::to_string(returncode);
    const std::string tail = tail_of(err);
    if (!tail.empty()) what += "; its stderr ends:\n" + tail;
    return what;
}

}  // namespace

CalledProcessError::CalledProcessError(std::vector<std::string> args, int returncode, std::string out, std::string err)
    : std::runtime_error(describe(args, returncode, err)),
      args_(std::move(args)),
      returncode_(returncode),
      out_(std::move(out)),
      err_(std::move(err)) {}

TimeoutExpired::TimeoutExpired(std::vector<std::string> args, std::string out, std::string err)
    : TimeoutError(nullptr), args_(std::move(args)), out_(std::move(out)), err_(std::move(err)) {}

CompletedProcess run(std::vector<std::string> argv, RunOptions options) {
    (void)detail::to_seconds(options.timeout);  // a bad timeout is refused before anything starts
    Popen child(std::move(argv), PopenOptions{.env = std::move(options.env),
                                              .cwd = std::move(options.cwd),
                                              .in = options.input ? Stdio::pipe : Stdio::inherit,
                                              .out = options.out,
                                              .err = options.err,
                                              .close_fds = options.close_fds,
                                              .pass_fds = std::move(options.pass_fds),
                                              .start_new_session = options.start_new_session});
    Output output;
    try {
        output = child.communicate(options.input.value_or(std::string()), options.timeout);
    } catch (const TimeoutError& e) {
        child.kill();
        if (e.source() == nullptr) {  // run's own timeout: reap it here, then say so (TimeoutExpired, with the output)
            child.wait();
            throw;
        }
        throw;  // an outer Timeout: the Popen's end reaps it in the background
    } catch (...) {
        child.kill();  // a kill of this greenlet too (GreenletExit is no std::exception)
        throw;
    }
    CompletedProcess done{child.args(), *child.returncode(), std::move(output.out), std::move(output.err)};
    if (options.check && done.returncode != 0)
        throw CalledProcessError(std::move(done.args), done.returncode, std::move(done.out), std::move(done.err));
    return done;
}

}  // namespace green
