/* vdso-lab shim for CRIU's include/common/bug.h: only BUILD_BUG_ON is used by util-vdso.c (4.1.1). */
#ifndef VL_SHIM_BUG_H
#define VL_SHIM_BUG_H
#define BUILD_BUG_ON(c) ((void)sizeof(char[1 - 2 * !!(c)]))
#endif
