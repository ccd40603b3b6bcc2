import Foundation
import ParleyDomain
import ParleyStorage
import Testing

@Suite("Access keys in the store")
struct AccessKeyStoreTests {
    @Test("an inserted key's secret is readable while active, and listed")
    func activeSecret() async throws {
        let db = try await makeStore()
        let key = AccessKey.generate(at: at(1))

        try await db.insertAccessKey(key)

        #expect(try await db.activeSecret(accessKeyID: key.accessKeyID) == key.secretAccessKey)
        #expect(try await db.accessKeys() == [key])
    }

    @Test("keys are listed oldest first")
    func listingOrder() async throws {
        let db = try await makeStore()
        let newer = AccessKey.generate(at: at(20))
        let older = AccessKey.generate(at: at(10))

        try await db.insertAccessKey(newer)
        try await db.insertAccessKey(older)

        #expect(try await db.accessKeys().map(\.accessKeyID) == [older.accessKeyID, newer.accessKeyID])
    }

    @Test("a revoked key has no active secret and lists its revoke time; revoking again returns false")
    func revoke() async throws {
        // Setup.
        let db = try await makeStore()
        let key = AccessKey.generate(at: at(1))
        let other = AccessKey.generate(at: at(2))
        try await db.insertAccessKey(key)
        try await db.insertAccessKey(other)

        // Act.
        let revoked = try await db.revokeAccessKey(accessKeyID: key.accessKeyID, at: at(5))

        // Verify.
        #expect(revoked)
        #expect(try await db.activeSecret(accessKeyID: key.accessKeyID) == nil)
        #expect(try await db.activeSecret(accessKeyID: other.accessKeyID) == other.secretAccessKey)
        #expect(try await db.accessKeys().first { $0.accessKeyID == key.accessKeyID }?.revokeTime == at(5))
        #expect(try await db.revokeAccessKey(accessKeyID: key.accessKeyID, at: at(6)) == false)
    }

    @Test("an unknown key has no secret and cannot be revoked")
    func unknownKey() async throws {
        let db = try await makeStore()

        #expect(try await db.activeSecret(accessKeyID: "PKLYUNKNOWN") == nil)
        #expect(try await db.revokeAccessKey(accessKeyID: "PKLYUNKNOWN", at: at(1)) == false)
    }
}

@Suite("Redeemed chat tokens in the store")
struct RedeemedTokenStoreTests {
    @Test("a token redeems once, then never again; another token is independent")
    func redeemOnce() async throws {
        let db = try await makeStore()

        #expect(try await db.redeemChatToken(id: "token-1", expiresAt: at(60)))
        #expect(try await db.redeemChatToken(id: "token-1", expiresAt: at(60)) == false)
        #expect(try await db.redeemChatToken(id: "token-1", expiresAt: at(120)) == false)
        #expect(try await db.redeemChatToken(id: "token-2", expiresAt: at(60)))
    }

    @Test("forgetting removes only tokens that expired strictly before the time")
    func forgetExpired() async throws {
        // Setup: tokens expiring before, at and after the cut-off.
        let db = try await makeStore()
        let expiries = ["before": at(59), "at": at(60), "after": at(61)]
        for (id, expiry) in expiries { #expect(try await db.redeemChatToken(id: id, expiresAt: expiry)) }

        // Act.
        try await db.forgetRedeemedChatTokens(expiredBefore: at(60))

        // Verify: only the expired one was forgotten (it can be recorded again).
        #expect(try await db.redeemChatToken(id: "before", expiresAt: at(59)))
        #expect(try await db.redeemChatToken(id: "at", expiresAt: at(60)) == false)
        #expect(try await db.redeemChatToken(id: "after", expiresAt: at(61)) == false)
    }
}
