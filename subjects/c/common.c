/* Shared support of the subject adapters: the thread-local error buffer behind the log shim, and the
 * deliberately broken stub subjects the containment tests feed to the runner. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "vl_subject.h"

static _Thread_local char vl_err[VL_ERROR_LEN];
_Thread_local struct vl_musl_libc { size_t *auxv; } vl_musl_libc;

void vl_log_err(const char *fmt, ...)
{
	va_list ap;
	if (vl_err[0])
		return; /* keep the first message: the one that explains the failure */
	va_start(ap, fmt);
	vsnprintf(vl_err, sizeof(vl_err), fmt, ap);
	va_end(ap);
	size_t n = strlen(vl_err);
	while (n && (vl_err[n - 1] == '\n'))
		vl_err[--n] = 0;
}

void vl_log_reset(void)
{
	vl_err[0] = 0;
}

void vl_log_take(char *out)
{
	memcpy(out, vl_err, VL_ERROR_LEN);
	out[VL_ERROR_LEN - 1] = 0;
}

/* Stubs for the containment tests: one dereferences a null pointer, one never returns, one answers
 * garbage (an offset past any image). Registered as "stub-*" subjects, never listed to users. */
void vl_stub_crash(const unsigned char *img, size_t len, const struct vl_query *q, uint32_t nq, struct vl_answer *out)
{
	(void)img; (void)len; (void)q; (void)nq; (void)out;
	volatile int *p = NULL;
	*p = 1;
}

void vl_stub_loop(const unsigned char *img, size_t len, const struct vl_query *q, uint32_t nq, struct vl_answer *out)
{
	(void)img; (void)len; (void)q; (void)nq; (void)out;
	volatile unsigned long spin = 0;
	for (;;)
		spin++;
}

void vl_stub_garbage(const unsigned char *img, size_t len, const struct vl_query *q, uint32_t nq, struct vl_answer *out)
{
	(void)img; (void)q; (void)nq;
	memset(out, 0, sizeof(*out));
	out->n = 1;
	strcpy(out->names[0], "__vdso_clock_gettime");
	out->offsets[0] = (uint64_t)len + 0x1000;
}
