// Everything green offers, in one include.
#pragma once

#include "green/async_result.hpp"
#include "green/channel.hpp"
#include "green/dump.hpp"
#include "green/errors.hpp"
#include "green/event.hpp"
#include "green/greenlet.hpp"
#include "green/local.hpp"
#include "green/lock.hpp"
#include "green/pool.hpp"
#include "green/queue.hpp"
#include "green/semaphore.hpp"
#include "green/sleep.hpp"
#include "green/thread_pool.hpp"
#include "green/timeout.hpp"
#include "green/wait.hpp"
