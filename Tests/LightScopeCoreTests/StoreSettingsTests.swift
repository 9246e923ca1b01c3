import LightScopeCore
import XCTest

final class StoreSettingsTests: XCTestCase {
    func testDefaults() {
        let store = Settings().store
        XCTAssertEqual(store.retentionDays, 90)
        XCTAssertEqual(store.maxEvents, 1_000_000)
        XCTAssertEqual(store.maxStoreMiB, 512)
        XCTAssertEqual(store.anonymise, .off)
    }

    func testStoreSectionMapsOntoSettings() throws {
        let settings = try ConfigFile.parse("""
            [store]
            retention_days = 30
            max_events = 50000   # a small disk
            max_store_mib = 64
            anonymise = dst
            """, source: "test.conf")
        XCTAssertEqual(settings.store.retentionDays, 30)
        XCTAssertEqual(settings.store.maxEvents, 50000)
        XCTAssertEqual(settings.store.maxStoreMiB, 64)
        XCTAssertEqual(settings.store.anonymise, .destination)
        XCTAssertTrue(settings.store.anonymise.anonymisesDestination)
        XCTAssertFalse(settings.store.anonymise.anonymisesSource)
        XCTAssertEqual(try ConfigFile.parse("[store]\nanonymise = both", source: "t").store.anonymise, .sourceAndDestination)
        XCTAssertEqual(try ConfigFile.parse("[store]\nanonymise = none", source: "t").store.anonymise, .off)
    }

    func testAnonymisationKeyNamesAFileOrACredential() throws {
        XCTAssertNil(Settings().store.anonymisationKeyFile, "default: the key generated in the state directory")
        XCTAssertEqual(try ConfigFile.parse("[store]\nanonymisation_key = /etc/lightscope/fleet-anonymisation.key", source: "t")
            .store.anonymisationKeyFile, "/etc/lightscope/fleet-anonymisation.key")
        XCTAssertEqual(try ConfigFile.parse("[store]\nanonymisation_key = anonymisation-key", source: "t").store.anonymisationKeyFile,
                       "anonymisation-key")
        XCTAssertNil(try ConfigFile.parse("[store]\nanonymisation_key =", source: "t").store.anonymisationKeyFile)
        XCTAssertThrowsError(try ConfigFile.parse("[store]\nanonymisation_key = /etc/lightscope/", source: "t"))
    }

    func testBadValuesNameTheLine() {
        XCTAssertThrowsError(try ConfigFile.parse("[store]\n\nanonymise = yes", source: "t.conf")) { error in
            let error = error as! ConfigError
            XCTAssertEqual(error.line, 3)
            XCTAssertTrue(error.problem.contains("none, dst"), error.problem)
        }
        XCTAssertThrowsError(try ConfigFile.parse("[store]\nretention_days = 0", source: "t.conf")) { error in
            XCTAssertEqual((error as! ConfigError).line, 2)
        }
        XCTAssertThrowsError(try ConfigFile.parse("[store]\nmax_events = 10", source: "t.conf")) { error in
            XCTAssertEqual((error as! ConfigError).line, 2)
        }
        XCTAssertThrowsError(try ConfigFile.parse("[store]\nmax_store_mib = 63", source: "t.conf")) { error in
            XCTAssertTrue((error as! ConfigError).problem.contains("from 64 to 1048576"), "\(error)")
        }
        XCTAssertThrowsError(try ConfigFile.parse("[store]\nretention = 5", source: "t.conf")) { error in
            XCTAssertTrue((error as! ConfigError).problem.contains("known keys: anonymisation_key, anonymise, journal_events_per_second, max_events, max_store_mib, retention_days"))
        }
    }
}
