// Channel<T>: a rendezvous queue (gevent.queue.Channel, Go's unbuffered channel).
// put() waits until a getter has taken the item; get() waits for a putter.
#pragma once

#include <deque>

#include "green/detail/basic_queue.hpp"
#include "green/queue.hpp"

namespace green {

template <class T>
class Channel : public detail::BasicQueue<T, detail::FifoStorage<T>> {
public:
    Channel() : detail::BasicQueue<T, detail::FifoStorage<T>>(0) {}
};

}  // namespace green
