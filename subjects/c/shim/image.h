/* vdso-lab shim for CRIU's criu/include/image.h: util-vdso.c needs nothing from it. */
