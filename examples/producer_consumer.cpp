// Producers and consumers around a bounded JoinableQueue: producers wait while
// it is full, consumers while it is empty, and join() waits until every item has
// been processed.
// Usage: producer_consumer [ITEMS] [PRODUCERS] [CONSUMERS]   (default 20, 2, 3)
#include <green/green.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace std::chrono_literals;

int main(int argc, char** argv) {
    const int items = argc > 1 ? std::atoi(argv[1]) : 20;
    const int producers = argc > 2 ? std::atoi(argv[2]) : 2;
    const int consumers = argc > 3 ? std::atoi(argv[3]) : 3;
    if (items < 0 || producers < 1 || consumers < 1) {
        std::fprintf(stderr, "usage: producer_consumer [ITEMS] [PRODUCERS] [CONSUMERS]\n");
        return 2;
    }
    green::JoinableQueue<int> queue(4);
    std::vector<green::Greenlet<void>> workers;
    int processed = 0;
    for (int c = 0; c < consumers; ++c)
        workers.push_back(green::spawn([&, c] {
            for (int item : queue) {  // until the queue is closed and drained
                green::sleep(2ms);    // work
                std::printf("consumer %d processed item %d\n", c, item);
                ++processed;
                queue.task_done();
            }
        }));
    std::vector<green::Greenlet<void>> makers;
    for (int p = 0; p < producers; ++p)
        makers.push_back(green::spawn([&, p] {
            for (int i = p; i < items; i += producers) queue.put(i);  // waits while full
        }));
    green::joinall(makers);
    queue.join();  // every item put has been processed
    queue.close();
    green::joinall(workers);
    std::printf("%d items processed by %d consumers\n", processed, consumers);
    return processed == items ? 0 : 1;
}
