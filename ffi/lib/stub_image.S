/* The stub executable, embedded in libsandbox.so as bytes (see platform.c). */
    .section .rodata
    .globl sb_stub_image, sb_stub_image_end
    .balign 16
sb_stub_image:
    .incbin STUB_PATH
sb_stub_image_end:
    .section .note.GNU-stack,"",@progbits
