// The yardstick for benches/parse.rs: a hand-written C walker over the live vDSO (ELF64 little-endian
// only, no validation), doing the same extraction as the Rust benchmark: locate the tables, then for
// every dynamic symbol its name (with its length), its version name, value and size. It prints
// "C walker: N ns/walk"; benches/parse.rs compiles it with the system C compiler and runs it in the same
// benchmark run. Written for this project; no code taken from elsewhere.
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdint.h>
#include <sys/auxv.h>
static uint64_t walk(const uint8_t *b, size_t len) {
  const Elf64_Ehdr *eh = (const void *)b;
  if (len < sizeof *eh || memcmp(b, ELFMAG, 4)) return 0;
  const Elf64_Phdr *ph = (const void *)(b + eh->e_phoff);
  const Elf64_Dyn *dyn = 0; uint64_t bias = 0; int found = 0;
  for (int i = 0; i < eh->e_phnum; i++) {
    if (ph[i].p_type == PT_LOAD && !found) { bias = ph[i].p_vaddr - ph[i].p_offset; found = 1; }
    else if (ph[i].p_type == PT_DYNAMIC) dyn = (const void *)(b + ph[i].p_offset);
  }
  if (!dyn) return 0;
  const Elf64_Sym *sym = 0; const char *str = 0; const uint32_t *hash = 0; const uint16_t *versym = 0; const Elf64_Verdef *verdef = 0;
  for (; dyn->d_tag != DT_NULL; dyn++) {
    const uint8_t *p = b + (dyn->d_un.d_ptr - bias);
    switch (dyn->d_tag) {
      case DT_SYMTAB: sym = (const void *)p; break;
      case DT_STRTAB: str = (const void *)p; break;
      case DT_HASH: hash = (const void *)p; break;
      case DT_VERSYM: versym = (const void *)p; break;
      case DT_VERDEF: verdef = (const void *)p; break;
    }
  }
  if (!sym || !str || !hash) return 0;
  uint32_t n = hash[1]; uint64_t acc = 0;
  for (uint32_t i = 1; i < n; i++) {
    const char *name = str + sym[i].st_name;
    size_t nl = strlen(name);
    size_t vl = 0;
    if (versym) {
      uint16_t v = versym[i] & 0x7fff;
      const Elf64_Verdef *d = verdef;
      while (d) {
        if (d->vd_ndx == v) { const Elf64_Verdaux *a = (const void *)((const char *)d + d->vd_aux); vl = strlen(str + a->vda_name); break; }
        if (!d->vd_next) break;
        d = (const void *)((const char *)d + d->vd_next);
      }
    }
    acc += sym[i].st_value ^ sym[i].st_size ^ nl ^ vl;
  }
  return acc;
}
int main(int argc, char **argv) {
  const uint8_t *b = (const void *)getauxval(AT_SYSINFO_EHDR);
  size_t len = 8192; long n = argc > 1 ? atol(argv[1]) : 10000000;
  volatile uint64_t sink = 0; struct timespec t0, t1;
  for (int r = 0; r < 5; r++) {
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++) { __asm__ volatile("" : "+r"(b)); sink += walk(b, len); }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("C walker: %.1f ns/walk (acc %llu)\n", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n, (unsigned long long)sink);
  }
}
