/* vdso-lab shim for musl's src/internal/syscall.h: vdso.c needs nothing from it. */
