import NIOConcurrencyHelpers

/// Fans values out to any number of `AsyncStream` subscribers; each subscription is its own stream.
final class Broadcaster<Element: Sendable>: Sendable {
    private struct Subscribers {
        var next = 0
        var continuations: [Int: AsyncStream<Element>.Continuation] = [:]
        var finished = false
    }

    private let subscribers = NIOLockedValueBox(Subscribers())

    /// A new stream of every value yielded from now on, starting with `initial` if given.
    func subscribe(initial: Element? = nil) -> AsyncStream<Element> {
        let (stream, continuation) = AsyncStream.makeStream(of: Element.self)
        if let initial { continuation.yield(initial) }
        let key = subscribers.withLockedValue { subscribers -> Int? in
            guard !subscribers.finished else { return nil }
            subscribers.next += 1
            subscribers.continuations[subscribers.next] = continuation
            return subscribers.next
        }
        guard let key else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLockedValue { $0.continuations.removeValue(forKey: key) }
        }
        return stream
    }

    func yield(_ element: Element) {
        for continuation in subscribers.withLockedValue({ Array($0.continuations.values) }) {
            continuation.yield(element)
        }
    }

    /// Ends every stream, and any later subscription at once.
    func finish() {
        let continuations = subscribers.withLockedValue { subscribers in
            subscribers.finished = true
            defer { subscribers.continuations = [:] }
            return Array(subscribers.continuations.values)
        }
        for continuation in continuations { continuation.finish() }
    }
}
