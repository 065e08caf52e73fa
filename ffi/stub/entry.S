    .file "entry.S"
/* The stub's assembly entry points (see stub.c). */
    .text

    .globl _start
_start:
    mov %rsp, %rdi              /* exec-time stack: argc, argv, envp, auxv */
    lea stub_boot_stack_top(%rip), %rsp
    and $-16, %rsp
    call stub_main
    ud2

    .globl stub_restorer
stub_restorer:
    mov $15, %eax               /* rt_sigreturn */
    syscall
    ud2

/* void stub_fast_return(uint64_t *area, void *xsave): back to guest code without
 * rt_sigreturn, which alone costs about 1 us here. area (in the slot's control part, off
 * the signal stack) holds r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi, an iretq
 * frame (rip cs rflags rsp ss) and a zero word. Precondition: every signal is blocked, the
 * values were checked by fast_return() in stub.c. Once rsp leaves the signal stack, signals
 * are unblocked: one arriving now gets a fresh frame on that stack, and the handler takes a
 * kick here for a kick of the guest, whose registers are still whole in the area. */
    .globl stub_fast_return
stub_fast_return:
    mov %rdi, %rsp
    mov $-1, %eax
    mov $-1, %edx
    xrstor (%rsi)               /* the guest's FPU, SSE and AVX state, from its signal frame */
    mov $14, %eax               /* rt_sigprocmask(SIG_SETMASK, &zero, NULL, 8) */
    mov $2, %edi
    lea 160(%rsp), %rsi
    xor %edx, %edx
    mov $8, %r10d
    syscall
    mov 0(%rsp), %r15
    mov 8(%rsp), %r14
    mov 16(%rsp), %r13
    mov 24(%rsp), %r12
    mov 32(%rsp), %rbp
    mov 40(%rsp), %rbx
    mov 48(%rsp), %r11
    mov 56(%rsp), %r10
    mov 64(%rsp), %r9
    mov 72(%rsp), %r8
    mov 80(%rsp), %rax
    mov 88(%rsp), %rcx
    mov 96(%rsp), %rdx
    mov 104(%rsp), %rsi
    mov 112(%rsp), %rdi
    add $120, %rsp
    iretq
    .globl stub_fast_return_end
stub_fast_return_end:

/* A new thread traps here once so that the kernel builds it a signal frame. */
    .globl stub_ready_trap
stub_ready_trap:
    ud2
    ret

/* Ptrace mode injects syscalls here: the tracer sets the registers, continues, and the
 * int3 stops the thread right after the syscall. */
    .globl stub_syscall_insn
stub_syscall_insn:
    syscall
    int3
    ud2

/* long stub_clone_thread(flags, stack, idx): the child runs stub_thread_entry(idx) on the
 * new stack. */
    .globl stub_clone_thread
stub_clone_thread:
    mov %edx, %r9d
    mov $56, %eax               /* clone(flags, stack, NULL, NULL, 0) */
    xor %edx, %edx
    xor %r10d, %r10d
    xor %r8d, %r8d
    syscall
    test %rax, %rax
    jnz 1f
    mov %r9d, %edi
    and $-16, %rsp
    call stub_thread_entry
    ud2
1:  ret

/* void stub_exit_thread(uint32_t *state): marks the slot dead, then exits without touching
 * the stack again, so the sentry may reuse the slot at once. */
    .globl stub_exit_thread
stub_exit_thread:
    movl $3, (%rdi)             /* SB_DEAD */
    mov $60, %eax
    xor %edi, %edi
    syscall
    ud2

    .bss
    .balign 16
stub_boot_stack:
    .skip 32768
    .globl stub_boot_stack_top
stub_boot_stack_top:

    .section .note.GNU-stack,"",@progbits
