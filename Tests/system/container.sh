# Sourced by Tests/system/run.sh: a throw-away container running a real systemd
# (Debian 12's v252), booted from the host's own root through a tmpfs overlay.
# Adapted from the shared real-systemd recipe; nothing the container does reaches
# the host's disk, and it has its own network namespace (--private-network).
#
# Needs (as root): systemd-container. PID 1 of the host need not be systemd.
# Settings: CT_NAME (machine name), CT_STATE (host dir; CT_STATE/share is /share inside).

CT_NAME=${CT_NAME:-lspkg$$}
CT_STATE=${CT_STATE:-/var/lib/lightscope-systest/$CT_NAME}

# ct_up [kernel-cmdline-args...]: boot it and wait until systemd has finished booting.
ct_up() {
    mkdir -p "$CT_STATE/share"
    # A dedicated cgroup (hybrid/v1 host): nspawn --keep-unit creates supervisor/ and payload/ below it.
    local cg="" h
    for h in systemd unified; do
        if [ -d /sys/fs/cgroup/$h ]; then
            mkdir -p "/sys/fs/cgroup/$h/nspawn-$CT_NAME"
            cg="$cg /sys/fs/cgroup/$h/nspawn-$CT_NAME"
        fi
    done
    # A private mount namespace: the tmpfs /run and the bind of / vanish when nspawn exits.
    # --volatile=overlay: the host root read-only below, a tmpfs on top.
    # Never --ephemeral on the host root: it would copy the whole tree.
    setsid unshare --mount --propagation private -- /bin/sh -c "
      for c in $cg; do echo \$\$ > \$c/cgroup.procs; done
      mount -n -t tmpfs -o mode=755 ${CT_NAME}-run /run
      mkdir /run/rootfs && mount -n --bind / /run/rootfs
      exec systemd-nspawn -D /run/rootfs --volatile=overlay --register=no --keep-unit -M $CT_NAME \
           --private-network --bind=$CT_STATE/share:/share --console=read-only -b $*
    " > "$CT_STATE/console.log" 2>&1 < /dev/null &
    echo $! > "$CT_STATE/nspawn.pid"
    local i leader state
    for i in $(seq 1 300); do
        state=""
        leader=$(ps --ppid "$(cat "$CT_STATE/nspawn.pid")" -o pid= 2>/dev/null | tr -d ' ' || true)
        if [ -n "$leader" ]; then
            state=$(nsenter -t "$leader" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
                    systemctl is-system-running --wait 2>/dev/null || true)
            case $state in
                ""|offline|starting|initializing) ;;
                *) echo "$leader" > "$CT_STATE/leader.pid"
                   echo "container $CT_NAME up: leader pid $leader, state $state"
                   return 0 ;;
            esac
        fi
        if ! kill -0 "$(cat "$CT_STATE/nspawn.pid")" 2>/dev/null; then
            echo "systemd-nspawn died:"; cat "$CT_STATE/console.log"; return 1
        fi
        sleep 0.2
    done
    echo "timeout waiting for container $CT_NAME"; return 1
}

# The environment of every command run inside: a clean one, as a root login's, without pager or colours.
CT_ENV=(PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb LANG=C.UTF-8 SYSTEMD_PAGER= SYSTEMD_COLORS=0)

# ct_exec CMD...: run a command inside (all of the container's namespaces), with a clean environment.
ct_exec() {
    nsenter -t "$(cat "$CT_STATE/leader.pid")" -a -- env -i "${CT_ENV[@]}" "$@"
}

# ct_down: power it off (nspawn turns SIGTERM into an orderly shutdown), then remove its cgroups.
ct_down() {
    local pid i h d
    pid=$(cat "$CT_STATE/nspawn.pid" 2>/dev/null) || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then echo "container $CT_NAME did not stop: killing nspawn $pid"; kill -KILL "$pid"; sleep 0.5; fi
    for h in systemd unified; do
        d=/sys/fs/cgroup/$h/nspawn-$CT_NAME
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    rm -f "$CT_STATE/nspawn.pid" "$CT_STATE/leader.pid"
}
