// Linked-in mode: libcurl's plain blocking easy API inside greenlets. Linking
// green's interposition library (green-preload) makes libcurl's poll, connect,
// send and recv cooperative, so COUNT fetches run at once on one OS thread.
// Usage: curl_fetch URL [COUNT]   (default 100)
#include <curl/curl.h>
#include <green/green.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

std::size_t collect(char* data, std::size_t size, std::size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
}

// One ordinary, blocking libcurl fetch; returns the body size or throws.
std::size_t fetch(const std::string& url) {
    CURL* curl = curl_easy_init();
    if (!curl) throw std::runtime_error("curl_easy_init failed");
    std::string body;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    const CURLcode rc = curl_easy_perform(curl);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) throw std::runtime_error(url + ": " + curl_easy_strerror(rc));
    return body.size();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: curl_fetch URL [COUNT]\n");
        return 2;
    }
    const std::string url = argv[1];
    const int count = argc > 2 ? std::atoi(argv[2]) : 100;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const auto start = std::chrono::steady_clock::now();
    std::vector<green::Greenlet<std::size_t>> fetches;
    for (int i = 0; i < count; ++i) fetches.push_back(green::spawn(fetch, url));
    green::joinall(fetches);
    std::size_t bytes = 0;
    int failed = 0;
    for (auto& f : fetches) {
        if (f.successful())
            bytes += f.get();
        else
            ++failed;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%d fetches, %zu bytes, %d failed, in %.3f s\n", count, bytes, failed, seconds);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
