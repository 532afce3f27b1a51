// A program whose static objects make hooked calls from their constructor and
// destructor, and which links a library (probe_ctor_lib.c) that does the same
// from its own constructor and destructor.
#include <cstdio>
#include <cstdlib>

extern "C" void probe_exercise(const char* who);

namespace {

struct Exercised {
    const char* name;
    explicit Exercised(const char* n) : name(n) { probe_exercise("static constructor"); }
    ~Exercised() { probe_exercise(name); }
};

Exercised global("static destructor");

}  // namespace

int main() {
    std::atexit([] { probe_exercise("atexit handler"); });
    static Exercised local("function-static destructor");
    probe_exercise("main");
    return 0;
}
