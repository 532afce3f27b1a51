// Child processes whose pipes and exit a greenlet waits for without blocking the
// thread (gevent.subprocess).
//
//   green::Popen p({"sort"}, {.in = green::Stdio::pipe, .out = green::Stdio::pipe});
//   auto [out, err] = p.communicate("b\na\n", 5s);   // out == "a\nb\n"
//
//   auto r = green::run({"git", "status"}, {.check = true, .timeout = 10s});
//
// No shell: argv[0] is looked up in PATH as execvp does (in the PATH of `env`
// when one is given). Errors are std::system_error carrying the errno, also for
// a program that cannot be run (ENOENT, EACCES, ENOEXEC: never an exit status
// of 127); bad arguments throw std::invalid_argument. The child starts with no
// signal blocked and SIGPIPE, SIGXFSZ at their defaults, whatever this process does.
//
// A child is always reaped: by wait(), poll() or communicate(), or, when its
// Popen is destroyed first (also by a kill unwinding the greenlet), by a
// greenlet of this thread's hub that waits for it in the background (until the
// child exits, that greenlet keeps the hub from reporting LoopExit; if the
// thread ends first, a plain thread takes over the wait). The Popen's
// pipe ends are close-on-exec and non-blocking, so other children never hold them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "green/detail/config.hpp"
#include "green/detail/time.hpp"
#include "green/errors.hpp"

namespace green {

// Where one of the child's standard streams goes.
enum class Stdio {
    inherit,    // the parent's own descriptor
    pipe,       // a pipe to this process, read or written by communicate()
    devnull,    // /dev/null
    to_stdout,  // stderr only: wherever stdout goes
};

struct PopenOptions {
    std::optional<std::vector<std::string>> env = {};  // the whole environment, "NAME=value"; none: inherit this one
    std::string cwd = {};                              // the child's working directory; empty: this one's
    Stdio in = Stdio::inherit;
    Stdio out = Stdio::inherit;
    Stdio err = Stdio::inherit;
    // The child gets descriptors 0, 1 and 2 and pass_fds (at the same numbers,
    // close-on-exec or not here); every other descriptor of this process is
    // closed in the child. close_fds = false: it also inherits every descriptor
    // that is not close-on-exec. (Python's close_fds and pass_fds.)
    bool close_fds = true;
    std::vector<int> pass_fds = {};
    bool start_new_session = false;  // the child calls setsid(): a session and process group of its own
};

// What communicate() collected from the piped stdout and stderr.
struct Output {
    std::string out;
    std::string err;
};

// A Popen's or run()'s own timeout ran out (subprocess.TimeoutExpired): what
// the child's piped stdout and stderr had said by then comes with it. Catching
// TimeoutError catches it too. (An outer green::Timeout that expires throws its
// own TimeoutError, without output.)
class GREEN_API TimeoutExpired : public TimeoutError {
public:
    TimeoutExpired(std::vector<std::string> args, std::string out, std::string err);
    const std::vector<std::string>& args() const noexcept { return args_; }
    const std::string& out() const noexcept { return out_; }
    const std::string& err() const noexcept { return err_; }

private:
    std::vector<std::string> args_;
    std::string out_, err_;
};


namespace detail {
struct PopenState;
}

class GREEN_API Popen {
public:
    // Starts argv[0] with arguments argv. Throws std::invalid_argument for an
    // empty argv, a NUL byte in an argument, an env entry without '=', or
    // Stdio::to_stdout for in or out; std::system_error when the program or the
    // working directory cannot be used (the message names it) or a pipe cannot
    // be made. Needs this thread's hub (made on first use).
    explicit Popen(std::vector<std::string> argv, PopenOptions options = {});
    // Closes the pipes. A child still running goes on running and is reaped in
    // the background when it exits (Python leaves it running too). A greenlet
    // still waiting in this Popen's wait() or communicate() gets std::logic_error.
    ~Popen();
    Popen(Popen&&) noexcept;
    Popen& operator=(Popen&&) noexcept;
    Popen(const Popen&) = delete;
    Popen& operator=(const Popen&) = delete;

    pid_t pid() const;
    const std::vector<std::string>& args() const;
    // Set once the child has been reaped; none while it runs.
    std::optional<int> returncode() const;

    // Reaps the child if it has exited, without waiting; returns returncode().
    // A child that something else reaped first (SIGCHLD ignored, a wait for any
    // child) reads as 0, as in Python.
    std::optional<int> poll();

    // Waits for the child to exit and returns its return code; with a timeout,
    // throws TimeoutError when it runs out (the child keeps running). May switch;
    // a kill or an expired Timeout throws here and leaves the child running;
    // must not be called from the hub.
    int wait() { return wait_for(detail::kForever); }
    template <class Rep, class Period>
    int wait(std::chrono::duration<Rep, Period> timeout) {
        return wait_for(detail::to_seconds(timeout));
    }

    // Writes `input` to the piped stdin and closes it, reads the piped stdout and
    // stderr to their end, all at once (no deadlock, whatever sizes), then waits
    // for the child. A child that exits or closes its stdin before reading all
    // of `input` is not an error (as in Python). On timeout throws TimeoutExpired
    // (a TimeoutError) with a copy of the output so far; the child keeps running
    // and calling communicate() again goes on where the first call stopped,
    // returning all the output (its input is then ignored). May
    // switch; a kill or an expired Timeout throws here like a timeout does. Input
    // without a piped stdin, new input after communication has started, or a
    // second greenlet calling it meanwhile throws std::logic_error.
    Output communicate(std::string input = {}) { return communicate_for(std::move(input), detail::kForever); }
    template <class Rep, class Period>
    Output communicate(std::string input, std::chrono::duration<Rep, Period> timeout) {
        return communicate_for(std::move(input), detail::to_seconds(timeout));
    }

    // Streaming, for a conversation with the child instead of communicate().
    // write_stdin writes all of `data` to the piped stdin, waiting while the pipe
    // is full; std::system_error(EPIPE) when the child no longer reads it (no
    // SIGPIPE reaches this process). close_stdin sends end-of-file. read_stdout
    // and read_stderr return up to `max` bytes as soon as some have come, an
    // empty string at the end. Each may switch; the timeout (for write_stdin:
    // of the whole write) throws TimeoutError, a kill or an expired Timeout
    // throws here, and what was written or read before stays done. A stream that
    // is not a pipe (or stdin once closed), communicate() running in another
    // greenlet, or max == 0 throw std::logic_error / std::invalid_argument.
    void write_stdin(std::string_view data) { write_stdin_for(data, detail::kForever); }
    template <class Rep, class Period>
    void write_stdin(std::string_view data, std::chrono::duration<Rep, Period> timeout) {
        write_stdin_for(data, detail::to_seconds(timeout));
    }
    void close_stdin();
    std::string read_stdout(std::size_t max = 65536) { return read_for(false, max, detail::kForever); }
    template <class Rep, class Period>
    std::string read_stdout(std::size_t max, std::chrono::duration<Rep, Period> timeout) {
        return read_for(false, max, detail::to_seconds(timeout));
    }
    std::string read_stderr(std::size_t max = 65536) { return read_for(true, max, detail::kForever); }
    template <class Rep, class Period>
    std::string read_stderr(std::size_t max, std::chrono::duration<Rep, Period> timeout) {
        return read_for(true, max, detail::to_seconds(timeout));
    }

    // kill(2) of the child; nothing once it has been reaped (its pid may name
    // another process by then). An invalid signal number throws std::invalid_argument.
    void send_signal(int signum);
    void terminate();  // SIGTERM
    void kill();       // SIGKILL

private:
    int wait_for(double timeout);
    void write_stdin_for(std::string_view data, double timeout);
    std::string read_for(bool from_stderr, std::size_t max, double timeout);
    Output communicate_for(std::string input, double timeout);

    void abandon() noexcept;

    std::shared_ptr<detail::PopenState> state_;  // shared with the calls waiting on it
};

// run()'s settings: PopenOptions' plus input, checking and a timeout. Output is
// captured by default.
struct RunOptions {
    std::optional<std::vector<std::string>> env = {};
    std::string cwd = {};
    std::optional<std::string> input = {};  // written to a piped stdin; none: stdin is inherited
    Stdio out = Stdio::pipe;
    Stdio err = Stdio::pipe;
    bool check = false;                             // a non-zero return code throws CalledProcessError
    std::chrono::nanoseconds timeout = green::forever;  // then the child is killed and reaped, and TimeoutExpired
                                                        // thrown with the output collected until then
    bool close_fds = true;                          // as PopenOptions'
    std::vector<int> pass_fds = {};
    bool start_new_session = false;
};

struct CompletedProcess {
    std::vector<std::string> args;
    int returncode = 0;
    std::string out;  // what a piped stdout said
    std::string err;  // what a piped stderr said
};

// run() with check = true: the child ended with a non-zero return code.
class GREEN_API CalledProcessError : public std::runtime_error {
public:
    CalledProcessError(std::vector<std::string> args, int returncode, std::string out, std::string err);
    int returncode() const noexcept { return returncode_; }
    const std::vector<std::string>& args() const noexcept { return args_; }
    const std::string& out() const noexcept { return out_; }
    const std::string& err() const noexcept { return err_; }

private:
    std::vector<std::string> args_;
    int returncode_;
    std::string out_, err_;
};

// Runs argv to its end (subprocess.run) and returns its return code and
// captured output. When the timeout runs out, or the greenlet is killed or an
// outer Timeout expires while it waits, the child is killed (SIGKILL) and reaped
// (in the background after a kill) and the exception goes on. Throws what Popen
// throws, CalledProcessError (with the last lines of stderr in what()) under
// `check`, TimeoutExpired for its own timeout (with what the child said until
// then), an outer Timeout's TimeoutError. May switch; must not be called from the hub.
GREEN_API CompletedProcess run(std::vector<std::string> argv, RunOptions options = {});

}  // namespace green
