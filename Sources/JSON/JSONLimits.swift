/// Bounds on what one parse may build. A gateway parses what strangers send: these keep the work
/// and memory for one message proportional to something the operator chose, and bound the
/// parser's explicit stack. The defaults are generous for commands yet finite.
public struct JSONLimits: Sendable, Equatable {
    /// Arrays and objects nested inside each other; `[[1]]` has depth 2, a scalar depth 0.
    /// A value above `maxSupportedDepth` acts as that.
    public var maxDepth: Int
    /// Input bytes between a string's quotes (keys included). The decoded string is never longer.
    public var maxStringBytes: Int
    /// Elements of one array, or members of one object.
    public var maxMembers: Int

    /// The parser itself keeps no state on the thread's stack, but a JSONValue is destroyed,
    /// compared and written recursively, one stack frame per level: this bound keeps that well
    /// inside even a small thread stack.
    public static let maxSupportedDepth = 1024

    public init(maxDepth: Int = 32, maxStringBytes: Int = 1 << 20, maxMembers: Int = 100_000) {
        precondition(maxDepth >= 0 && maxStringBytes >= 0 && maxMembers >= 0, "limits must not be negative")
        self.maxDepth = maxDepth
        self.maxStringBytes = maxStringBytes
        self.maxMembers = maxMembers
    }
}
