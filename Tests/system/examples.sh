# Sourced by Tests/system/run.sh: the documents' examples that need systemd, run exactly as
# written (Tests/examples/examples.py pulls them out of README.md, docs/*.md and the man page)
# inside the container, their outputs compared with the documents'. Tests/examples/manifest
# names the scenario that runs each one.

EXAMPLES_TOOL=Tests/examples/examples.py

# doc_example ID [DIR]: run example ID in the container, in DIR (default /root), as root.
doc_example() {
    local status
    python3 "$EXAMPLES_TOOL" run "$1" --cd "${2:-/root}" -- \
        nsenter -t "$(cat "$CT_STATE/leader.pid")" -a -- env -i "${CT_ENV[@]}" > "$CT_STATE/example.out" 2>&1
    status=$?
    sed 's/^/    | /' "$CT_STATE/example.out"
    [ $status = 0 ] || echo "    expected: example $1 as the documents show it"
    return $status
}
# example_printed TEXT: the last doc_example printed TEXT.
example_printed() { grep -F -- "$1" "$CT_STATE/example.out" >/dev/null; }

# The documents' traffic: senders with addresses of their own in the peer namespace, routed
# through it, so that the events have the sources the documents show.
DOC_SOURCES="198.51.100.77 198.51.100.99 203.0.113.7 198.51.100.23 203.0.113.50"
add_documented_senders() {
    local source
    for source in $DOC_SOURCES; do X ip netns exec peer ip addr add "$source/32" dev ls1; done
    X ip route add 198.51.100.0/24 dev "$CAPTURE_IF"
    X ip route add 203.0.113.0/24 dev "$CAPTURE_IF"
    # A firewalled port: the kernel drops its SYNs after capture saw them, so they go unanswered.
    X nft add table inet systest
    X nft add chain inet systest input '{ type filter hook input priority 0; }'
    X nft add rule inet systest input tcp dport 3389 drop
}
# send_from SOURCE tcp|udp PORT...: connection attempts (or datagrams) from SOURCE to the host.
send_from() {
    X ip netns exec peer python3 - "$HOST_ADDR" "$@" <<'PY'
import socket, sys
host, source, proto, ports = sys.argv[1], sys.argv[2], sys.argv[3], [int(port) for port in sys.argv[4:]]
for port in ports:
    if proto == "udp":
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((source, 5000))
            udp.sendto(b"\x30\x00", (host, port))
        continue
    with socket.socket() as tcp:
        tcp.bind((source, 0))
        tcp.settimeout(1.5)  # a firewalled port: the SYN and one retransmission
        try:
            tcp.connect((host, port))
        except OSError:
            pass
PY
}
# The store's events from SOURCE.
events_from() { store_count "src = '$1'"; }

# Not a scenario: an empty store, then the traffic of the documents' examples.
send_documented_traffic() {
    X systemctl stop lightscope.service
    X sh -c 'rm -f /var/lib/lightscope/events.sqlite*'
    X systemctl start lightscope.service && wait_until 15 is_running || return 1
    send_from 198.51.100.77 tcp 21 22 23 25 80 110 143 443 445 1433 3306 3389 5432 5900 8080
    send_from 203.0.113.7 tcp 23 23
    send_from 198.51.100.23 tcp 3389
    send_from 203.0.113.50 udp 161
    # The unanswered probe is judged after syn_answer_timeout (10 s), then committed.
    wait_until 20 eval '[ "$(events_from 198.51.100.23)" = 1 ]' \
        && [ "$(events_from 198.51.100.77)" = 16 ] && [ "$(events_from 203.0.113.7)" = 2 ] \
        && [ "$(events_from 203.0.113.50)" = 1 ]
}

scenario_documented_blocklists() {
    doc_example blocklist-nft || return 1
    doc_example blocklist-cron || return 1
    expect "nft loaded the list" eval "X nft list set inet lightscope blocked_v4 | grep -F 198.51.100.77 >/dev/null" || return 1
    doc_example blocklist-dry-run || return 1
    X rm -rf /var/local/lightscope
    X nft delete table inet lightscope
    doc_example man-blocklist || return 1
    expect "nft loaded the man page's list" eval "X nft list set inet lightscope blocked_v4 | grep -F 198.51.100.77 >/dev/null"
}

scenario_documented_journal() {
    doc_example journal-events || return 1
    # An entry of the unit's journal that is not UTF-8: a root process's line about the unit.
    printf 'MESSAGE=raw \377 byte from a helper\nOBJECT_PID=%s\n' "$(prop MainPID)" | X logger --journald
    expect "the non-UTF-8 entry in the unit's journal" wait_until 5 eval \
        "X journalctl -u lightscope -o json | grep -F '\"MESSAGE\":[114,97,119,32,255' >/dev/null" || return 1
    doc_example journal-jq || return 1
    expect "jq printed the start-up line" example_printed "started: watchdog" || return 1
    # The followers run for 4 s; new events arrive while they run. (`wait` alone would also
    # wait for the container, a child of this shell.)
    local sender result
    (sleep 1.5; send_from 203.0.113.7 tcp 7) & sender=$!
    doc_example journal-follow-grep
    result=$?; wait $sender
    [ $result = 0 ] || return 1
    expect "the closed probe in the log file, flushed line by line" eval \
        "X grep -F 'unwanted tcp 203.0.113.7:' /var/log/lightscope-closed.log | grep -F ' -> $HOST_ADDR:7 closed' >/dev/null" || return 1
    (sleep 1.5; send_from 198.51.100.99 tcp $(seq 1 15)) & sender=$!
    doc_example journal-follow-jq
    result=$?; wait $sender
    [ $result = 0 ] || return 1
    expect "the new scanner in scanners.txt" eval "X grep -x 198.51.100.99 /root/scanners.txt >/dev/null"
}

scenario_documented_configuration() {
    X cp -p "$CONF" /root/lightscope.conf.systest
    documented_configuration_checks
    local result=$?
    X cp -p /root/lightscope.conf.systest "$CONF"
    X rm -f /root/lightscope.conf.systest
    X systemctl reload lightscope.service || { echo "    expected: the reload of the original config to succeed"; return 1; }
    return $result
}
metrics_answer() { X curl -sf -o /dev/null http://127.0.0.1:9870/metrics; }
documented_configuration_checks() {
    # A good edit, checked and applied.
    X sed -i 's/^#listen =$/listen = 127.0.0.1:9870/' "$CONF"
    doc_example reload || return 1
    expect "metrics served after the reload" wait_until 10 metrics_answer || return 1
    doc_example metrics || return 1
    # A bad one: check-config names the line, and the reload fails and changes nothing.
    local pid=$(prop MainPID)
    printf '[watchdog]\nping_interval = soon\n' | X tee -a "$CONF" >/dev/null
    doc_example bad-config || return 1
    expect "still running, same PID" eval '[ "$(prop MainPID)" = "$pid" ] && is_running' || return 1
    expect "metrics still served" metrics_answer
}

status_shows_a_ping() { X lightscope status | grep -F "; last ping " >/dev/null; }
scenario_documented_status() {
    # A running daemon that has pinged systemd, not one that has just (re)started.
    expect "a watchdog ping in lightscope status" wait_until 10 status_shows_a_ping || return 1
    doc_example status || return 1
    doc_example journal-errors || return 1
    doc_example man-service
}

# With the shipped WatchdogSec=30 (before the short timings): change it with a drop-in, revert it.
scenario_documented_watchdog() {
    doc_example watchdog-show || return 1
    doc_example watchdog-dropin || return 1
    expect "the daemon uses 60s" wait_until 5 journal_has "" "started: watchdog 1m," || return 1
    doc_example watchdog-revert || return 1
    expect "no drop-in left" eval "! X test -e $DROPIN_DIR"
}
