#include "green/subprocess.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <exception>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

#include "base/sys.hpp"
#include "core/fd_table.hpp"
#include "core/hub.hpp"
#include "core/runtime_fds.hpp"
#include "diag/report.hpp"
#include "green/greenlet.hpp"
#include "green/process.hpp"
#include "green/timeout.hpp"
#include "net/io_retry.hpp"
#include "process/child_wait.hpp"
#include "process/spawn_child.hpp"

namespace green {

namespace detail {

// A Popen's child, its pipe ends and what communicate() has done so far (kept
// across a timeout so that the next call goes on from there).
struct PopenState {
    std::vector<std::string> args;
    pid_t pid = -1;
    int in = -1, out = -1, err = -1;
    std::optional<int> returncode;
    bool abandoned = false;  // its Popen is gone: a call still waiting must not go on
    bool communicating = false;  // communicate() has begun: its input is taken
    // A greenlet uses the stream now (communicate() uses all three): a second
    // one would take part of what the first expects.
    bool using_in = false, using_out = false, using_err = false;
    std::string input;
    std::size_t input_written = 0;
    Output collected;

    std::optional<int> poll();
};

}  // namespace detail

namespace {

constexpr std::size_t kChunk = 64 * 1024;  // a pipe's default capacity

void close_pipe(int& fd) noexcept {
    if (fd < 0) return;
    if (detail::Hub* hub = detail::Hub::current_if_any()) hub->fds().forget(fd);
    detail::sys::close(fd);
    fd = -1;
}

int returncode_of(int status) { return WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status); }

// write(2) to a pipe whose reader may be gone: EPIPE comes back as an error and
// the SIGPIPE the kernel sends this thread for it is taken before it is
// delivered (it would end the whole process by default).
long write_without_sigpipe(int fd, const char* data, std::size_t len) {
    sigset_t sigpipe, old;
    sigemptyset(&sigpipe);
    sigaddset(&sigpipe, SIGPIPE);
    sigemptyset(&old);
    detail::sys::sigprocmask(SIG_BLOCK, &sigpipe, &old);
    bool already_pending = false;  // then it is not ours to take
    if (sigismember(&old, SIGPIPE)) {
        sigset_t pending;
        sigemptyset(&pending);
        detail::sys::sigpending(&pending);
        already_pending = sigismember(&pending, SIGPIPE);
    }
    const long r = detail::sys::write(fd, data, len);
    const int error = errno;
    if (r < 0 && error == EPIPE && !already_pending) detail::sys::take_pending_signal(&sigpipe);
    detail::sys::sigprocmask(SIG_SETMASK, &old, nullptr);
    errno = error;
    return r;
}

// Reads what `fd` has now into `to`; closes `fd` at its end. Returns without
// waiting once it would block. A read goes into a small buffer on the stack
// unless the one before filled its buffer: most children say little, and
// growing `to` by a chunk zero-fills 64 KiB (four times per run({"true"}), 200,000
// instructions, more than all the rest of it).
void drain(int& fd, std::string& to) {
    char small[1024];
    bool expect_more = false;
    for (;;) {
        const std::size_t had = to.size();
        const std::size_t room = expect_more ? kChunk : sizeof small;
        if (expect_more) to.resize(had + kChunk);
        char* const into = expect_more ? to.data() + had : small;
        const long r = detail::sys::read(fd, into, room);
        const int error = errno;
        if (expect_more)
            to.resize(had + (r > 0 ? std::size_t(r) : 0));
        else if (r > 0)
            to.append(small, std::size_t(r));
        if (r > 0) {
            expect_more = std::size_t(r) == room;
            continue;
        }
        if (r == 0) return close_pipe(fd);
        if (error == EINTR) continue;
        if (error == EAGAIN) return;
        detail::throw_errno(error, "green::Popen::communicate: read");
    }
}

// Writes what the child's stdin takes now; closes it once all is written or
// the child stopped reading (EPIPE).
void feed(detail::PopenState& s) {
    while (s.input_written < s.input.size()) {
        const std::size_t n = std::min(kChunk, s.input.size() - s.input_written);
        const long r = write_without_sigpipe(s.in, s.input.data() + s.input_written, n);
        if (r >= 0) {
            s.input_written += std::size_t(r);
            continue;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return;
        if (errno == EPIPE) break;
        detail::throw_errno(errno, "green::Popen::communicate: write");
    }
    close_pipe(s.in);
    s.input = {};
}

// The children this thread's reaper greenlets wait for. Those still listed
// when the thread ends (its hub, and those greenlets, end with it) are each
// waited for by a plain OS thread instead. At the process's end (its main
// thread) there is no need: init takes them.
struct Reaping {
    std::vector<pid_t> pids;
    ~Reaping() {
        if (pids.empty() || detail::sys::gettid() == ::getpid()) return;
        detail::RuntimeScope ours;  // plain OS threads, even under thread patching
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);  // the program's signals are not for them
        for (const pid_t pid : pids) {
            try {
                std::thread([pid] {
                    while (detail::sys::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
                    }
                }).detach();
            } catch (const std::system_error&) {  // no thread to be had: the child stays a zombie until we exit
            }
        }
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
    }
};
thread_local Reaping reaping;

void reap_in_background(pid_t pid) {
    reaping.pids.push_back(pid);
    green::spawn(SpawnOptions{.name = "reaper of child " + std::to_string(pid)}, [pid] {
        try {
            green::waitpid(pid, nullptr, 0);
        } catch (const std::system_error&) {  // ECHILD: someone else reaped it
        }
        std::erase(reaping.pids, pid);
    });
}

}  // namespace

void Popen::abandon() noexcept {
    if (!state_) return;
    detail::PopenState& s = *state_;
    s.abandoned = true;
    close_pipe(s.in);  // a communicate() waiting on them wakes with EBADF
    close_pipe(s.out);
    close_pipe(s.err);
    try {
        if (s.poll()) return;
    } catch (const std::system_error&) {
        return;  // not ours to wait for
    }
    if (!detail::Hub::current_if_any()) return;  // the thread is going away: the child is left to init
    try {
        reap_in_background(s.pid);
    } catch (...) {
        detail::report_exception("starting the reaper of a child process", std::current_exception());
    }
}

std::optional<int> detail::PopenState::poll() {
    while (!returncode) {
        int status = 0;
        const pid_t r = sys::waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            returncode = returncode_of(status);
        } else if (r == 0) {
            break;
        } else if (errno == ECHILD) {
            returncode = 0;  // reaped elsewhere (SIGCHLD ignored, a wait for any child): Python says 0 too
        } else if (errno != EINTR) {
            throw_errno(errno, "green::Popen: waitpid");
        }
    }
    return returncode;
}

Popen::Popen(std::vector<std::string> argv, PopenOptions options) {
    detail::Hub::current();  // every wait needs it; made now, not in the middle of one
    const detail::SpawnedChild child = detail::spawn_child(argv, options);
    state_ = std::make_shared<detail::PopenState>();
    state_->args = std::move(argv);
    state_->pid = child.pid;
    state_->in = child.in;
    state_->out = child.out;
    state_->err = child.err;
}

Popen::~Popen() { abandon(); }

Popen::Popen(Popen&&) noexcept = default;

Popen& Popen::operator=(Popen&& other) noexcept {
    if (this != &other) {
        abandon();
        state_ = std::move(other.state_);
    }
    return *this;
}

namespace {

detail::PopenState& checked(const std::shared_ptr<detail::PopenState>& s) {
    if (!s) throw std::logic_error("green::Popen: used after a move");
    return *s;
}

void check_not_abandoned(const detail::PopenState& s) {
    if (s.abandoned) throw std::logic_error("green::Popen: destroyed while a greenlet waited on it");
}

// Marks a stream as used by the calling greenlet for the scope.
class InUse {
public:
    explicit InUse(bool& flag) : flag_(flag) { flag_ = true; }
    ~InUse() { flag_ = false; }
    InUse(const InUse&) = delete;
    InUse& operator=(const InUse&) = delete;

private:
    bool& flag_;
};

// communicate()'s own timeout ran out: what it has collected so far goes with
// the exception (and stays for the next call).
[[noreturn]] void expired(const detail::PopenState& s) {
    throw TimeoutExpired(s.args, s.collected.out, s.collected.err);
}

}  // namespace

pid_t Popen::pid() const { return checked(state_).pid; }
const std::vector<std::string>& Popen::args() const { return checked(state_).args; }
std::optional<int> Popen::returncode() const { return checked(state_).returncode; }
std::optional<int> Popen::poll() { return checked(state_).poll(); }

int Popen::wait_for(double timeout) {
    const std::shared_ptr<detail::PopenState> keep = state_;  // this Popen may go while it waits
    detail::PopenState& s = checked(keep);
    if (s.poll()) return *s.returncode;
    if (timeout <= 0) throw TimeoutError();
    std::optional<Timeout> limit;
    if (timeout != detail::kForever) limit.emplace(std::chrono::duration<double>(timeout));
    try {
        detail::ChildWait wait;
        while (!s.poll()) {
            detail::wait_for_child(s.pid, wait);
            check_not_abandoned(s);
        }
    } catch (const TimeoutError& e) {
        if (limit && e.source() == &*limit) throw TimeoutError();  // the call's own timeout, as the others report it
        throw;
    }
    return *s.returncode;
}

Output Popen::communicate_for(std::string input, double timeout) {
    const std::shared_ptr<detail::PopenState> keep = state_;  // this Popen may go while it waits
    detail::PopenState& s = checked(keep);
    if (s.using_in || s.using_out || s.using_err)
        throw std::logic_error("green::Popen::communicate: another greenlet uses the child's streams");
    bool first_look = !s.communicating;  // a child just started: it may be done in a moment
    if (s.communicating) {
        if (!input.empty()) throw std::logic_error("green::Popen::communicate: new input after communication started");
    } else {
        if (!input.empty() && s.in < 0) throw std::logic_error("green::Popen::communicate: input, but stdin is not a pipe");
        s.input = std::move(input);
        s.communicating = true;
    }
    const InUse in_use[] = {InUse(s.using_in), InUse(s.using_out), InUse(s.using_err)};
    const auto deadline = detail::Deadline::after(timeout);
    detail::FdTable& fds = detail::Hub::current().fds();
    bool lingered = false;
    for (;;) {
        if (s.in >= 0) feed(s);
        const bool both_open = s.out >= 0 && s.err >= 0;
        if (std::exchange(first_look, false)) detail::give_child_the_cpu();
        if (s.out >= 0) drain(s.out, s.collected.out);
        if (s.err >= 0) drain(s.err, s.collected.err);
        if (both_open && (s.out < 0) != (s.err < 0) && !lingered) {
            // One output just ended and the other is empty: most often the child
            // is exiting and closing the other now.
            lingered = true;
            detail::give_child_the_cpu();
            continue;
        }
        detail::FdTable::Interested waiting[3];
        std::size_t n = 0;
        if (s.in >= 0) waiting[n++] = {s.in, detail::Interest::write};
        if (s.out >= 0) waiting[n++] = {s.out, detail::Interest::read};
        if (s.err >= 0) waiting[n++] = {s.err, detail::Interest::read};
        if (n == 0) break;
        const double left = deadline.remaining();
        if (left == 0) expired(s);
        const detail::WakeReason why = fds.wait_many(waiting, n, left, nullptr, "Popen::communicate");
        check_not_abandoned(s);
        if (why == detail::WakeReason::closed) detail::throw_errno(EBADF, "green::Popen::communicate");
        if (why == detail::WakeReason::deadline) expired(s);
    }
    try {
        wait_for(deadline.remaining());
    } catch (const TimeoutError& e) {
        if (e.source() == nullptr) expired(s);  // this call's timeout, not an outer Timeout's
        throw;
    }
    return std::exchange(s.collected, {});
}

void Popen::write_stdin_for(std::string_view data, double timeout) {
    const std::shared_ptr<detail::PopenState> keep = state_;  // this Popen may go while it waits
    detail::PopenState& s = checked(keep);
    if (s.in < 0) throw std::logic_error("green::Popen::write_stdin: stdin is not a pipe, or closed");
    if (s.using_in) throw std::logic_error("green::Popen::write_stdin: another greenlet uses stdin");
    const InUse in_use(s.using_in);
    const int fd = s.in;
    const auto deadline = detail::Deadline::after(timeout);
    while (!data.empty()) {
        long r;
        try {
            r = detail::retry_io(fd, detail::Interest::write, deadline, "Popen::write_stdin",
                                 [&] { return write_without_sigpipe(fd, data.data(), std::min(data.size(), kChunk)); });
        } catch (const std::system_error&) {
            check_not_abandoned(s);  // closed under it by the Popen's end
            throw;
        }
        if (r < 0 && (errno == ETIMEDOUT || errno == EAGAIN)) throw TimeoutError();  // EAGAIN: a timeout of 0
        if (r < 0) detail::throw_errno(errno, "green::Popen::write_stdin");
        data.remove_prefix(std::size_t(r));
    }
}

void Popen::close_stdin() {
    detail::PopenState& s = checked(state_);
    if (s.using_in) throw std::logic_error("green::Popen::close_stdin: another greenlet uses stdin");
    close_pipe(s.in);
}

std::string Popen::read_for(bool from_stderr, std::size_t max, double timeout) {
    const std::shared_ptr<detail::PopenState> keep = state_;  // this Popen may go while it waits
    detail::PopenState& s = checked(keep);
    const char* what = from_stderr ? "green::Popen::read_stderr" : "green::Popen::read_stdout";
    if (max == 0) throw std::invalid_argument(std::string(what) + ": max is 0");
    const int fd = from_stderr ? s.err : s.out;
    bool& using_it = from_stderr ? s.using_err : s.using_out;
    if (fd < 0) throw std::logic_error(std::string(what) + ": the stream is not a pipe");
    if (using_it) throw std::logic_error(std::string(what) + ": another greenlet reads it");
    const InUse in_use(using_it);
    std::string got(max, '\0');
    long r;
    try {
        r = detail::retry_io(fd, detail::Interest::read, detail::Deadline::after(timeout), what,
                             [&] { return detail::sys::read(fd, got.data(), max); });
    } catch (const std::system_error&) {
        check_not_abandoned(s);
        throw;
    }
    if (r < 0 && (errno == ETIMEDOUT || errno == EAGAIN)) throw TimeoutError();  // EAGAIN: a timeout of 0
    if (r < 0) detail::throw_errno(errno, what);
    got.resize(std::size_t(r));
    return got;
}

void Popen::send_signal(int signum) {
    if (signum < 0 || signum >= NSIG) throw std::invalid_argument("green::Popen::send_signal: no signal " + std::to_string(signum));
    detail::PopenState& s = checked(state_);
    if (s.poll()) return;
    if (::kill(s.pid, signum) != 0) detail::throw_errno(errno, "green::Popen::send_signal");
}

void Popen::terminate() { send_signal(SIGTERM); }
void Popen::kill() { send_signal(SIGKILL); }

}  // namespace green
