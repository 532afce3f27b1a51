// A crawler that follows links on a site, at most N fetches at a time (a Pool).
// Usage: crawler START_URL [CONCURRENCY] [MAX_PAGES]   (default 4, 100)
// It stays on START_URL's host and prints each page it fetched with its size.
#include <green/green.hpp>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <set>
#include <string>

#include "http_get.hpp"

namespace {

// Absolute links to `base` found in href="..." attributes of `html`.
std::set<std::string> links(const std::string& html, const std::string& base) {
    std::set<std::string> out;
    for (std::size_t at = 0; (at = html.find("href=\"", at)) != std::string::npos;) {
        at += 6;
        const auto end = html.find('"', at);
        if (end == std::string::npos) break;
        std::string target = html.substr(at, end - at);
        if (target.rfind("http://", 0) == 0) {
            if (target.rfind(base, 0) == 0) out.insert(target);
        } else if (!target.empty() && target[0] == '/') {
            out.insert(base + target);
        }
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: crawler START_URL [CONCURRENCY] [MAX_PAGES]\n");
        return 2;
    }
    const std::string start = argv[1];
    const int concurrency = argc > 2 ? std::atoi(argv[2]) : 4;
    const std::size_t max_pages = argc > 3 ? static_cast<std::size_t>(std::atoi(argv[3])) : 100;
    const example::Url u = example::parse_url(start);
    const std::string base = "http://" + u.host + ":" + std::to_string(u.port);

    // Crawlers only queue the links they find; one dispatcher takes them from the
    // queue and waits for a free Pool slot. (Crawlers that spawned into the pool
    // themselves could fill every slot while waiting for one.)
    green::Pool pool(static_cast<std::size_t>(concurrency > 0 ? concurrency : 1));
    green::JoinableQueue<std::string> to_visit;
    std::set<std::string> seen{start};
    int failures = 0;
    auto crawl = [&](const std::string& url) {
        try {
            const std::string page = example::http_get(url);
            std::printf("%6zu bytes %s\n", page.size(), url.c_str());
            for (const std::string& next : links(page, base))
                if (seen.size() < max_pages && seen.insert(next).second) to_visit.put(next);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "%s: %s\n", url.c_str(), e.what());
            ++failures;
        }
        to_visit.task_done();
    };
    auto dispatcher = green::spawn([&] {
        for (const std::string& url : to_visit) pool.spawn(crawl, url);
    });
    to_visit.put(start);
    to_visit.join();  // every queued page has been crawled
    to_visit.close();
    dispatcher.join();
    pool.join();
    std::printf("crawled %zu pages, %d failed\n", seen.size(), failures);
    return failures ? 1 : 0;
}
