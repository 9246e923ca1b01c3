import Foundation

extension NamespaceLab {
    /// Captures, with the real tcpdump on the host's interface, the connection attempts (SYN
    /// without ACK) that reach it while `body` runs, and returns the capture file (the caller
    /// removes it). Bounded: tcpdump stops after `maximumPackets`, `timeoutSeconds`, or
    /// `settleSeconds` after `body` returns, whichever comes first, and is waited for.
    public func captureConnectionAttempts(maximumPackets: Int, timeoutSeconds: Int, settleSeconds: Double = 1,
                                          while body: () throws -> Void) throws -> URL {
        let file = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("lightscope-probes-\(UUID().uuidString).pcap")
        let tcpdump = Process()
        tcpdump.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tcpdump.arguments = ["ip", "netns", "exec", host, "timeout", String(timeoutSeconds), "tcpdump", "-i", hostInterface, "-nn",
                             "-U", "-c", String(maximumPackets), "-w", file.path,
                             "(ip and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn) or (ip6 and ip6[6] == 6 and ip6[53] & 0x12 == 0x02)"]
        let log = Pipe()
        tcpdump.standardOutput = log
        tcpdump.standardError = log
        try tcpdump.run()
        defer {
            if tcpdump.isRunning { tcpdump.terminate() }
            tcpdump.waitUntilExit()
        }
        // tcpdump writes the file's header once its filter is on the interface.
        let ready = Date().addingTimeInterval(10)
        while ((try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0) < 24 {
            guard tcpdump.isRunning, Date() < ready else {
                if tcpdump.isRunning { tcpdump.terminate() }
                tcpdump.waitUntilExit()
                throw TestFailure("tcpdump did not start: \(String(decoding: log.fileHandleForReading.availableData, as: UTF8.self))")
            }
            usleep(20_000)
        }
        try body()
        let settled = Date().addingTimeInterval(settleSeconds)
        while tcpdump.isRunning && Date() < settled { usleep(20_000) }
        return file
    }
}
