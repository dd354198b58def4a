/*
 * A stand-in for libnftables.so.1 inside the guests of `vdso-lab kernels --criu` (src/migration.rs).
 *
 * nf_tables is a module in Debian's cloud kernels and the guests load no modules. The real library
 * exit()s the process when its netlink socket cannot be opened (libnftables mnl.c:60), which kills
 * CRIU's feature probe child and with it every `criu dump` and `criu restore` (CRIU 4.2.1
 * criu/kerndat.c:1631-1646). Here every command fails, which CRIU reads as "this kernel has no
 * nftables" (criu/kerndat.c:1608-1612). The victim has no sockets, so CRIU needs nftables for nothing
 * else. The version node LIBNFTABLES_1 is the one CRIU links against (`nm -D criu`).
 */
#include <stdio.h>

void *nft_ctx_new(unsigned int flags)
{
	static int ctx;
	(void)flags;
	return &ctx;
}
void nft_ctx_free(void *ctx) { (void)ctx; }
int nft_run_cmd_from_buffer(void *ctx, const char *buf)
{
	(void)ctx;
	(void)buf;
	return -1;
}
int nft_ctx_buffer_output(void *ctx) { (void)ctx; return 0; }
int nft_ctx_buffer_error(void *ctx) { (void)ctx; return 0; }
const char *nft_ctx_get_error_buffer(void *ctx)
{
	(void)ctx;
	return "nftables is not available in this guest";
}
FILE *nft_ctx_set_output(void *ctx, FILE *f) { (void)ctx; return f; }
FILE *nft_ctx_set_error(void *ctx, FILE *f) { (void)ctx; return f; }
