# Sourced by the ci/fetch-*.sh scripts: a private apt configuration in one folder, so that package
# downloads never touch the machine's own apt sources, state or dpkg architectures.
#
# private_apt DIR SOURCES_LIST [EXTRA_CONF_LINES]: writes DIR/sources.list (the given text) and
# DIR/apt.conf (state, cache and lists under DIR), creates its folders, and exports APT_CONFIG.
private_apt() {
    local apt=$1 sources=$2 extra=${3:-}
    mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$apt/etc/apt.conf.d" "$apt/etc/preferences.d"
    printf '%s\n' "$sources" > "$apt/sources.list"
    cat > "$apt/apt.conf" <<CONF
Dir::State "$apt";
Dir::State::Lists "$apt/lists";
Dir::State::status "/dev/null";
Dir::Cache "$apt";
Dir::Cache::archives "$apt/archives";
Dir::Etc::SourceList "$apt/sources.list";
Dir::Etc::SourceParts "$apt/nonexistent";
Dir::Etc::Parts "$apt/etc/apt.conf.d";
Dir::Etc::PreferencesParts "$apt/etc/preferences.d";
Acquire::Languages "none";
Acquire::Check-Valid-Until "false";
$extra
CONF
    export APT_CONFIG=$apt/apt.conf
}
