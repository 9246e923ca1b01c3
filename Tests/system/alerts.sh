# Sourced by Tests/system/run.sh: the documented alert examples (docs/alerts.md) delivered for real from
# lightscope-alert@.service's sandbox, to a local SMTP sink and HTTP receiver inside the
# container (Tests/system/alert-sinks.py). Uses run.sh's helpers (X, expect, wait_until).

# docs/alerts.md's alert examples, exactly as it prints them, in order (mail, then webhook):
# the `command =` line of every ```ini block.
readme_alert_commands() {
    awk '/^```ini/ { block = 1; next } block && /^```/ { block = 0 }
         block && /^command = / { sub(/^command = /, ""); print }' docs/alerts.md
}
# A local SMTP sink (127.0.0.1:25) and HTTP receiver (127.0.0.1:8080) in the container.
start_alert_sinks() {
    cp Tests/system/alert-sinks.py "$CT_STATE/share/"
    X systemd-run --quiet --unit=systest-alert-sinks /usr/bin/python3 /share/alert-sinks.py /root/alert-sinks
    wait_until 10 eval "X ss -ltn | grep -F '127.0.0.1:25 ' >/dev/null && X ss -ltn | grep -F '127.0.0.1:8080 ' >/dev/null"
}
# run_alert_with COMMAND: the alert unit, as OnFailure= starts it, with [alert] command = COMMAND.
run_alert_with() {
    X cp -p "$CONF" /root/lightscope.conf.alert
    printf '[alert]\ncommand = %s\n' "$1" | X tee -a "$CONF" >/dev/null
    X systemctl start lightscope-alert@lightscope.service.service
    local result=$?
    X cp -p /root/lightscope.conf.alert "$CONF"
    X rm -f /root/lightscope.conf.alert
    return $result
}
sink_has() { X sh -c "cat /root/alert-sinks/$1-*.txt 2>/dev/null" | grep -F -- "$2" >/dev/null; }

# The documented mail and webhook examples deliver for real from the alert unit's sandbox, and
# the admin's command sees neither the state directory (the anonymisation key) nor the journal.
scenario_alert_examples_deliver() {
    start_alert_sinks || { echo "    expected: the SMTP sink and the HTTP receiver listening"; return 1; }
    local mail hook
    mail=$(readme_alert_commands | sed -n 1p)
    hook=$(readme_alert_commands | sed -n 2p | sed 's#https://hooks.example.invalid/lightscope#http://127.0.0.1:8080/lightscope#')
    echo "    mail example: $mail"
    echo "    webhook example (receiver swapped in): $hook"
    expect "the two alert examples of docs/alerts.md" eval '[ -n "$mail" ] && [ -n "$hook" ]' || return 1
    expect "the alert unit with the mail example succeeds" run_alert_with "$mail" || return 1
    expect "the mail in the SMTP sink, with its subject and the alert" wait_until 5 eval \
        "sink_has smtp 'Subject: LightScope failed on' && sink_has smtp 'RCPT TO:<root@localhost>' && sink_has smtp 'lightscope.service failed for good'" || return 1
    X sh -c 'cat /root/alert-sinks/smtp-*.txt' | head -6 | sed 's/^/    mail: /'
    expect "the alert unit with the webhook example succeeds" run_alert_with "$hook" || return 1
    expect "the POST in the HTTP receiver, with the alert" wait_until 5 eval \
        "sink_has http 'POST /lightscope' && sink_has http 'lightscope.service failed for good'" || return 1
    local probe='{ ls /var/lib/lightscope 2>&1; journalctl -q -u lightscope.service -n 5 -o cat 2>&1; test -r /etc/lightscope/lightscope.conf && echo config-readable; } | curl -fsS --data-binary @- http://127.0.0.1:8080/sandbox'
    expect "the alert unit with a command that looks around succeeds" run_alert_with "$probe" || return 1
    local seen
    seen=$(X sh -c 'cat $(grep -l "^POST /sandbox" /root/alert-sinks/http-*.txt)')
    printf '%s\n' "$seen" | grep -v -i -E '^(POST|host|user-agent|accept|content-)' | sed 's/^/    the command saw: /'
    expect "the state directory hidden from the command" eval "printf '%s' \"\$seen\" | grep -F \"cannot open directory '/var/lib/lightscope'\" >/dev/null" || return 1
    expect "no lightscope journal lines for the command" eval "! printf '%s' \"\$seen\" | grep -F 'started: watchdog' >/dev/null" || return 1
    expect "the config still readable (the command may need a secret from it)" eval "printf '%s' \"\$seen\" | grep -Fx config-readable >/dev/null"
}
