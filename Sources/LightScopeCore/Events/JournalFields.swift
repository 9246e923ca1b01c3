/// The journal entry of one event: `KEY=value` fields for `sd_journal_sendv`.
///
/// `MESSAGE_ID` lets admins select every LightScope event regardless of wording:
/// `journalctl MESSAGE_ID=4e8be3b84edf4995a2b08f9a4d274622`. The structured `LIGHTSCOPE_*`
/// fields (named by `EventField`) let them filter without parsing MESSAGE:
/// `journalctl LIGHTSCOPE_VERDICT=portscan LIGHTSCOPE_SRC=203.0.113.7`.
public enum JournalFields {
    /// Generated once (128 random bits) for LightScope's unwanted-traffic events; never change it,
    /// or saved journal filters stop matching.
    public static let messageID = "4e8be3b84edf4995a2b08f9a4d274622"
    /// notice: normal but significant, the same level `Log.notice` uses for the stderr fallback.
    public static let priority = 5
    public static let syslogIdentifier = "lightscope"

    public static func fields(for record: EventRecord) -> [String] {
        var fields = [
            "MESSAGE=" + EventLine.text(record),
            "MESSAGE_ID=" + messageID,
            "PRIORITY=\(priority)",
            "SYSLOG_IDENTIFIER=" + syslogIdentifier,
        ]
        for (field, value) in record.fieldValues {
            switch value {
            case .text(let text): fields.append(field.journalName + "=" + text)
            case .integer(let number): fields.append(field.journalName + "=\(number)")
            case .time(let nanos): fields.append(field.journalName + "=" + RFC3339.format(timeNanos: nanos))
            }
        }
        return fields
    }
}
