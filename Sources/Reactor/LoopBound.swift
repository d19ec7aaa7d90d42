/// A value that belongs to one loop, carried through another loop's task queue and back without
/// being touched there (a completion handler, a per-loop object). Only its own loop may use it.
public final class LoopBound<Value>: @unchecked Sendable {
    public let value: Value
    public let loopIndex: Int

    public init(_ value: Value, loop: Int) {
        self.value = value
        loopIndex = loop
    }
}
