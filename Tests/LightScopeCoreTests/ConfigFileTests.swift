import LightScopeCore
import XCTest

final class ConfigFileTests: XCTestCase {
    func testEmptyFileGivesDefaults() throws {
        XCTAssertEqual(try ConfigFile.parse("", source: "t.conf"), Settings())
    }

    func testEveryKeyMapsOntoItsSetting() throws {
        let text = """
        # comment
        [capture]
        interfaces = eth0, eth1   # inline comment
        snaplen = 300
        buffer_size_mib = 8
        interface_rescan_interval = 2s
        [watchdog]
        ping_interval = 5s
        stall_limit = 20s
        status_interval = 500ms
        ; another comment
        [log]
        level = debug
        """
        let settings = try ConfigFile.parse(text, source: "t.conf")
        XCTAssertEqual(settings.capture.interfaces, ["eth0", "eth1"])
        XCTAssertEqual(settings.capture.snaplenBytes, 300)
        XCTAssertEqual(settings.capture.bufferSizeMiB, 8)
        XCTAssertEqual(settings.capture.interfaceRescanInterval, .seconds(2))
        XCTAssertEqual(settings.watchdog.pingInterval, .seconds(5))
        XCTAssertEqual(settings.watchdog.stallLimit, .seconds(20))
        XCTAssertEqual(settings.watchdog.statusInterval, .milliseconds(500))
        XCTAssertEqual(settings.log.level, .debug)
    }

    func testThreadsIsAutoOrACountOfLoops() throws {
        XCTAssertEqual(Settings().capture.threads, .fixed(1))
        XCTAssertEqual(try ConfigFile.parse("[capture]\nthreads = 2\n", source: "t").capture.threads, .fixed(2))
        let auto = try ConfigFile.parse("[capture]\nthreads = auto\n", source: "t").capture.threads
        XCTAssertEqual(auto, .auto)
        XCTAssertEqual(auto.loops(onlineCPUs: 2), 2)
        XCTAssertEqual(auto.loops(onlineCPUs: 0), 1)
        XCTAssertEqual(auto.loops(onlineCPUs: 512), CaptureThreads.most)
        XCTAssertEqual(CaptureThreads.fixed(3).loops(onlineCPUs: 1), 3)
    }

    func testAutoMeansDerivedFromSystemd() throws {
        let settings = try ConfigFile.parse("[watchdog]\nping_interval = auto\nstall_limit = auto\n", source: "t")
        XCTAssertNil(settings.watchdog.pingInterval)
        XCTAssertNil(settings.watchdog.stallLimit)
    }

    func testErrorsNameTheLineAndTheProblem() {
        let cases: [(String, Int?, String)] = [
            ("[capture]\nsnaplen = lots\n", 2, "snaplen: 'lots' must be a whole number"),
            ("[capture]\n\nbogus = 1\n", 3, "unknown key 'bogus' in [capture]"),
            ("[nope]\n", 1, "unknown section [nope]"),
            ("snaplen = 256\n", 1, "appears before any [section]"),
            ("[capture\n", 1, "missing its closing ']'"),
            ("[log]\nlevel = loud\n", 2, "'loud' is not a log level"),
            ("[watchdog]\nping_interval = 10\nstall_limit = 5s\n", nil, "stall_limit (5s) must be longer than ping_interval (10s)"),
            ("[capture]\njust words\n", 2, "expected 'key = value'"),
            ("[capture]\ninterfaces = eth0, a/b\n", 2, "'a/b' is not a valid interface name"),
            ("[capture]\nthreads = 0\n", 2, "threads: '0' is not a number of packet loops per interface; use auto (one per CPU) or a whole number from 1 to 64"),
            ("[capture]\nthreads = 65\n", 2, "whole number from 1 to 64"),
            ("[capture]\nthreads = many\n", 2, "use auto (one per CPU)"),
            ("[capture]\nthreads = -2\n", 2, "'-2' is not a number of packet loops"),
        ]
        for (text, line, fragment) in cases {
            XCTAssertThrowsError(try ConfigFile.parse(text, source: "x.conf"), text) { error in
                guard let configError = error as? ConfigError else { return XCTFail("\(error)") }
                XCTAssertEqual(configError.line, line, text)
                XCTAssertTrue(configError.problem.contains(fragment), "\(configError.problem) lacks \(fragment)")
                XCTAssertTrue(configError.description.contains("x.conf"))
            }
        }
    }

    func testDurations() {
        XCTAssertEqual(DurationText.parse("250ms"), .milliseconds(250))
        XCTAssertEqual(DurationText.parse("30"), .seconds(30))
        XCTAssertEqual(DurationText.parse("5m"), .seconds(300))
        XCTAssertEqual(DurationText.parse("1.5s"), .milliseconds(1500))
        XCTAssertEqual(DurationText.parse("2h"), .seconds(7200))
        XCTAssertNil(DurationText.parse("-1s"))
        XCTAssertNil(DurationText.parse("soon"))
        XCTAssertNil(DurationText.parse(""))
        XCTAssertEqual(DurationText.format(.seconds(300)), "5m")
        XCTAssertEqual(DurationText.format(.milliseconds(1500)), "1500ms")
        XCTAssertEqual(DurationText.format(.seconds(30)), "30s")
    }

    func testAlertCommandIsFoundEvenInABrokenFile() {
        let text = "[watchdog]\nping_interval = soon\n[alert]\ncommand = logger -t x \"failed\"  # say it\n[log]\nlevel = loud\n"
        XCTAssertThrowsError(try ConfigFile.parse(text, source: "x"))
        XCTAssertEqual(try ConfigFile.alertCommand(in: Array(text.utf8), source: "x"), "logger -t x \"failed\"")
        XCTAssertNil(try ConfigFile.alertCommand(in: Array("[alert]\n#command = mail root\n".utf8), source: "x"))
        XCTAssertEqual(try ConfigFile.parse("[alert]\ncommand = mail root\n", source: "x").alert.command, "mail root")
    }
}
