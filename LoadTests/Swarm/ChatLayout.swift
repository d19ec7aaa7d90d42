/// Who talks with whom in a chat run: the users, in the order of their numbers, cut into
/// conversations, most of them pairs (a student and a tutor) and a share of small groups of 3 to
/// 5. The cut follows from the options alone, so every worker computes the same one and knows
/// each conversation's members, and so the deliveries each message owes, without asking anyone.
/// Members are consecutive users and connections take the URLs in turn, so with several
/// replicas the members of a conversation are on different ones.
struct ChatLayout {
    static let largestGroup = 5
    let namespace: String
    /// Where each conversation's members start, and one past the last user at the end.
    private let starts: [Int]
    /// The conversation of each user.
    private let conversations: [Int32]
    /// Conversations of more than two.
    let groups: Int

    init(users: Int, groupShare: Double, namespace: String) {
        precondition(users >= 2, "a conversation has two members at least")
        self.namespace = namespace
        var starts = [0]
        var groupsPlanned = 0
        while let start = starts.last, start < users {
            let index = Double(starts.count - 1)
            // Groups spread evenly: conversation k is one when k × share passes a whole number.
            let isGroup = Int((index + 1) * groupShare) > Int(index * groupShare)
            var size = isGroup ? 3 + groupsPlanned % 3 : 2
            if isGroup { groupsPlanned += 1 }
            let remaining = users - start
            size = min(size, remaining)
            // Nobody is left alone at the end.
            if remaining - size == 1 { size += size < Self.largestGroup ? 1 : -1 }
            starts.append(start + size)
        }
        self.starts = starts
        groups = zip(starts, starts.dropFirst()).filter { $1 - $0 > 2 }.count
        var conversations = [Int32](repeating: 0, count: users)
        for conversation in 0..<(starts.count - 1) {
            for user in starts[conversation]..<starts[conversation + 1] { conversations[user] = Int32(conversation) }
        }
        self.conversations = conversations
    }

    var count: Int { starts.count - 1 }

    func conversation(ofUser number: Int) -> Int { Int(conversations[number]) }

    /// The members of user N's conversation, user N among them.
    func members(ofUser number: Int) -> Range<Int> {
        let conversation = conversation(ofUser: number)
        return starts[conversation]..<starts[conversation + 1]
    }

    func channel(ofUser number: Int) -> String { "\(namespace):swarm-chat-\(conversation(ofUser: number))" }
}
