/// One user's state on the loop that owns it: connections on every loop, and which loops watch it.
final class UserStatus {
    var connections = 0
    var watchers = Set<Int>()

    var isOnline: Bool { connections > 0 }
    /// Nothing left to remember: offline and unwatched.
    var isIdle: Bool { connections == 0 && watchers.isEmpty }
}
