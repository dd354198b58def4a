/* vdso-lab's adapter around musl's src/internal/vdso.c (included just before this file, its
 * __vdsosym renamed to VL_LOOKUP): points musl's libc.auxv at a vector whose AT_SYSINFO_EHDR is the
 * image under test and asks __vdsosym(version, name) for each query, as musl's clock_gettime does for
 * its own VDSO_*_SYM names. The answer is musl's pointer minus the image start (VL_ABSENT for NULL). */
#include <string.h>

void VL_ADAPTER(const unsigned char *img, size_t len, const struct vl_query *q, uint32_t nq, struct vl_answer *out)
{
	size_t auxv[4] = { AT_SYSINFO_EHDR, (size_t)img, 0, 0 };
	uint32_t i;

	(void)len; /* musl trusts the kernel's image: it never sees a length */
	vl_log_reset();
	memset(out, 0, sizeof(*out));
	libc.auxv = auxv;
	if (nq > VL_MAX_ANSWERS)
		nq = VL_MAX_ANSWERS;
	for (i = 0; i < nq; i++) {
		void *p = VL_LOOKUP(q[i].version, q[i].name);
		strncpy(out->names[i], q[i].name, VL_NAME_LEN - 1);
		out->offsets[i] = p ? (uint64_t)((uintptr_t)p - (uintptr_t)img) : VL_ABSENT;
	}
	out->n = nq;
	libc.auxv = 0;
}
