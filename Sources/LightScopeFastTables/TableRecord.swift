/// One entry of an `ExpiringTable`, as its owner lays it out: plain fixed-size data with the
/// key in it and a `RecordStamp`, packed by hand so that no byte is padding. (An IPv4 pending
/// probe is 28 bytes; the generic key-and-value pair it replaced was 112.)
@usableFromInline package protocol TableRecord: BitwiseCopyable {
    associatedtype Key: FastHashKey
    var key: Key { get }
    var stamp: RecordStamp { get set }
}

/// What the table keeps in every record: when it was last touched, and whether it is live.
///
/// Seven bytes, so that a record can put a one-byte field right after it: the time is a
/// 48-bit offset from its table's `TableClockBase` (nanoseconds: 78 hours of range), and
/// `mark` is 0 in a dead record (zeroed memory is all dead records) and any other value,
/// the owner's choice, in a live one.
@usableFromInline package struct RecordStamp: BitwiseCopyable {
    @usableFromInline package var timeLow: UInt32 = 0
    @usableFromInline package var timeHigh: UInt16 = 0
    @usableFromInline package var mark: UInt8 = 0

    @inlinable package var isLive: Bool { mark != 0 }

    @inlinable package var offsetNanos: UInt64 { UInt64(timeHigh) << 32 | UInt64(timeLow) }

    @inlinable package init() {}

    @inlinable package init(offsetNanos: UInt64, mark: UInt8) {
        timeLow = UInt32(truncatingIfNeeded: offsetNanos)
        timeHigh = UInt16(truncatingIfNeeded: offsetNanos >> 32)
        self.mark = mark
    }
}

/// The time a table's 48-bit offsets count from. Set at the first record, half the range
/// back, so that times may run backwards (a capture's may) by 39 hours and on by 39 before
/// the table has to move it (`ExpiringTable`, rarely: once in days, or after a jump).
@usableFromInline package struct TableClockBase {
    @usableFromInline package static let rangeNanos: UInt64 = 1 << 48
    @usableFromInline package var baseNanos: UInt64 = 0
    @usableFromInline package var isSet = false

    @inlinable package init() {}

    /// The offset of `nanos`, if within range.
    @inline(__always)
    @inlinable package func offset(of nanos: UInt64) -> UInt64? {
        guard isSet, nanos >= baseNanos, nanos - baseNanos < Self.rangeNanos else { return nil }
        return nanos - baseNanos
    }

    @inline(__always)
    @inlinable package func nanos(of stamp: RecordStamp) -> UInt64 { baseNanos &+ stamp.offsetNanos }

    /// A base that puts `nanos` in the middle of the range.
    @inlinable package static func centred(on nanos: UInt64) -> TableClockBase {
        var base = TableClockBase()
        base.baseNanos = nanos >= rangeNanos / 2 ? nanos - rangeNanos / 2 : 0
        base.isSet = true
        return base
    }
}
