# Pairs per architecture and finding, from `vdso-lab matrix --json` (the counts the README quotes
# under "The cross-kernel matrix over corpus/real"): a stale entry as "stale <symbol> <class>", any
# other finding as "<kind> <severity>"; each counted once per pair.
#   vdso-lab matrix corpus/real --policy P --json | jq -r -f docs/matrix-findings.jq
[.arches[] | .arch as $a | .cells[]
 | [.findings[] | if .kind == "stale_entry" then "stale \(.symbol | split("@")[0]) \(.consequence)"
                  else "\(.kind) \(.severity)" end]
 | unique[] | "\($a)\t\(.)"]
| group_by(.) | map("\(length)\t\(.[0])")[]
