/// The shared libraries an ELF executable asks the dynamic loader for (its `DT_NEEDED`
/// entries), read from the file itself.
///
/// `doctor` uses it on `/proc/self/exe` to prove the binary links libsystemd (without it there
/// is no sd_notify and so no watchdog). Reading the file, unlike `ldd`, runs nothing and works
/// on a binary for which the loader would fail. 64-bit little-endian only, which is every
/// architecture LightScope is packaged for; anything else gives nil.
public enum ELFNeededLibraries {
    /// `read(offset, count)` returns up to `count` bytes of the file at `offset`.
    public static func parse(read: (_ offset: UInt64, _ count: Int) -> [UInt8]) -> [String]? {
        let header = read(0, 64)
        guard header.count == 64, header.starts(with: [0x7F, 0x45, 0x4C, 0x46]),
              header[4] == 2 /* ELFCLASS64 */, header[5] == 1 /* little-endian */ else { return nil }
        let programHeaderOffset = integer(header, at: 32, size: 8)
        let programHeaderSize = Int(integer(header, at: 54, size: 2))
        let programHeaderCount = Int(integer(header, at: 56, size: 2))
        guard programHeaderSize >= 56, programHeaderCount > 0, programHeaderCount < 4096 else { return nil }
        let table = read(programHeaderOffset, programHeaderSize * programHeaderCount)
        guard table.count == programHeaderSize * programHeaderCount else { return nil }

        struct Segment { var type: UInt64, fileOffset: UInt64, virtualAddress: UInt64, fileSize: UInt64 }
        let segments = (0..<programHeaderCount).map { index -> Segment in
            let base = index * programHeaderSize
            return Segment(type: integer(table, at: base, size: 4), fileOffset: integer(table, at: base + 8, size: 8),
                           virtualAddress: integer(table, at: base + 16, size: 8), fileSize: integer(table, at: base + 32, size: 8))
        }
        // A static executable has no PT_DYNAMIC: it needs nothing.
        guard let dynamic = segments.first(where: { $0.type == 2 /* PT_DYNAMIC */ }) else { return [] }
        guard dynamic.fileSize < 1 << 20 else { return nil }
        let entries = read(dynamic.fileOffset, Int(dynamic.fileSize))
        var neededOffsets: [UInt64] = []
        var stringTableAddress: UInt64?
        var stringTableSize: UInt64 = 0
        for base in stride(from: 0, to: entries.count - 15, by: 16) {
            let tag = integer(entries, at: base, size: 8), value = integer(entries, at: base + 8, size: 8)
            switch tag {
            case 0: break                                 // DT_NULL
            case 1: neededOffsets.append(value)           // DT_NEEDED
            case 5: stringTableAddress = value            // DT_STRTAB
            case 10: stringTableSize = value              // DT_STRSZ
            default: continue
            }
            if tag == 0 { break }
        }
        guard !neededOffsets.isEmpty else { return [] }
        // DT_STRTAB is a virtual address: find the loaded segment that holds it.
        guard let address = stringTableAddress, stringTableSize > 0, stringTableSize < 1 << 24,
              let load = segments.first(where: {
                  $0.type == 1 /* PT_LOAD */ && address >= $0.virtualAddress && address < $0.virtualAddress + $0.fileSize
              }) else { return nil }
        let strings = read(load.fileOffset + (address - load.virtualAddress), Int(stringTableSize))
        return neededOffsets.compactMap { offset in
            guard offset < strings.count else { return nil }
            let name = strings[Int(offset)...].prefix { $0 != 0 }
            return String(decoding: name, as: UTF8.self)
        }
    }

    private static func integer(_ bytes: [UInt8], at offset: Int, size: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in (0..<size).reversed() { value = value << 8 | UInt64(bytes[offset + index]) }
        return value
    }
}
