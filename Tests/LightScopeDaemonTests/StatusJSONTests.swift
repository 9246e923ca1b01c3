import Foundation
import LightScopeCore
@testable import LightScopeDaemon
import LightScopeTestSupport
import XCTest

/// The status file's hand writer (`StatusJSON`) writes the very bytes `JSONEncoder` wrote
/// (`StatusFile.encoder()`, the oracle), so readers of any version see the same file, and it
/// keeps up with the snapshot's fields as they change.
final class StatusJSONTests: XCTestCase {
    func testTypicalSnapshotMatchesJSONEncoder() throws {
        try assertMatchesEncoder(StatusSnapshotSamples.typical)
    }

    func testSnapshotWithEveryOptionalSetMatchesJSONEncoder() throws {
        try assertMatchesEncoder(StatusSnapshotSamples.everyOptionalSet)
    }

    func testSnapshotWithEveryOptionalNilMatchesJSONEncoder() throws {
        var snapshot = StatusSnapshotSamples.everyOptionalNil
        try assertMatchesEncoder(snapshot)
        snapshot.store = nil
        try assertMatchesEncoder(snapshot)
    }

    func testStringsNeedingEscapesMatchJSONEncoder() throws {
        let allControlCharacters = String(decoding: (0..<0x20).map { UInt8($0) } + [0x7F], as: UTF8.self)
        for text in StatusSnapshotSamples.awkwardTexts + [allControlCharacters, StatusSnapshotSamples.awkwardTexts.joined()] {
            var snapshot = StatusSnapshotSamples.everyOptionalSet
            snapshot.version = text
            snapshot.status = text
            snapshot.interfaces[0].name = text
            snapshot.loops[0].name = text
            snapshot.store?.path = text
            snapshot.restarts.lastReason = text
            snapshot.fleet?.collector = text
            snapshot.fleet?.hostIdentifier = text
            snapshot.fleet?.hostName = text
            snapshot.fleet?.problem = text
            snapshot.reload?.problem = text
            snapshot.lostEvents[text] = 1
            snapshot.events.byVerdict[text] = 2
            try assertMatchesEncoder(snapshot)
        }
    }

    func testExtremeIntegersMatchJSONEncoder() throws {
        for (number, pid) in [(UInt64(0), Int32.min), (UInt64.max, Int32.max), (9, -1), (10, 0), (1_000_000_007, 1)] {
            var snapshot = StatusSnapshotSamples.everyOptionalSet
            snapshot.pid = pid
            snapshot.startedAtNanos = number
            snapshot.updatedAtNanos = number
            snapshot.interfaces[0].packets = number
            snapshot.interfaces[0].bytes = number
            snapshot.watchdog.timeoutNanos = number
            snapshot.lostEvents["queue"] = number
            snapshot.fleet?.eventsPending = number
            snapshot.reload?.exitCode = pid
            snapshot.reload?.generation = number
            try assertMatchesEncoder(snapshot)
        }
    }

    func testEmptyAndManyEntryCollectionsMatchJSONEncoder() throws {
        var snapshot = StatusSnapshotSamples.everyOptionalSet
        snapshot.interfaces = []
        snapshot.events.byTool = [:]
        try assertMatchesEncoder(snapshot)
        snapshot.interfaces = (0..<20).map {
            DaemonSnapshot.Interface(name: "eth\($0)", capturing: $0 % 2 == 0, packets: UInt64($0), bytes: 0,
                                     packetsPerSecond: 0, drops: 0, unwanted: 0, malformed: 0)
        }
        snapshot.loops = []
        snapshot.events.byTool = Dictionary(uniqueKeysWithValues: (0..<50).map { ("tool\($0)", UInt64($0)) })
        snapshot.restarts.byEnding = [:]
        try assertMatchesEncoder(snapshot)
    }

    func testSeededRandomSnapshotsMatchJSONEncoder() throws {
        var generator = SplitMix64(seed: 0x5747_4A53_4F4E)
        for _ in 0..<400 {
            try assertMatchesEncoder(StatusSnapshotSamples.random(&generator))
        }
    }

    func testHandWrittenFileReadsBackThroughTheDecoder() throws {
        var generator = SplitMix64(seed: 18)
        let samples = [StatusSnapshotSamples.typical, StatusSnapshotSamples.everyOptionalSet, StatusSnapshotSamples.everyOptionalNil]
            + (0..<50).map { _ in StatusSnapshotSamples.random(&generator) }
        for snapshot in samples {
            let decoded = try StatusFile.decoder().decode(DaemonSnapshot.self, from: Data(StatusJSON.encode(snapshot)))
            XCTAssertEqual(decoded, snapshot)
        }
    }

    /// A field added to the snapshot but not to the hand writer fails here even when it is
    /// optional: the fixture must set it, and the writer must then write it.
    func testEverySetFixtureWritesEveryStoredProperty() throws {
        let snapshot = StatusSnapshotSamples.everyOptionalSet
        let json = try JSONSerialization.jsonObject(with: Data(StatusJSON.encode(snapshot)))
        assertWritesEveryStoredProperty(of: snapshot, in: json, path: "snapshot")
    }

    func testStatusFileWritesTheHandWrittenBytes() throws {
        let directory = NSTemporaryDirectory() + "statusjson-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var file = StatusFile(directory: directory)
        let snapshot = StatusSnapshotSamples.everyOptionalSet
        file.write(snapshot)
        let written = try Data(contentsOf: URL(fileURLWithPath: file.path))
        XCTAssertEqual(written, try StatusFile.encoder().encode(snapshot))
    }

    private func assertMatchesEncoder(_ snapshot: DaemonSnapshot, file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = [UInt8](try StatusFile.encoder().encode(snapshot))
        let written = StatusJSON.encode(snapshot)
        guard written != expected else { return }
        let firstDifference = zip(written, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(written.count, expected.count)
        XCTFail("""
            hand-written status JSON differs from JSONEncoder's at byte \(firstDifference):
            --- JSONEncoder
            \(String(decoding: expected, as: UTF8.self))
            --- StatusJSON
            \(String(decoding: written, as: UTF8.self))
            """, file: file, line: line)
    }

    /// Walks the snapshot's stored properties (Mirror) beside the written object: every
    /// struct's properties, as snake_case keys, must be exactly the object's keys.
    private func assertWritesEveryStoredProperty(of value: Any, in json: Any?, path: String) {
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional:
            guard let wrapped = mirror.children.first?.value else {
                return XCTFail("\(path) is nil in StatusSnapshotSamples.everyOptionalSet: set it so its fields are checked")
            }
            assertWritesEveryStoredProperty(of: wrapped, in: json, path: path)
        case .struct:
            guard let object = json as? [String: Any] else { return XCTFail("\(path) is not written as an object") }
            let properties = mirror.children.compactMap(\.label)
            XCTAssertEqual(Set(object.keys), Set(properties.map(snakeCase)), "\(path): stored properties and written keys differ")
            for child in mirror.children {
                guard let label = child.label else { continue }
                assertWritesEveryStoredProperty(of: child.value, in: object[snakeCase(label)], path: path + "." + label)
            }
        case .collection:
            guard let array = json as? [Any] else { return XCTFail("\(path) is not written as an array") }
            let elements = mirror.children.map(\.value)
            XCTAssertFalse(elements.isEmpty, "\(path) is empty in StatusSnapshotSamples.everyOptionalSet: give it an element")
            XCTAssertEqual(array.count, elements.count, "\(path): element count")
            for (index, (element, written)) in zip(elements, array).enumerated() {
                assertWritesEveryStoredProperty(of: element, in: written, path: "\(path)[\(index)]")
            }
        default:
            XCTAssertNotNil(json, "\(path) is not written")
        }
    }

    /// `.convertToSnakeCase` for the snapshot's property names (no acronyms among them).
    private func snakeCase(_ name: String) -> String {
        name.reduce(into: "") { result, character in
            result += character.isUppercase ? "_" + character.lowercased() : String(character)
        }
    }
}
