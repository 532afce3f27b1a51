// vfork for a program under greenrun: glibc's, with the shim's plain depth
// (state.hpp) raised and vfork_child set in the child. A vfork child runs in
// its parent's memory, on its thread's own thread-local storage, until it
// execs or exits; the hooks it calls (CPython's child: pthread_sigmask,
// sigaction, close_range, dup2) would change the parent's state: a green
// thread's signal mask and what the kernel was last told of it, the parent's
// waits on descriptors (a thread waiting in read() woken with EBADF), its
// record of the program's signal handlers. With the depth raised they make
// the plain calls, as inside a signal handler. The parent, which the kernel
// resumes only once the child has execed or exited, clears both again.
//
// As in glibc's: the return address waits in %rdi, which the system call
// keeps, not on the stack the child shares and overwrites when it returns.
#if defined(__x86_64__)
        .text
        .globl vfork
        .type vfork, @function
vfork:
        .cfi_startproc
        popq %rdi
        .cfi_adjust_cfa_offset -8
        .cfi_register %rip, %rdi
        movq _ZN4shim5state11plain_depthE@gottpoff(%rip), %rsi
        movq _ZN4shim5state11vfork_childE@gottpoff(%rip), %rdx
        addl $1, %fs:(%rsi)
        movb $1, %fs:(%rdx)
        movl $58, %eax                  // SYS_vfork
        syscall
        testl %eax, %eax
        jz 1f                           // the child: both stay
        subl $1, %fs:(%rsi)
        movb $0, %fs:(%rdx)
1:      pushq %rdi
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %rip, 0
        cmpl $-4095, %eax
        jae 2f
        ret
2:      negl %eax
        movl %eax, %edi
        jmp green_vfork_failed          // sets errno, returns -1
        .cfi_endproc
        .size vfork, . - vfork
#endif
        .section .note.GNU-stack, "", @progbits
