/// A statement parameter in PostgreSQL's binary wire format, with its type: what `array_recv`,
/// `int8recv`, `uuid_recv` and friends read. A batch travels this way so that the collector
/// copies numbers and strings instead of parsing thousands of text array elements per batch.
public struct BinaryParameter: Equatable, Sendable {
    /// The type's OID in `pg_type`.
    public var typeOID: UInt32
    public var bytes: [UInt8]

    public init(typeOID: UInt32, bytes: [UInt8]) {
        self.typeOID = typeOID
        self.bytes = bytes
    }

    /// Built-in type OIDs (fixed in every PostgreSQL: `src/include/catalog/pg_type.dat`).
    public enum OID {
        public static let int8: UInt32 = 20
        public static let int2: UInt32 = 21
        public static let int4: UInt32 = 23
        public static let text: UInt32 = 25
        public static let timestamptz: UInt32 = 1184
        public static let uuid: UInt32 = 2950
        public static let int2Array: UInt32 = 1005
        public static let int4Array: UInt32 = 1007
        public static let textArray: UInt32 = 1009
        public static let int8Array: UInt32 = 1016
        public static let timestamptzArray: UInt32 = 1185
    }

    public static func int8(_ value: Int64) -> BinaryParameter {
        var bytes: [UInt8] = []
        bytes.appendBigEndian(value)
        return BinaryParameter(typeOID: OID.int8, bytes: bytes)
    }

    /// 16 bytes, as `HostID` holds them.
    public static func uuid(_ bytes: [UInt8]) -> BinaryParameter {
        precondition(bytes.count == 16, "a uuid is 16 bytes")
        return BinaryParameter(typeOID: OID.uuid, bytes: bytes)
    }
}

/// A one-dimensional array in the binary format: a header (dimensions, whether any element is
/// NULL, the element type, the length and lower bound), then each element as a 32-bit length
/// (-1 for NULL) and its bytes. Integers are big-endian.
public struct BinaryArray {
    public let elementOID: UInt32
    private let arrayOID: UInt32
    private var body: [UInt8] = []
    private var count: Int32 = 0
    private var hasNull = false

    /// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 00:00:00 UTC).
    static let postgresEpochOffsetMicroseconds: Int64 = 946_684_800_000_000

    /// `bytesPerElement`: a guess to reserve room for, length words included.
    public init(elementOID: UInt32, arrayOID: UInt32, capacity: Int, bytesPerElement: Int) {
        self.elementOID = elementOID
        self.arrayOID = arrayOID
        body.reserveCapacity(capacity * bytesPerElement)
    }

    public static func int8(capacity: Int) -> BinaryArray {
        BinaryArray(elementOID: BinaryParameter.OID.int8, arrayOID: BinaryParameter.OID.int8Array, capacity: capacity, bytesPerElement: 12)
    }

    public static func int4(capacity: Int) -> BinaryArray {
        BinaryArray(elementOID: BinaryParameter.OID.int4, arrayOID: BinaryParameter.OID.int4Array, capacity: capacity, bytesPerElement: 8)
    }

    public static func int2(capacity: Int) -> BinaryArray {
        BinaryArray(elementOID: BinaryParameter.OID.int2, arrayOID: BinaryParameter.OID.int2Array, capacity: capacity, bytesPerElement: 6)
    }

    public static func text(capacity: Int) -> BinaryArray {
        BinaryArray(elementOID: BinaryParameter.OID.text, arrayOID: BinaryParameter.OID.textArray, capacity: capacity, bytesPerElement: 20)
    }

    public static func timestamptz(capacity: Int) -> BinaryArray {
        BinaryArray(elementOID: BinaryParameter.OID.timestamptz, arrayOID: BinaryParameter.OID.timestamptzArray,
                     capacity: capacity, bytesPerElement: 12)
    }

    public mutating func append(int64 value: Int64?) {
        guard let value else { return appendNull() }
        body.appendBigEndian(Int32(8))
        body.appendBigEndian(value)
        count += 1
    }

    public mutating func append(int32 value: Int32?) {
        guard let value else { return appendNull() }
        body.appendBigEndian(Int32(4))
        body.appendBigEndian(value)
        count += 1
    }

    public mutating func append(int16 value: Int16?) {
        guard let value else { return appendNull() }
        body.appendBigEndian(Int32(2))
        body.appendBigEndian(value)
        count += 1
    }

    /// UTF-8, as the server's encoding must be (the collector's database is UTF8).
    public mutating func append(text value: String?) {
        guard let value else { return appendNull() }
        let utf8 = value.utf8
        body.appendBigEndian(Int32(utf8.count))
        body.append(contentsOf: utf8)
        count += 1
    }

    /// Nanoseconds since the Unix epoch, as microseconds since PostgreSQL's.
    public mutating func append(timeNanos: UInt64) {
        append(int64: Int64(clamping: timeNanos / 1000) - Self.postgresEpochOffsetMicroseconds)
    }

    public mutating func appendNull() {
        body.appendBigEndian(Int32(-1))
        hasNull = true
        count += 1
    }

    public var parameter: BinaryParameter {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(20 + body.count)
        bytes.appendBigEndian(Int32(1))             // dimensions
        bytes.appendBigEndian(Int32(hasNull ? 1 : 0))
        bytes.appendBigEndian(elementOID)
        bytes.appendBigEndian(count)                // length of the one dimension
        bytes.appendBigEndian(Int32(1))             // its lower bound
        bytes.append(contentsOf: body)
        return BinaryParameter(typeOID: arrayOID, bytes: bytes)
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian<Integer: FixedWidthInteger>(_ value: Integer) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }
}
