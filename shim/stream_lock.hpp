// A stdio stream's lock for the whole of a hooked call that may park, as
// glibc's calls hold it, but taken through the flockfile hook: the other green
// threads of the carrier wait for it too (glibc's own lock is per OS thread,
// and would let them in). Not taken for a stream whose caller locks it
// (__fsetlocking(FSETLOCKING_BYCALLER)), nor when `take` is false.
#pragma once

#include <stdio.h>

namespace shim {

class StreamLock {
public:
    StreamLock(FILE* f, bool take) noexcept : f_(take && !(f->_flags & kUserLocks) ? f : nullptr) {
        if (f_) flockfile(f_);
    }
    ~StreamLock() {
        if (f_) funlockfile(f_);
    }
    StreamLock(const StreamLock&) = delete;
    StreamLock& operator=(const StreamLock&) = delete;

private:
    static constexpr int kUserLocks = 0x8000;  // glibc 2.36's _IO_USER_LOCK
    FILE* f_;
};

}  // namespace shim
