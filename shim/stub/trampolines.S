// One entry point per interposed symbol (stub_symbols.h), each a jump through
// its slot. A slot starts at the symbol's lazy entry (kept in
// green_stub_lazy_entries too), which hands the slot to
// green_stub_resolve (preload_stub.c) and jumps to what that returns; after
// that, the slot holds libc's function or the hook, and a call costs one
// indirect jump. A jump, not a call in C: every signature, variadic ones and
// functions that never return or return twice included, passes through as it is.
#include "stub_symbols.h"

#if !defined(__x86_64__)
#error "the preload stub is x86-64 only: other machines preload libgreen_hooks.so itself (shim/meson.build)"
#endif

        .section .data.rel.ro.green_stub_lazy_entries, "aw"
        .balign 8
        .globl green_stub_lazy_entries
        .hidden green_stub_lazy_entries
green_stub_lazy_entries:

        .section .data.rel.local.green_stub_slots, "aw"
        .balign 8
        .globl green_stub_slots
        .hidden green_stub_slots
green_stub_slots:

#define GREEN_STUB_ENTRY(name, when)                        \
        .text;                                              \
        .globl name;                                        \
        .type name, @function;                              \
name:   jmp *green_stub_slot_##name(%rip);                  \
        .size name, . - name;                               \
green_stub_lazy_##name:                                     \
        leaq green_stub_slot_##name(%rip), %r11;            \
        jmp green_stub_lazy;                                \
        .section .data.rel.ro.green_stub_lazy_entries, "aw"; \
        .quad green_stub_lazy_##name;                       \
        .section .data.rel.local.green_stub_slots, "aw";    \
green_stub_slot_##name:                                     \
        .quad green_stub_lazy_##name;

GREEN_STUB_SYMBOLS(GREEN_STUB_ENTRY)

// %r11: the slot. Keeps every register a call may pass arguments in (and %al,
// the vector register count of a variadic call) across the C resolver.
        .text
        .type green_stub_lazy, @function
green_stub_lazy:
        .cfi_startproc
        pushq %rbp
        .cfi_def_cfa_offset 16
        .cfi_offset %rbp, -16
        movq %rsp, %rbp
        .cfi_def_cfa_register %rbp
        andq $-16, %rsp
        pushq %rdi
        pushq %rsi
        pushq %rdx
        pushq %rcx
        pushq %r8
        pushq %r9
        pushq %rax
        pushq %r10
        subq $128, %rsp
        movdqa %xmm0, 0(%rsp)
        movdqa %xmm1, 16(%rsp)
        movdqa %xmm2, 32(%rsp)
        movdqa %xmm3, 48(%rsp)
        movdqa %xmm4, 64(%rsp)
        movdqa %xmm5, 80(%rsp)
        movdqa %xmm6, 96(%rsp)
        movdqa %xmm7, 112(%rsp)
        movq %r11, %rdi
        call green_stub_resolve
        movq %rax, %r11
        movdqa 0(%rsp), %xmm0
        movdqa 16(%rsp), %xmm1
        movdqa 32(%rsp), %xmm2
        movdqa 48(%rsp), %xmm3
        movdqa 64(%rsp), %xmm4
        movdqa 80(%rsp), %xmm5
        movdqa 96(%rsp), %xmm6
        movdqa 112(%rsp), %xmm7
        addq $128, %rsp
        popq %r10
        popq %rax
        popq %r9
        popq %r8
        popq %rcx
        popq %rdx
        popq %rsi
        popq %rdi
        movq %rbp, %rsp
        popq %rbp
        .cfi_def_cfa %rsp, 8
        jmp *%r11
        .cfi_endproc
        .size green_stub_lazy, . - green_stub_lazy

        .section .note.GNU-stack, "", @progbits
