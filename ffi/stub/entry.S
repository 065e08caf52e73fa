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
