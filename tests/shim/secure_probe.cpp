// Says what green took from its environment: run by secure_env_test.cpp, once
// as a plain program and once privileged (setuid root, or with a file
// capability) by an unprivileged user. It links the shim, which says it is
// active under GREEN_LOG=2.
#include <green/dns.hpp>
#include <green/thread_pool.hpp>

#include <cstdio>

int main() {
    std::printf("threadpool %zu\n", green::default_thread_pool().maxsize());
    try {
        const auto found = green::dns::getaddrinfo("localhost", {}, {.family = AF_INET});
        std::printf("localhost %s\n", found.at(0).address.host().c_str());
    } catch (const green::dns::Error& e) {
        std::printf("localhost: %s\n", e.what());
    }
}
