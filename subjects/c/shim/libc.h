/* vdso-lab shim for musl's src/internal/libc.h: vdso.c reads only libc.auxv, to find AT_SYSINFO_EHDR.
 * The adapter points it (per thread) at a four-word auxiliary vector naming the image under test. */
#ifndef VL_SHIM_LIBC_H
#define VL_SHIM_LIBC_H
#include <stddef.h>
struct vl_musl_libc {
	size_t *auxv;
};
extern _Thread_local struct vl_musl_libc vl_musl_libc;
#define libc vl_musl_libc
#endif
