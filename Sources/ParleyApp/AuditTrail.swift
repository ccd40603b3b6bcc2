import Logging
import ParleyDomain

extension ParleyStore {
    /// Records the audit entry of a change that has already happened (and may already have reached chat clients).
    /// The change is answered as done even when its entry cannot be stored, on a full disk: an error would make the
    /// caller retry what succeeded. The entry then goes to the server log instead.
    func recordAudit(_ entry: AuditEntry, logger: Logger) async {
        do {
            try await appendAudit(entry)
        } catch {
            logger.error(
                "Could not store an audit entry",
                metadata: [
                    "actor": "\(entry.actor)", "action": "\(entry.action)", "target": "\(entry.target)", "detail": "\(entry.detail)",
                    "address": "\(entry.address)", "error": "\(error)",
                ])
        }
    }
}
