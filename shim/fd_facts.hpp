// What the shim remembers about a descriptor between calls, so that a call
// that has to wait need not ask the kernel every time: what kind of file it
// is, whether the program made it non-blocking, and whether it has socket
// timeouts (their values are read when there are some).
//
// Facts are forgotten when the program closes or replaces the descriptor
// (close, close_range, dup2, dup3, fclose), and when the program changes its
// flags or timeouts (fcntl F_SETFL, ioctl FIONBIO, setsockopt SO_RCVTIMEO /
// SO_SNDTIMEO): only its own if it is alone (made by socket, accept or pipe
// here and never duplicated), else every descriptor's, as the change may be
// seen through another that shares its open file description. Lock-free and
// async-signal-safe. Not seen: another process changing O_NONBLOCK on an open
// file description it shares with this one (after fork): see SYMBOLS.md.
#pragma once

#include <cstddef>
#include <cstdint>

namespace shim::fd_facts {

enum class Kind : std::uint8_t {
    socket,
    pollable,  // a pipe, FIFO, terminal, character device, eventfd, signalfd, timerfd
    disk,      // a regular file, a block device, a directory: never waited for
    closed,    // not an open descriptor
};

struct Facts {
    Kind kind;
    bool nonblocking;
    bool receive_timeout;  // SO_RCVTIMEO is set
    bool send_timeout;     // SO_SNDTIMEO is set
    bool datagrams;        // a socket that keeps message boundaries (SOCK_DGRAM, SOCK_SEQPACKET)
    bool drained;          // the last read took less than it asked for (see set_drained)
};

// The facts of `fd`, asking the kernel (fstat, fcntl, getsockopt) only when
// they are not remembered.
Facts of(int fd) noexcept;

// Remembers whether a read of `fd` just emptied its buffer (took less than it
// asked for). In request/response traffic the next read would then only say
// EAGAIN, so a hook waits for readiness before it tries. A hint: the kernel's
// readiness decides, and epoll reports data already there at once.
void set_drained(int fd, bool drained) noexcept;

void forget(int fd) noexcept;
void forget_range(unsigned first, unsigned last) noexcept;
// `fd` is a new open file description that no other descriptor shares (a new
// socket, an accepted connection, a pipe's end).
void mark_alone(int fd) noexcept;
// `copy` was made for `fd`'s open file description (dup, dup2, dup3,
// F_DUPFD): `fd` is no longer alone, and what was known of `copy`'s number
// is forgotten.
void copied(int fd, int copy) noexcept;
// The program changed the flags or timeouts of `fd` (after the change).
void flags_changed(int fd) noexcept;
// The program received these descriptors (SCM_RIGHTS, pidfd_getfd), or some
// it cannot say (n == 0: a raw recvmsg, an io_uring).
void received(const int* fds, std::size_t n) noexcept;
// The program made system call `number` through syscall(), which returned
// `result`: what it did to descriptors (closed, copied, received, changed
// flags or timeouts) is noted as the libc calls' hooks note it.
void after_system_call(long number, const long args[6], long result) noexcept;

}  // namespace shim::fd_facts
