# The collector of the fleet benchmarks, sourced by bench/fleet.sh, fleet-collector.sh,
# fleet-disk.sh and fleet-hosts.sh: a throw-away PostgreSQL 15 with its durable defaults
# (fsync, synchronous_commit), SCRAM, a Unix socket in its directory, and optionally TCP on one
# address over TLS only (a test CA, a certificate for that address, verify-full works).
PGBIN=/usr/lib/postgresql/15/bin
[ -x "$PGBIN/initdb" ] || { echo "error: PostgreSQL 15 is missing: scripts/install-deps.sh" >&2; exit 1; }

# pg_create DIR [ADDRESS NETWORK]: the cluster in DIR/data (DIR's parent must let postgres
# through), TCP on ADDRESS for clients of NETWORK (CIDR) when given, on port $PG_PORT (default
# 5432), $PG_SETTINGS appended to postgresql.conf (e.g. "max_connections = 250"). Sets ADMIN:
# the superuser's libpq keyword string.
pg_create() {
    local dir=$1 address=${2:-} network=${3:-}
    mkdir -p "$dir"
    if [ -n "$address" ]; then
        (cd "$dir" && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=bench CA" -keyout ca.key -out ca.crt &&
            openssl req -newkey rsa:2048 -nodes -subj "/CN=$address" -keyout server.key -out server.csr &&
            printf 'subjectAltName=IP:%s\n' "$address" > san.ext &&
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.crt) >/dev/null 2>&1
    fi
    echo "bench-$$" > "$dir/pwfile"; chown -R postgres: "$dir"; chmod 711 "$dir"
    [ -z "$address" ] || chmod 644 "$dir/ca.crt"
    runuser -u postgres -- "$PGBIN/initdb" -D "$dir/data" -U postgres -A scram-sha-256 --pwfile="$dir/pwfile" >/dev/null
    {
        printf "listen_addresses = '%s'\nunix_socket_directories = '%s'\nport = %s\n" "$address" "$dir" "${PG_PORT:-5432}"
        [ -z "$address" ] || printf "ssl = on\nssl_cert_file = '%s/server.crt'\nssl_key_file = '%s/server.key'\n" "$dir" "$dir"
        printf '%s\n' "${PG_SETTINGS:-}"
    } >> "$dir/data/postgresql.conf"
    [ -z "$address" ] || printf 'local all all scram-sha-256\nhostssl all all %s scram-sha-256\n' "$network" > "$dir/data/pg_hba.conf"
    ADMIN="host=$dir port=${PG_PORT:-5432} user=postgres password=bench-$$ dbname=lightscope"
}

# pg_start DIR [NETNS]: starts it (in the network namespace NETNS) and creates the database lightscope.
pg_start() {
    local dir=$1 run=()
    [ -z "${2:-}" ] || run=(ip netns exec "$2")
    "${run[@]}" runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start </dev/null >/dev/null 2>&1 \
        || { echo "error: PostgreSQL did not start:" >&2; cat "$dir/server.log" >&2; exit 1; }
    psql "${ADMIN% dbname=lightscope} dbname=postgres" -qAtX -c "CREATE DATABASE lightscope"
}

# pg_stop DIR: for the scripts' cleanup traps.
pg_stop() {
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$1/data" -m immediate stop >/dev/null 2>&1 || true
}

# cpu_seconds PID [TID]: the CPU time (user + system) a process, or one of its threads, has used.
cpu_seconds() {
    local stat
    stat=$(cat "/proc/$1${2:+/task/$2}/stat" 2>/dev/null) || { echo 0; return; }
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' <<< "$stat"
}

# pg_cpu_seconds DIR: the CPU time of the whole collector so far: the postmaster, its live
# processes (backends, WAL writer, checkpointer, autovacuum) and those that have exited.
pg_cpu_seconds() {
    local postmaster stat total
    postmaster=$(head -n1 "$1/data/postmaster.pid")
    stat=$(cat "/proc/$postmaster/stat")
    total=$(awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13 + $14 + $15) / hz }' <<< "$stat")
    for pid in $(pgrep -P "$postmaster"); do total="$total + $(cpu_seconds "$pid")"; done
    awk "BEGIN { print $total }"
}
