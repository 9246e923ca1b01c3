#if canImport(Glibc)
import Glibc
#endif

/// A linear-counting sketch (Whang, Vander-Zanden and Taylor, 1990): an estimate of how
/// many distinct values were added, in 128 bits. Each value sets one bit, chosen by a hash;
/// with `z` of the `m` bits still clear, the estimate is `m·ln(m/z)`.
///
/// Bits are only ever set, so the estimate never falls and a value added twice counts once.
/// It can err both ways, but not far up: `n` distinct values set at most `n` bits, so the
/// estimate is at most `m·ln(m/(m−n))` (`largestEstimate(forDistinct:)`), and a source needs
/// `fewestDistinct(toReach:)` distinct values before its estimate reaches a threshold.
/// docs/detection.md ("Slow scans") gives the measured error, which `DistinctSketchTests` holds it to.
///
/// Four 32-bit words rather than two 64-bit ones: a record keeps it at 4-byte alignment.
struct DistinctSketch: BitwiseCopyable, Equatable {
    var word0: UInt32 = 0, word1: UInt32 = 0, word2: UInt32 = 0, word3: UInt32 = 0

    static let bits = 128
    /// The largest threshold whose documented error bound holds (docs/detection.md): past it
    /// the bitmap fills, and the error grows quickly.
    static let largestThreshold = 200

    /// Adds a value by its 64-bit hash (`hash(port:)`, `hash(address:)`): its top 7 bits pick
    /// the bit. Returns whether the bit was clear: only then can the estimate have grown.
    @discardableResult @inline(__always)
    mutating func insert(hash: UInt64) -> Bool {
        let bit = Int(truncatingIfNeeded: hash >> 57)
        let mask = UInt32(1) << UInt32(bit & 31)
        func set(_ word: inout UInt32) -> Bool {
            defer { word |= mask }
            return word & mask == 0
        }
        switch bit >> 5 {
        case 0: return set(&word0)
        case 1: return set(&word1)
        case 2: return set(&word2)
        default: return set(&word3)
        }
    }

    var setBits: Int { word0.nonzeroBitCount + word1.nonzeroBitCount + word2.nonzeroBitCount + word3.nonzeroBitCount }

    /// The distinct values added, estimated and rounded to the nearest whole number.
    var estimate: Int { Self.estimate(setBits: setBits) }

    static func estimate(setBits: Int) -> Int { estimates[min(max(setBits, 0), bits)] }

    /// The estimate for each count of set bits, worked out once. With every bit set it is
    /// unbounded: that count says what the last clear bit said, plus one.
    private static let estimates: [Int] = {
        var table = (0..<bits).map { setBits in Int((Double(bits) * log(Double(bits) / Double(bits - setBits))).rounded()) }
        table.append(table[bits - 1] + 1)
        return table
    }()

    /// The most the estimate can be after `distinct` distinct values.
    static func largestEstimate(forDistinct distinct: Int) -> Int { estimate(setBits: min(distinct, bits)) }

    /// The fewest distinct values that can bring the estimate to `threshold`.
    static func fewestDistinct(toReach threshold: Int) -> Int {
        var setBits = 0
        while setBits < bits && estimate(setBits: setBits) < threshold { setBits += 1 }
        return setBits
    }

    /// A fixed mix (a 64-bit finaliser of MurmurHash3), not the process's seeded `Hasher`:
    /// the same capture gives the same events in every run.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var mixed = value ^ 0x9E37_79B9_7F4A_7C15
        mixed = (mixed ^ (mixed >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        mixed = (mixed ^ (mixed >> 33)) &* 0xC4CE_B9FE_1A85_EC53
        return mixed ^ (mixed >> 33)
    }

    @inline(__always)
    static func hash(port: UInt16) -> UInt64 { mix(UInt64(port)) }

    @inline(__always)
    static func hash(address: IPAddress) -> UInt64 {
        // An IPv4 address's high word is 0, whose mix is a constant (`mixOfZero`, checked by a test).
        mix(address.low ^ (address.high == 0 ? mixOfZero : mix(address.high)))
    }

    /// `mix(0)`, written out: a `static let` would be read through `swift_once` every time.
    static var mixOfZero: UInt64 { 0x9CA0_66F1_A4AB_2EEA }
}
