/// A per-loop bump allocator for the output of one turn. Replies written during a turn are copied
/// here and flushed with writev at its end; what a socket did not take is then copied into that
/// connection's own buffer, and the arena starts empty again. So a connection that keeps up costs
/// no allocation per message, and one that is idle holds no output buffer at all.
public final class OutputArena {
    let base: UnsafeMutableRawPointer
    public let capacity: Int
    public private(set) var used = 0

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(byteCount: capacity, alignment: 64)
    }

    deinit { base.deallocate() }

    /// The next free byte: an arena chunk that ends here can be extended in place.
    var head: UnsafeMutableRawPointer { base + used }

    /// Reserves `count` bytes, or nil when the arena is full for this turn.
    func allocate(_ count: Int) -> UnsafeMutableRawPointer? {
        guard capacity - used >= count else { return nil }
        let pointer = base + used
        used += count
        return pointer
    }

    func reset() { used = 0 }
}
