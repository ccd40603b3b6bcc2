import Logging
import Synchronization

/// Tells the operator once when writes start failing on a full disk and once when they succeed again, rather than
/// once per refused write: while the disk is full every chat message of a logged room would add a line.
final class DiskFullEpisodes: Sendable {
    /// Writes refused in the current episode; nil while writes succeed.
    private let refusedWrites = Mutex<Int?>(nil)
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    func writeRefused() {
        let starts = refusedWrites.withLock { refused in
            refused = (refused ?? 0) + 1
            return refused == 1
        }
        guard starts else { return }
        logger.error(
            "The data directory's disk is full: API writes, new chat connections and chat-log records are refused until space is freed")
    }

    func writeSucceeded() {
        let ended = refusedWrites.withLock { refused in
            defer { refused = nil }
            return refused
        }
        guard let ended else { return }
        logger.notice("The data directory's disk takes writes again", metadata: ["refusedWrites": "\(ended)"])
    }
}
