import Foundation
import Glibc
import LightScopeSystem
import XCTest

/// The cold path's one write-all loop, against a real pipe and a real file.
final class WriteAllTests: XCTestCase {
    /// More than a pipe holds (64 KiB): the writer blocks, writes in parts, and every byte
    /// arrives in order.
    func testEveryByteArrivesThroughAPipeInParts() throws {
        var ends: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&ends), 0)
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let received = ReceivedBytes(), readerDone = DispatchSemaphore(value: 0)
        let readEnd = ends[0]
        let reader = Thread {
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(readEnd, &chunk, chunk.count)
                if count <= 0 { break }
                received.bytes.append(contentsOf: chunk[0..<count])
            }
            readerDone.signal()
        }
        reader.start()
        XCTAssertTrue(WriteAll.write(bytes, to: ends[1]))
        close(ends[1])
        XCTAssertEqual(readerDone.wait(timeout: .now() + 10), .success)
        close(ends[0])
        XCTAssertEqual(received.bytes, bytes)
    }

    /// A failure leaves its reason in errno, as write(2) does, for strerror in the messages.
    func testAFailureLeavesTheReasonInErrno() {
        let descriptor = open("/dev/null", O_RDONLY)
        defer { close(descriptor) }
        errno = 0
        XCTAssertFalse(WriteAll.write([1, 2, 3], to: descriptor))
        XCTAssertEqual(errno, EBADF)
    }
}

/// Written by the reader thread only, read after its semaphore.
private final class ReceivedBytes: @unchecked Sendable {
    var bytes: [UInt8] = []
}
