// Thread probe: std::threads of the program and of a library the user
// excludes (GREEN_THREADS_EXCLUDE=libprobe_realthread_cxx.so), all created by
// the same code inside libstdc++, in both orders: the library's is a real OS
// thread every time, whichever came first.
#include <cstdio>
#include <thread>

extern "C" bool probe_library_thread_is_its_own();

namespace {

int failures = 0;

void check_yes(const char* what, bool ok) {
    std::printf("%s: %s%s\n", what, ok ? "yes" : "no", ok ? "" : " (expected yes)");
    failures += !ok;
}

bool program_thread_runs() {
    bool ran = false;
    std::thread t([&] { ran = true; });
    t.join();
    return ran;
}

}  // namespace

int main() {
    check_yes("a std::thread of the program runs", program_thread_runs());
    check_yes("then one of the excluded library has a kernel thread of its own", probe_library_thread_is_its_own());
    check_yes("then one of the program runs", program_thread_runs());
    check_yes("then one of the excluded library has a kernel thread of its own", probe_library_thread_is_its_own());
    std::puts(failures ? "FAILED" : "done");
    return failures ? 1 : 0;
}
