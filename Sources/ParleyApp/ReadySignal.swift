import ServiceLifecycle
import Synchronization

/// Fires once, when the database is migrated; background services wait for it before their first round.
final class ReadySignal: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func fire() {
        let waiters = state.withLock { state in
            state.fired = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let fired = state.withLock { state in
                if !state.fired { state.waiters.append(continuation) }
                return state.fired
            }
            if fired { continuation.resume() }
        }
    }
}

/// A background service that starts once the database is ready.
struct AfterReady<Wrapped: Service>: Service {
    let ready: ReadySignal
    let service: Wrapped

    func run() async throws {
        await ready.wait()
        try await service.run()
    }
}
