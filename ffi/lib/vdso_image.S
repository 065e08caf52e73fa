/* The vDSO (ffi/vdso), embedded in libsandbox.so as bytes (see clock.c). */
    .section .rodata
    .globl sb_vdso_image, sb_vdso_image_end
    .balign 16
sb_vdso_image:
    .incbin VDSO_PATH
sb_vdso_image_end:
    .section .note.GNU-stack,"",@progbits
