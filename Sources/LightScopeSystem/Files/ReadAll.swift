import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole small file (config files, /proc tables, the status file) through swift-system:
/// reads interrupted by a signal (EINTR) are retried, and a file larger than `maximumBytes`
/// fails with EFBIG rather than filling memory.
public enum ReadAll {
    public static func read(_ path: String, maximumBytes: Int) -> Result<[UInt8], Errno> {
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
        } catch let error as Errno {
            return .failure(error)
        } catch {
            return .failure(.ioError)
        }
        defer { try? descriptor.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count: Int
            do {
                count = try chunk.withUnsafeMutableBytes { try descriptor.read(into: $0) }
            } catch let error as Errno {
                return .failure(error)
            } catch {
                return .failure(.ioError)
            }
            if count == 0 { return .success(bytes) }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > maximumBytes { return .failure(.fileTooLarge) }
        }
    }
}
