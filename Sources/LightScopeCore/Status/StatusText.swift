/// The text behind `systemctl status`'s "Status:" line.
public enum StatusText {
    /// `Processing packets: 1234567 seen, 812 pps, 37 unwanted, 0 dropped; interfaces eth0,eth1`
    public static func processing(totals: InterfaceCounters.Snapshot, packetsPerSecond: UInt64,
                                  capturing: [String], waitingFor: [String]) -> String {
        var text = "Processing packets: \(totals.packets) seen, \(packetsPerSecond) pps, "
            + "\(totals.unwanted) unwanted, \(totals.drops) dropped; "
        if capturing.isEmpty {
            text += "no interface captured yet"
        } else {
            text += "interfaces \(capturing.joined(separator: ","))"
        }
        if !waitingFor.isEmpty {
            text += "; waiting for \(waitingFor.joined(separator: ","))"
        } else if capturing.isEmpty {
            text += "; waiting for an up, non-loopback interface with an address"
        }
        return text
    }

    public static func stalled(loopName: String, silentForNanos: UInt64) -> String {
        "Stalled: \(loopName) has made no progress for \(formatSeconds(silentForNanos)); asking systemd for a restart"
    }

    /// `0`, or `12 (queue 10, eviction 2, disk 0, interface 0, fleet 0)`: every reason, in one order.
    public static func lostEvents(_ byReason: [String: UInt64]) -> String {
        let total = EventLossReason.allCases.reduce(0) { $0 &+ (byReason[$1.rawValue] ?? 0) }
        guard total > 0 else { return "0" }
        return "\(total) (" + EventLossReason.allCases.map { "\($0.rawValue) \(byReason[$0.rawValue] ?? 0)" }.joined(separator: ", ") + ")"
    }

    public static func formatSeconds(_ nanos: UInt64) -> String {
        let tenths = nanos / 100_000_000
        return "\(tenths / 10).\(tenths % 10)s"
    }

    public static func sum(_ snapshots: [InterfaceCounters.Snapshot]) -> InterfaceCounters.Snapshot {
        snapshots.reduce(into: InterfaceCounters.Snapshot(interfaceName: "all", packets: 0, bytes: 0, unwanted: 0, drops: 0)) {
            $0.packets &+= $1.packets
            $0.bytes &+= $1.bytes
            $0.unwanted &+= $1.unwanted
            $0.drops &+= $1.drops
        }
    }
}
