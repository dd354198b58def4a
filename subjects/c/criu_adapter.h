/* vdso-lab's adapter around one CRIU build of criu/pie/util-vdso.c (included just before this file in
 * the same generated translation unit, with VL_ADAPTER, VL_FILL and the release's per-arch symbol list
 * defined): runs vdso_fill_symtable() on the image and reports, for each symbol of the release's list,
 * the offset it filled in (VL_ABSENT where it left VDSO_BAD_ADDR), its return code and its pr_err text. */
#include <string.h>

_Static_assert(VDSO_SYMBOL_MAX <= VL_MAX_ANSWERS, "symbol list larger than struct vl_answer");

void VL_ADAPTER(const unsigned char *img, size_t len, const struct vl_query *q, uint32_t nq, struct vl_answer *out)
{
	struct vdso_symtable t = VDSO_SYMTABLE_INIT;
	ARCH_VDSO_SYMBOLS_LIST
	const char *list[VDSO_SYMBOL_MAX] = { ARCH_VDSO_SYMBOLS };
	unsigned int i;

	(void)q;
	(void)nq;
	vl_log_reset();
	memset(out, 0, sizeof(*out));
	out->ret = VL_FILL((uintptr_t)img, len, &t);
	out->n = VDSO_SYMBOL_MAX;
	for (i = 0; i < VDSO_SYMBOL_MAX; i++) {
		strncpy(out->names[i], list[i], VL_NAME_LEN - 1);
		out->offsets[i] = t.symbols[i].offset == VDSO_BAD_ADDR ? VL_ABSENT : (uint64_t)t.symbols[i].offset;
	}
	vl_log_take(out->error);
}
