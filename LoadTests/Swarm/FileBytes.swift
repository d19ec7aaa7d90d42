import Glibc

/// Small files read whole: /proc entries and key files, at most 64 KiB.
enum FileBytes {
    static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 65536)
        var length = 0
        while length < bytes.count {
            let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + length, $0.count - length) }
            guard count > 0 else { break }
            length += count
        }
        return length > 0 ? Array(bytes[0..<length]) : nil
    }
}
