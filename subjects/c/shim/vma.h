/* vdso-lab shim for CRIU's criu/include/vma.h: util-vdso.c needs nothing from it. */
