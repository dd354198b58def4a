# One row of the README table "The cross-kernel matrix over corpus/real" from `vdso-lab matrix --json`:
# remap (with or without findings), proxy clean, proxy with findings, refused, then the pairs whose worst
# stale entry reads the data pages / is unknown / is harmless (self-contained).
#   vdso-lab matrix corpus/real --policy P --json | jq -r -f docs/matrix-table.jq
def worst: [.findings[] | select(.kind == "stale_entry") | {reads_data_pages: 3, unknown: 2, self_contained: 1}[.consequence]] | max // 0;
[.arches[].cells[]] as $c | def n(f): [$c[] | select(f)] | length;
[n(.outcome | startswith("remap")), n(.outcome == "proxy_clean"), n(.outcome == "proxy_with_findings"), n(.outcome == "refused"), n(worst == 3), n(worst == 2), n(worst == 1)] | @tsv
