// Benchmark only: many simulated fleet hosts in one process, for bench/fleet-hosts.sh. Each
// host is the real FleetShipper on a thread of its own, with its own role, password, host id,
// local store and backlog, shipping to one collector at once.
//
//   lightscope-fleetsim fill HOSTS-FILE DIR EVENTS-PER-HOST
//       a store per host in DIR/<name>/events.sqlite holding EVENTS-PER-HOST events; prints
//       every stored event as "<host id> <event id>", the set the collector must end up with
//   lightscope-fleetsim ship HOSTS-FILE DIR BATCH CONNECTIONS
//       starts every host's shipper at once and stops them when all have shipped their
//       backlog; prints the wall seconds from the start to the last event shipped, and the
//       process's CPU seconds (every shipper thread)
//
// HOSTS-FILE has one host a line: "<name> <host id> <password> <url>", as `lightscope fleet
// add-host --json` gives them (the url with a query string, which the password is added to).
import Foundation
import LightScopeCore
import LightScopeSystem
import LightScopeFleet
import LightScopeStore

struct SimulatedHost {
    var name: String
    var hostID: HostID
    var password: String
    var url: String

    func databasePath(in directory: String) -> String { "\(directory)/\(name)/\(EventStore.fileName)" }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("lightscope-fleetsim: \(message)\n".utf8))
    exit(1)
}

func readHosts(_ path: String) -> [SimulatedHost] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { fail("cannot read \(path)") }
    return text.split(separator: "\n").map { line in
        let fields = line.split(separator: " ", maxSplits: 3).map(String.init)
        guard fields.count == 4, let hostID = HostID(fields[1]) else { fail("bad line in \(path): \(line)") }
        return SimulatedHost(name: fields[0], hostID: hostID, password: fields[2], url: fields[3])
    }
}

/// Background scanning as the hosts would store it: sources from a /16, ports skewed to a few.
func record(host: Int, index: Int, nowNanos: UInt64, count: Int) -> EventRecord {
    let verdict = [Verdict.closed, .closed, .unanswered, .portscan, .addrscan][index % 5]
    let ports: [UInt16] = [22, 23, 80, 443, 445, 3389, 8080, 5900]
    return EventRecord(timeNanos: nowNanos - UInt64(count - index) * 1_000_000, interface: "eth0", proto: index % 7 == 0 ? .udp : .tcp,
                       source: "198.51.\((index * 31 + host) % 256).\(index % 251)", sourcePort: verdict == .portscan ? nil : 40000 + UInt16(index % 20000),
                       destination: verdict == .addrscan ? nil : "192.0.2.\(host % 250 + 1)",
                       destinationPort: verdict == .portscan ? nil : ports[(index + host) % ports.count], verdict: verdict,
                       packets: UInt32(1 + index % 3), ttl: 54, tcpWindow: 64240, tcpOptions: "M1460,S,T,N,W7",
                       ports: verdict == .portscan ? 40 : nil, addresses: verdict == .addrscan ? 12 : nil)
}

func fill(_ hosts: [SimulatedHost], directory: String, eventsPerHost: Int) {
    let now = WallClock.nowNanos()
    var lines = ""
    for (number, host) in hosts.enumerated() {
        do {
            try FileManager.default.createDirectory(atPath: "\(directory)/\(host.name)", withIntermediateDirectories: true)
            let store = try EventStore(path: host.databasePath(in: directory))
            for first in stride(from: 0, to: eventsPerHost, by: 10_000) {
                try store.insert((first..<min(first + 10_000, eventsPerHost)).map {
                    record(host: number, index: $0, nowNanos: now, count: eventsPerHost)
                })
            }
            for event in try store.events(after: 0, limit: .max) { lines += "\(host.hostID) \(event.id)\n" }
        } catch {
            fail("\(host.name): \(error)")
        }
    }
    FileHandle.standardOutput.write(Data(lines.utf8))
}

func ship(_ hosts: [SimulatedHost], directory: String, batch: Int, connections: Int) {
    let shippers = hosts.map { host in
        var settings = Settings()
        settings.fleet.url = host.url + "&password=" + host.password
        settings.fleet.hostName = host.name
        settings.fleet.batchEvents = batch
        settings.fleet.connections = connections
        settings.fleet.connectTimeout = .seconds(60)
        settings.fleet.retryMaxInterval = .seconds(2)
        let configuration: FleetShipper.Configuration?
        do {
            // As the daemon makes it; the host id comes from the variable the tests use, not /etc/machine-id.
            configuration = try FleetShipper.Configuration.make(
                settings: settings, stateDirectory: "\(directory)/\(host.name)",
                environment: ["LIGHTSCOPE_FLEET_HOST_ID": host.hostID.description], anonymiser: .disabled, faultInjectionEnabled: false)
        } catch {
            fail("\(host.name): \(error)")
        }
        return FleetShipper(configuration: configuration!, lost: LostEvents(), wakeInterval: .milliseconds(250)) { level, line in
            if level >= .warning { FileHandle.standardError.write(Data("\(host.name): \(line)\n".utf8)) }
        }
    }
    let started = MonotonicClock.nowNanos()
    shippers.forEach { $0.start() }
    // Each shipper learns its backlog from the store within its first pass; done when none is left.
    var done = false
    let deadline = started + 1_800_000_000_000
    while !done, MonotonicClock.nowNanos() < deadline {
        usleep(20_000)
        done = shippers.allSatisfy { $0.snapshot.eventsShipped > 0 && $0.snapshot.eventsPending == 0 }
    }
    let seconds = Double(MonotonicClock.nowNanos() - started) / 1e9
    for shipper in shippers { _ = shipper.stop(timeout: Duration.seconds(10)) }
    guard done else { fail("the hosts had not shipped their backlogs after 30 minutes") }
    var processTime = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &processTime)
    let cpu = Double(processTime.tv_sec) + Double(processTime.tv_nsec) / 1e9
    print(String(format: "%.3f %.3f", seconds, cpu))
}

let arguments = CommandLine.arguments
switch (arguments.count > 1 ? arguments[1] : "", arguments.count) {
case ("fill", 5):
    fill(readHosts(arguments[2]), directory: arguments[3], eventsPerHost: Int(arguments[4]) ?? 0)
case ("ship", 6):
    ship(readHosts(arguments[2]), directory: arguments[3], batch: Int(arguments[4]) ?? 5000, connections: Int(arguments[5]) ?? 2)
default:
    fail("usage: lightscope-fleetsim fill HOSTS-FILE DIR EVENTS-PER-HOST | ship HOSTS-FILE DIR BATCH CONNECTIONS")
}
