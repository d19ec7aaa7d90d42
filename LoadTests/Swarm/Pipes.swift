import CSystem
import Glibc
import Reactor

/// Reads newline-terminated lines from a pipe on the loop; `onEnd` when the writer has closed it.
final class LineReader: EventHandler {
    private let fd: Int32
    private unowned let loop: EventLoop
    private var pending: [UInt8] = []
    private let onLine: ([UInt8]) -> Void
    private let onEnd: () -> Void
    private var ended = false

    init(fd: Int32, loop: EventLoop, onLine: @escaping ([UInt8]) -> Void, onEnd: @escaping () -> Void) throws {
        self.fd = fd
        self.loop = loop
        self.onLine = onLine
        self.onEnd = onEnd
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        try loop.register(fd: fd, handler: self, events: UInt32(EPOLLIN.rawValue))
    }

    func handleEvents(_ events: UInt32) {
        guard !ended else { return }
        let buffer = loop.readBuffer
        let count = read(fd, buffer.baseAddress!, buffer.count)
        if count < 0, csystem_errno() == EAGAIN || csystem_errno() == EINTR { return }
        guard count > 0 else {
            ended = true
            loop.unregister(fd: fd)
            close(fd)
            return onEnd()
        }
        // Copied out of the loop's read buffer: a line's handler may run anything, reads included.
        let chunk = Array(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        var start = 0
        for index in chunk.indices where chunk[index] == 0x0A {
            pending.append(contentsOf: chunk[start..<index])
            start = index + 1
            let line = pending
            pending.removeAll(keepingCapacity: true)
            onLine(line)
        }
        pending.append(contentsOf: chunk[start...])
    }
}

/// Writes all of `bytes` to a blocking descriptor (a pipe: lines are small and read promptly).
func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let count = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if count < 0 {
                if csystem_errno() == EINTR { continue }
                return false
            }
            offset += count
        }
        return true
    }
}

/// A line on stderr, unbuffered: progress, reports and failures.
func printError(_ line: String) {
    _ = writeAll(2, Array((line + "\n").utf8))
}
