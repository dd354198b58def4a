/* The one calling convention of every subject adapter (vdso-lab's own code, not a third party's).
 * Mirrored by `#[repr(C)]` types in src/live/subjects.rs; keep the two in step. */
#ifndef VL_SUBJECT_H
#define VL_SUBJECT_H
#include <stddef.h>
#include <stdint.h>

#define VL_MAX_ANSWERS 32
#define VL_NAME_LEN 40
#define VL_ERROR_LEN 200
#define VL_ABSENT UINT64_MAX

/* One name-based question (musl): the symbol and its version ("" when unversioned). */
struct vl_query {
	const char *name;
	const char *version;
};

/* What a subject answered. `ret` is the subject's own return code (CRIU: 0 or -errno; musl has none: 0).
 * Entry i is the i-th symbol of the subject's own list (CRIU) or the i-th query (musl). */
struct vl_answer {
	int32_t ret;
	uint32_t n;
	char names[VL_MAX_ANSWERS][VL_NAME_LEN];
	uint64_t offsets[VL_MAX_ANSWERS];
	char error[VL_ERROR_LEN];
};

typedef void (*vl_subject_fn)(const unsigned char *img, size_t len, const struct vl_query *q, uint32_t nq,
			      struct vl_answer *out);

/* One compiled variant: subject (e.g. "criu-4.2.1"), the arch whose symbol list it carries ("x86"),
 * its ELF class (32 or 64). The registry is a table ending with a null `subject`. */
struct vl_entry {
	const char *subject;
	const char *arch;
	uint32_t class_bits;
	vl_subject_fn run;
};

void vl_log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vl_log_reset(void);
void vl_log_take(char *out);
#endif
