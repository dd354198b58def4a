/* vdso-lab shim for CRIU's criu/arch/<arch>/include/asm/vdso.h. The per-arch symbol list
 * (VDSO_SYMBOL_MAX, ARCH_VDSO_SYMBOLS_LIST, ARCH_VDSO_SYMBOLS) is copied verbatim from the release's
 * own arch header by subjects/build.rs into each generated translation unit, before this is included.
 * The constants below are those of CRIU's include/common/asm-generic/vdso.h (same in 4.1.1 and 4.2.1). */
#ifndef VL_SHIM_ASM_VDSO_H
#define VL_SHIM_ASM_VDSO_H
#define VDSO_BAD_ADDR (-1ul)
#define VVAR_BAD_ADDR (-1ul)
#define VDSO_BAD_SIZE (-1ul)
#define VVAR_BAD_SIZE (-1ul)
#endif
