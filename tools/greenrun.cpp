// greenrun: run an unmodified program with green's shim preloaded, so that its
// blocking socket, poll/select, sleep and DNS calls become cooperative.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "program_file.hpp"

namespace {

const char* const kUsage =
    "usage: greenrun [options] [--] PROGRAM [ARGS...]\n"
    "Runs PROGRAM with green's shim preloaded: its blocking calls let other greenlets run.\n"
    "\n"
    "      --threads[=N]      the threads PROGRAM creates become   (GREEN_THREADS=N)\n"
    "                         green threads: a thread per connection costs a\n"
    "                         greenlet, not an OS thread; pthread locks, conds\n"
    "                         and the like park them. They run on the thread\n"
    "                         that made them, or spread over N carrier threads\n"
    "                         (N >= 2; auto: one per CPU the process may use).\n"
    "                         The monitor is on (200 ms) unless --monitor says\n"
    "                         otherwise\n"
    "  -q, --quiet            only errors from green               (GREEN_LOG=0)\n"
    "  -v, --verbose          say what green does                  (GREEN_LOG=2)\n"
    "      --stack-size=SIZE  greenlet stack size, e.g. 256K       (GREEN_STACK_SIZE)\n"
    "      --monitor=MS       report a greenlet that keeps its hub (GREEN_MONITOR_MS)\n"
    "                         busy for more than MS milliseconds (0: never;\n"
    "                         the time slices of --threads stay)\n"
    "      --dns=WHO          who answers name lookups:            (GREEN_DNS)\n"
    "                         auto (default): green's resolver where a\n"
    "                         greenlet waits, glibc elsewhere; ares: green's\n"
    "                         always; system: glibc always\n"
    "      --dns-servers=LIST DNS servers, e.g. 127.0.0.1:5353     (GREEN_DNS_SERVERS)\n"
    "      --check            prove that the shim loads into PROGRAM, without running it\n"
    "      --version          print green's version\n"
    "  -h, --help             this text\n"
    "The exit status is PROGRAM's.\n";

[[noreturn]] void fail(int status, const std::string& message) {
    std::fprintf(stderr, "greenrun: %s\n", message.c_str());
    std::exit(status);
}

bool is_size(std::string_view s) {
    std::size_t digits = 0;
    while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
    if (digits == 0) return false;
    std::string_view unit = s.substr(digits);
    return unit.empty() || unit == "K" || unit == "k" || unit == "M" || unit == "m" || unit == "G" || unit == "g";
}

bool is_count(std::string_view s) {
    if (s.empty() || s.size() > 9) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return std::atol(std::string(s).c_str()) > 0;
}

// PROGRAM as execvp would find it, or "" when it is not there.
std::string locate(const std::string& program) {
    if (program.find('/') != std::string::npos) return access(program.c_str(), F_OK) == 0 ? program : "";
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        std::size_t end = dirs.find(':', start);
        if (end == std::string::npos) end = dirs.size();
        std::string dir = dirs.substr(start, end - start);
        std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
        if (access(candidate.c_str(), X_OK) == 0) return candidate;
        start = end + 1;
    }
    return "";
}

// Why LD_PRELOAD cannot work for `path`, or "" when it can.
std::string unsuitable(const std::string& path) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return std::strerror(errno);
    if (st.st_mode & S_ISUID) return "it is setuid, and the dynamic loader ignores LD_PRELOAD for setuid programs";
    if (st.st_mode & S_ISGID) return "it is setgid, and the dynamic loader ignores LD_PRELOAD for setgid programs";
    if (getxattr(path.c_str(), "security.capability", nullptr, 0) > 0)
        return "it has file capabilities, and the dynamic loader ignores LD_PRELOAD for such programs";
    switch (inspect_program(path).kind) {
    case FileKind::elf_static: return "it is statically linked, so LD_PRELOAD cannot reach its libc calls";
    case FileKind::elf_truncated: return "it is a truncated ELF file (it ends before its headers do)";
    default: return "";
    }
}

// Runs the program at `path` with `args` as execvp would: a file the kernel
// cannot execute (no #! line) is run by /bin/sh, as env, nohup and timeout do.
// Returns only on failure, with errno.
void exec_like_execvp(const std::string& path, char** args) {
    execv(path.c_str(), args);
    if (errno != ENOEXEC) return;
    std::vector<char*> sh{const_cast<char*>("/bin/sh"), const_cast<char*>(path.c_str())};
    for (char** a = args + 1; *a; ++a) sh.push_back(*a);
    sh.push_back(nullptr);
    execv("/bin/sh", sh.data());
    errno = ENOEXEC;
}

// Runs `argv` with no input; returns its exit status (-1: killed) and what it
// wrote to stdout and stderr, together.
int run_captured(const std::vector<std::string>& argv, std::string& output) {
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) fail(1, "pipe: " + std::string(std::strerror(errno)));
    const pid_t pid = fork();
    if (pid < 0) fail(1, "fork: " + std::string(std::strerror(errno)));
    if (pid == 0) {
        dup2(pipefd[1], STDOUT_FILENO);
        dup2(pipefd[1], STDERR_FILENO);
        std::vector<char*> args;
        for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execv(args[0], args.data());
        std::fprintf(stderr, "%s: %s\n", args[0], std::strerror(errno));
        _exit(127);
    }
    close(pipefd[1]);
    char buf[512];
    for (ssize_t n; (n = read(pipefd[0], buf, sizeof buf)) > 0;) output.append(buf, static_cast<std::size_t>(n));
    close(pipefd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool same_file(const std::string& a, const std::string& b) {
    struct stat sa {}, sb {};
    return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

std::string dir_of(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
}

// The hooks the preload stub loads, beside it (x86-64; elsewhere the preload
// is the hooks, and this names no file).
std::string hooks_beside(const std::string& preload) { return dir_of(preload) + "/libgreen_hooks.so.0"; }

// greenrun --check: asks the program's loader, as ldd does (`ld.so --list`),
// whether the library `preload` (already in LD_PRELOAD) loads into it. Nothing
// of the program runs, not even its constructors: only the system's own loader,
// the one greenrun itself runs under. For a script, asks about its interpreter.
[[noreturn]] void check_loads(const std::string& path, const std::string& preload) {
    std::string target = path;
    ProgramFile f = inspect_program(path);
    for (int depth = 0; f.kind == FileKind::script || f.kind == FileKind::other; ++depth) {
        if (depth == 4) fail(1, "cannot check " + path + ": its #! interpreters nest too deep");
        target = f.kind == FileKind::script ? f.interpreter : "/bin/sh";  // execvp's fallback
        f = inspect_program(target);
    }
    const std::string into = target == path ? path : target + ", the interpreter of " + path;
    const std::string cannot = "the shim cannot load into " + into + ": ";
    switch (f.kind) {
    case FileKind::unreadable: fail(1, "cannot check " + target + ": " + f.why);
    case FileKind::elf_static: fail(1, cannot + "it is statically linked");
    case FileKind::elf_truncated: fail(1, cannot + "it is a truncated ELF file");
    case FileKind::elf_foreign: fail(1, cannot + "it is " + f.why + ", and the shim is a 64-bit library for this machine");
    default: break;
    }
    const std::string loader = inspect_program("/proc/self/exe").interpreter;
    if (!same_file(f.interpreter, loader))
        fail(1, "cannot check " + into + ": its loader is " + f.interpreter + ", not " + loader +
                    ", and greenrun --check runs no other");
    // The preload stub loads the hooks beside it (and the C++ runtime behind
    // them) when the program first needs them: the loader is asked about those too.
    const std::string hooks = hooks_beside(preload);
    const bool stub = ::access(hooks.c_str(), F_OK) == 0;
    if (stub) setenv("LD_PRELOAD", (std::string(getenv("LD_PRELOAD")) + ":" + hooks).c_str(), 1);
    std::string listing;
    const int status = run_captured({loader, "--list", target}, listing);
    // One line per object: "\tNAME (0x...)", "\tNAME => PATH (0x...)" or "\tNAME => not found".
    bool listed = false, hooks_listed = !stub;
    std::string trouble;
    std::size_t start = 0;
    while (start < listing.size()) {
        std::size_t end = listing.find('\n', start);
        if (end == std::string::npos) end = listing.size();
        const std::string line = listing.substr(start, end - start);
        start = end + 1;
        if (line.find("not found") == std::string::npos) {
            listed |= line.starts_with("\t" + preload + " ");
            hooks_listed |= line.starts_with("\t" + hooks + " ");
        }
        if (line.empty() || (line[0] == '\t' && line.find("not found") == std::string::npos)) continue;
        trouble += "\n  " + line.substr(line.find_first_not_of('\t'));
    }
    if (status != 0 || !listed || !hooks_listed || !trouble.empty())
        fail(1, "the shim did not load into " + into + (trouble.empty() ? "" : ":" + trouble));
    std::printf("greenrun: the shim loads into %s (%s)\n", into.c_str(), preload.c_str());
    std::exit(0);
}

// The library to preload: GREEN_PRELOAD, or else the one found from where this
// greenrun is (BUILD/tools/greenrun -> BUILD/shim, PREFIX/bin/greenrun ->
// PREFIX/LIBDIR, so a prefix that was moved or unpacked elsewhere still works),
// or else the configured prefix's. An absolute path: the loader would take a
// relative one relative to the program's working directory. The library finds
// libgreen.so.0 beside it by its RUNPATH ($ORIGIN), with no LD_LIBRARY_PATH.
std::string find_preload() {
    // secure_getenv: were greenrun ever installed setuid, its caller must not choose the library.
    if (const char* p = secure_getenv("GREEN_PRELOAD"); p && *p) return p;
    std::vector<std::string> candidates;
    char self[4096] = {};
    if (const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1); n > 0 && self[0] == '/') {
        const std::string here = dir_of(std::string(self, static_cast<std::size_t>(n)));
        candidates = {here + "/../shim/libgreen_preload.so", here + "/../" GREEN_LIBDIR "/libgreen_preload.so"};
    }
    candidates.push_back(GREEN_INSTALLED_PRELOAD);
    for (const std::string& candidate : candidates)
        if (access(candidate.c_str(), R_OK) == 0) return candidate;
    fail(1, "cannot find libgreen_preload.so (set GREEN_PRELOAD to its path)");
}

// Under --threads (GREEN_THREADS) the preload stub loads the hooks at start
// anyway (shim/stub/preload_stub.c): preloading them directly spares each
// program the stub and a dlopen's costlier relocation (its symbol lookups try
// the global scope first), 2.4 M instructions per exec against 4.4 M.
std::string preload_for_threads(const std::string& preload) {
    const char* threads = std::getenv("GREEN_THREADS");
    if (!threads || !*threads || !std::strcmp(threads, "0") || !preload.ends_with("/libgreen_preload.so"))
        return preload;
    const std::string hooks = hooks_beside(preload);
    return access(hooks.c_str(), R_OK) == 0 ? hooks : preload;
}

}  // namespace

int main(int argc, char** argv) {
    bool check = false;
    int i = 1;
    for (; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&](std::string_view name) -> std::string {
            return std::string(a.substr(name.size() + 1));
        };
        if (a == "--") {
            ++i;
            break;
        }
        if (a.empty() || a[0] != '-') break;
        if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (a == "--version") {
            std::printf("greenrun (green) %s\n", GREEN_VERSION);
            return 0;
        }
        if (a == "-q" || a == "--quiet") {
            setenv("GREEN_LOG", "0", 1);
        } else if (a == "-v" || a == "--verbose") {
            setenv("GREEN_LOG", "2", 1);
        } else if (a == "--threads") {
            setenv("GREEN_THREADS", "1", 1);
        } else if (a.starts_with("--threads=")) {
            const std::string v = value("--threads");
            if (v != "auto" && (!is_count(v) || v.size() > 3 || std::stoi(v) > 256))
                fail(2, "--threads wants a number of carrier threads from 1 to 256, or auto, not '" + v + "'");
            setenv("GREEN_THREADS", v.c_str(), 1);
        } else if (a == "--check") {
            check = true;
        } else if (a.starts_with("--stack-size=")) {
            const std::string v = value("--stack-size");
            if (!is_size(v)) fail(2, "--stack-size wants a size like 131072, 256K or 1M, not '" + v + "'");
            setenv("GREEN_STACK_SIZE", v.c_str(), 1);
        } else if (a.starts_with("--monitor=")) {
            const std::string v = value("--monitor");
            if (v != "0" && !is_count(v)) fail(2, "--monitor wants a number of milliseconds, not '" + v + "'");
            setenv("GREEN_MONITOR_MS", v.c_str(), 1);
        } else if (a.starts_with("--dns=")) {
            const std::string v = value("--dns");
            if (v != "auto" && v != "ares" && v != "system") fail(2, "--dns is auto, ares or system, not '" + v + "'");
            setenv("GREEN_DNS", v.c_str(), 1);
        } else if (a.starts_with("--dns-servers=")) {
            const std::string v = value("--dns-servers");
            if (v.empty()) fail(2, "--dns-servers wants a list like 127.0.0.1:5353");
            setenv("GREEN_DNS_SERVERS", v.c_str(), 1);
        } else {
            std::fprintf(stderr, "greenrun: unknown option '%s'\n%s", argv[i], kUsage);
            return 2;
        }
    }
    if (i >= argc) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    const std::string program = argv[i];
    const std::string path = locate(program);
    if (path.empty()) fail(127, program + ": command not found");
    if (const std::string why = unsuitable(path); !why.empty()) fail(126, "refusing to run " + path + ": " + why);

    const std::string preload = preload_for_threads(find_preload());
    std::string value = preload;
    if (const char* old = std::getenv("LD_PRELOAD"); old && *old) {
        if (std::string(old).find(preload) != std::string::npos)
            value = old;  // already there
        else
            value += std::string(":") + old;
    }
    setenv("LD_PRELOAD", value.c_str(), 1);

    if (check) check_loads(path, preload);
    exec_like_execvp(path, argv + i);
    fail(126, path + ": " + std::strerror(errno));
}
