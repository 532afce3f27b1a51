// Ending a green thread early: pthread_exit and cancellation unwind its stack
// the way glibc unwinds a real thread's (nptl/unwind.c), with the cleanup chain
// kept in the green thread's record instead of in the OS thread's descriptor,
// which every green thread of a carrier shares.
//
// _Unwind_ForcedUnwind runs C++ destructors and -fexceptions cleanups frame by
// frame; the stop function below longjmps into each frame that registered a
// cleanup buffer (the pthread_cleanup_push macros of C code without
// -fexceptions) as the unwinding passes it, and finally into the frame that
// started the thread. The main thread has no such frame: its unwinding runs to
// the end of its stack, and then the process waits for the other threads.
#include <setjmp.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "../real.hpp"
#include "../state.hpp"
#include "thread_state.hpp"

namespace shim::threads {
namespace {

// The stack pointer a cleanup buffer's setjmp saved, which glibc stores mangled
// with the pointer guard (PTR_MANGLE: xor with the guard, then rotate left 17).
std::uintptr_t saved_sp(const UnwindBuf& b) noexcept {
#if defined(__x86_64__)
    constexpr int kJmpBufSp = 6;  // JB_RSP
    std::uintptr_t v = static_cast<std::uintptr_t>(b.cancel_jmp_buf[0].jmp_buf[kJmpBufSp]);
    std::uintptr_t guard;
    asm("mov %%fs:0x30, %0" : "=r"(guard));
    return ((v >> 17) | (v << (64 - 17))) ^ guard;
#else
#error "green: thread patching unwinds with glibc's x86-64 jmp_buf layout; port saved_sp"
#endif
}

[[noreturn]] void finish_main_thread(GreenThread& t);

void not_rethrown(_Unwind_Reason_Code, _Unwind_Exception*) {
    static const char msg[] = "FATAL: exception not rethrown\n";
    (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
    std::abort();
}

// glibc's unwind_stop, with the chain read from the green thread's record.
_Unwind_Reason_Code stop(int, _Unwind_Action actions, _Unwind_Exception_Class, _Unwind_Exception*,
                         _Unwind_Context* context, void* parameter) {
    auto* buf = static_cast<UnwindBuf*>(parameter);
    GreenThread& t = *current();
    const auto cfa = static_cast<std::uintptr_t>(_Unwind_GetCFA(context));
    const bool end = (actions & _UA_END_OF_STACK) != 0;
    const bool jump = end || (buf && !(cfa < saved_sp(*buf)));

    // Old-style handlers (_pthread_cleanup_push) registered since `buf` whose
    // frames this step leaves.
    _pthread_cleanup_buffer* curp = t.cleanup;
    _pthread_cleanup_buffer* const oldp = buf ? buf->priv.data.cleanup : nullptr;
    while (curp && curp != oldp && (jump || cfa >= reinterpret_cast<std::uintptr_t>(curp))) {
        _pthread_cleanup_buffer* next = curp->__prev;
        curp->__routine(curp->__arg);
        curp = next;
    }
    t.cleanup = curp;

    if (!jump) return _URC_NO_REASON;
    if (!buf) finish_main_thread(t);  // the main thread's stack is unwound to its end
    longjmp(reinterpret_cast<__jmp_buf_tag*>(buf->cancel_jmp_buf), 1);
}

[[noreturn]] void unwind(GreenThread& t, UnwindBuf* from) {
    t.exception.exception_class = 0;  // not catchable as a C++ exception: nothing to describe
    t.exception.exception_cleanup = not_rethrown;
    _Unwind_ForcedUnwind(&t.exception, stop, from);
    // Only a stack the unwinder cannot read to the end returns here.
    if (t.main) finish_main_thread(t);
    std::abort();
}

}  // namespace

void act_on_cancel(GreenThread& t) {
    if (t.cancel_requested && t.cancel_enabled && !t.canceling) exit_thread(t, PTHREAD_CANCELED);
}

void exit_thread(GreenThread& t, void* result) {
    t.canceling = true;  // exiting: a cancellation no longer acts
    t.result = result;
    unwind(t, t.cleanup_jmp_buf);
}

void continue_unwind(GreenThread& t, UnwindBuf* from) { unwind(t, from); }

namespace {

void pause_briefly(GreenThread& t) {
    api::park(&t, [](void*) { return true; }, nullptr, nullptr, Deadline::after(0.02),
              "pthread_exit of a carrier thread", true);
}

[[noreturn]] void finish_main_thread(GreenThread& t) {
    // As glibc does when a thread calls pthread_exit: its key destructors run.
    run_key_destructors(t);
    if (::getpid() != ::gettid()) {
        // Another OS thread whose hub runs green threads: it carries them to their end.
        while (api::other_greenlets() > 0) pause_briefly(t);
        shim::real::pthread_exit(t.result);
    }
    // The process's initial thread: the process lives on until its last thread
    // ends, then exits with status 0.
    while (api::other_greenlets() > 0 || api::other_os_threads() > 0) pause_briefly(t);
    std::exit(0);
}

}  // namespace

}  // namespace shim::threads

using namespace shim::threads;

// Cleanup buffers of green threads (and of the main thread under thread
// patching) go on the record's chain; real threads keep glibc's.

GREEN_HOOK void __pthread_register_cancel(__pthread_unwind_buf_t* buf) {
    GreenThread* t = enabled() ? current() : nullptr;
    if (!t) return shim::real::__pthread_register_cancel(buf);
    auto* b = reinterpret_cast<UnwindBuf*>(buf);
    b->priv.data.prev = t->cleanup_jmp_buf;
    b->priv.data.cleanup = t->cleanup;
    t->cleanup_jmp_buf = b;
}

GREEN_HOOK void __pthread_unregister_cancel(__pthread_unwind_buf_t* buf) {
    GreenThread* t = enabled() ? current() : nullptr;
    if (!t) return shim::real::__pthread_unregister_cancel(buf);
    t->cleanup_jmp_buf = reinterpret_cast<UnwindBuf*>(buf)->priv.data.prev;
}

GREEN_HOOK void __pthread_register_cancel_defer(__pthread_unwind_buf_t* buf) {
    GreenThread* t = enabled() ? current() : nullptr;
    if (!t) return shim::real::__pthread_register_cancel_defer(buf);
    __pthread_register_cancel(buf);
    auto* b = reinterpret_cast<UnwindBuf*>(buf);
    b->priv.data.canceltype = t->cancel_async ? PTHREAD_CANCEL_ASYNCHRONOUS : PTHREAD_CANCEL_DEFERRED;
    t->cancel_async = false;
}

GREEN_HOOK void __pthread_unregister_cancel_restore(__pthread_unwind_buf_t* buf) {
    GreenThread* t = enabled() ? current() : nullptr;
    if (!t) return shim::real::__pthread_unregister_cancel_restore(buf);
    __pthread_unregister_cancel(buf);
    t->cancel_async = reinterpret_cast<UnwindBuf*>(buf)->priv.data.canceltype == PTHREAD_CANCEL_ASYNCHRONOUS;
}

GREEN_HOOK void __pthread_unwind_next(__pthread_unwind_buf_t* buf) {
    GreenThread* t = enabled() ? current() : nullptr;
    if (!t) {
        shim::real::__pthread_unwind_next(buf);
        __builtin_unreachable();
    }
    shim::threads::continue_unwind(*t, reinterpret_cast<UnwindBuf*>(buf)->priv.data.prev);
}

GREEN_HOOK void _pthread_cleanup_push(_pthread_cleanup_buffer* buffer, void (*routine)(void*), void* arg) {
    GreenThread* t = enabled() ? current() : nullptr;
    if (!t) return shim::real::_pthread_cleanup_push(buffer, routine, arg);
    buffer->__routine = routine;
    buffer->__arg = arg;
    buffer->__prev = t->cleanup;
    t->cleanup = buffer;
}

GREEN_HOOK void _pthread_cleanup_pop(_pthread_cleanup_buffer* buffer, int execute) {
    GreenThread* t = enabled() ? current() : nullptr;
    if (!t) return shim::real::_pthread_cleanup_pop(buffer, execute);
    t->cleanup = buffer->__prev;
    if (execute) buffer->__routine(buffer->__arg);
}

GREEN_HOOK void _pthread_cleanup_push_defer(_pthread_cleanup_buffer* buffer, void (*routine)(void*), void* arg) {
    GreenThread* t = enabled() ? current() : nullptr;
    if (!t) return shim::real::_pthread_cleanup_push_defer(buffer, routine, arg);
    _pthread_cleanup_push(buffer, routine, arg);
    buffer->__canceltype = t->cancel_async ? PTHREAD_CANCEL_ASYNCHRONOUS : PTHREAD_CANCEL_DEFERRED;
    t->cancel_async = false;
}

GREEN_HOOK void _pthread_cleanup_pop_restore(_pthread_cleanup_buffer* buffer, int execute) {
    GreenThread* t = enabled() ? current() : nullptr;
    if (!t) return shim::real::_pthread_cleanup_pop_restore(buffer, execute);
    t->cancel_async = buffer->__canceltype == PTHREAD_CANCEL_ASYNCHRONOUS;
    _pthread_cleanup_pop(buffer, execute);
}
