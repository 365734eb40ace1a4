; The built-in demo guest (softvt demo): starts in real mode.
bits 16
    mov ax, 1
    add ax, 2
    hlt
