// libprobe_realthread_cxx.so: a C++ library that starts a std::thread itself.
// Under greenrun --threads with GREEN_THREADS_EXCLUDE=libprobe_realthread_cxx.so
// that thread stays a real OS thread, though the program's own std::threads,
// created through the same code in libstdc++, are green (probe_hybrid_cxx.cpp).
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

// Whether a std::thread the library starts has a kernel thread of its own.
extern "C" __attribute__((visibility("default"))) bool probe_library_thread_is_its_own() {
    bool own = false;
    std::thread t([&] { own = ::syscall(SYS_gettid) != ::getpid(); });
    t.join();
    return own;
}
