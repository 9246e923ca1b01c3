# Sourced by scripts/test.sh and scripts/test-sanitizers.sh: `stage NAME` ends the stage before
# (printing how long it took) and starts the next; at exit the outermost script prints every
# stage's duration, so that a CI log shows where its minutes went.
stage_name=
stage_started=0
if [ -z "${LIGHTSCOPE_STAGE_LOG:-}" ]; then
    LIGHTSCOPE_STAGE_LOG=$(mktemp /tmp/lightscope-stages.XXXXXX)
    export LIGHTSCOPE_STAGE_LOG
    stage_owner=1
else
    stage_owner=
fi

stage_end() {
    [ -n "$stage_name" ] || return 0
    local took=$((SECONDS - stage_started))
    printf '== %s: %dm%02ds\n' "$stage_name" $((took / 60)) $((took % 60))
    printf '%s\t%d\n' "$stage_name" "$took" >>"$LIGHTSCOPE_STAGE_LOG"
    stage_name=
}

stage() {
    stage_end
    stage_name=$1
    stage_started=$SECONDS
    echo "== $1"
}

stages_summary() {
    local status=$?
    stage_end
    if [ -n "$stage_owner" ]; then
        echo "== stage durations (exit status $status)"
        awk -F'\t' '{ total += $2; printf "   %-40s %3dm%02ds\n", $1, $2 / 60, $2 % 60 }
                    END { printf "   %-40s %3dm%02ds\n", "total", total / 60, total % 60 }' "$LIGHTSCOPE_STAGE_LOG"
        rm -f "$LIGHTSCOPE_STAGE_LOG"
    fi
    return $status
}
trap stages_summary EXIT
