import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdBcrypt
import ParleyDomain
import ParleyMessaging
import Synchronization

/// A signed-in operator: sealed into the `parley_session` cookie (HttpOnly, SameSite=Strict, Secure over TLS).
struct ConsoleSession: Codable, Sendable {
    /// A fresh random id for every sign-in; signing out records it as ended, so a copied cookie dies with the session.
    var id: String
    var user: String
    var role: ConsoleRole
    /// The token every state-changing form must carry.
    var csrf: String
    var expires: Date
    /// A digest of the user's stored record (password hash and role) at sign-in: changing either ends the session.
    var userStamp: String

    static let cookieName = "parley_session"
    static let lifetime: TimeInterval = 12 * 3_600

    static func stamp(of user: ConsoleUser) -> String {
        Base64URL.encode(Data(SHA256.hash(data: Data("\(user.role.rawValue)|\(user.passwordHash)".utf8)).prefix(16)))
    }
}

/// Seals and opens session cookies with the server key: they cannot be read or forged. A cookie is honoured only while
/// its session has not been ended (sign-out, a later sign-in) and its user still exists unchanged.
struct ConsoleSessions: Sendable {
    let key: ServerKey
    let clock: any WallClock
    let secureCookies: Bool
    let store: any ParleyStore

    func start(for user: ConsoleUser) -> (session: ConsoleSession, cookie: String) {
        let session = ConsoleSession(
            id: ChatTokenClaims.newTokenID(), user: user.name, role: user.role,
            csrf: ChatTokenClaims.newTokenID(), expires: clock.now() + ConsoleSession.lifetime, userStamp: ConsoleSession.stamp(of: user))
        // Encoding a struct of strings and a date cannot fail.
        let value = Base64URL.encode(key.seal(try! JSONEncoder().encode(session), for: .consoleSession))
        return (session, cookie(value, maxAge: Int(ConsoleSession.lifetime)))
    }

    /// The cookie's session, if it is genuine, unexpired and not ended, and its user is unchanged.
    func open(_ request: Request) async throws -> ConsoleSession? {
        guard let value = request.cookies[ConsoleSession.cookieName]?.value, let sealed = Base64URL.decode(value),
            let plain = key.open(sealed, for: .consoleSession), let session = try? JSONDecoder().decode(ConsoleSession.self, from: plain),
            session.expires > clock.now()
        else { return nil }
        guard let user = try await store.consoleUser(name: session.user), ConsoleSession.stamp(of: user) == session.userStamp,
            try await !store.isConsoleSessionEnded(id: session.id)
        else { return nil }
        return session
    }

    /// Ends `session` on the server: its cookie is refused from now on, wherever it was copied to.
    func end(_ session: ConsoleSession) async throws {
        try await store.endConsoleSession(id: session.id, expiresAt: session.expires, now: clock.now())
    }

    /// A Set-Cookie value that ends the session.
    var signOutCookie: String { cookie("", maxAge: 0) }

    private func cookie(_ value: String, maxAge: Int) -> String {
        "\(ConsoleSession.cookieName)=\(value); Path=/console; Max-Age=\(maxAge); HttpOnly; SameSite=Strict\(secureCookies ? "; Secure" : "")"
    }
}

/// Sign-in failures, throttled per user and address (10 a minute: a password guessed slowly) and per address across
/// every user name (30 a minute: names sprayed from one place). Only the last minute is kept, so memory stays bounded
/// by the attempts of one minute.
final class SignInThrottle: Sendable {
    private let failures = Mutex<[String: [Date]]>([:])
    let limit = 10
    let addressLimit = 30

    func isBlocked(user: String, address: String, now: Date) -> Bool {
        failures.withLock { all in
            Self.forgetOld(&all, now: now)
            return all["\(user)|\(address)", default: []].count >= limit || all["*|\(address)", default: []].count >= addressLimit
        }
    }

    func recordFailure(user: String, address: String, now: Date) {
        failures.withLock { all in
            all["\(user)|\(address)", default: []].append(now)
            all["*|\(address)", default: []].append(now)
        }
    }

    /// The number of user and address pairs remembered (for tests: it must not grow without bound).
    var trackedKeys: Int { failures.withLock { $0.count } }

    private static func forgetOld(_ all: inout [String: [Date]], now: Date) {
        for (key, times) in all {
            let recent = times.filter { now.timeIntervalSince($0) < 60 }
            all[key] = recent.isEmpty ? nil : recent
        }
    }
}

/// A bcrypt hash of a random password at the configured cost, made on first use: signing in as an unknown user checks
/// the password against it, so that answer takes as long as a wrong password for a real user.
final class DecoyPasswordHash: Sendable {
    private let cost: UInt8
    private let hash = Mutex<String?>(nil)

    init(cost: UInt8) { self.cost = cost }

    var value: String {
        hash.withLock { hash in
            if let hash { return hash }
            let made = Bcrypt.hash(ChatTokenClaims.newTokenID(), cost: cost)
            hash = made
            return made
        }
    }
}

/// Chat tokens issued through the console (the chat-token endpoint and the live view's test client): at most
/// `ratePerSecond` a second for each console user, bursting to as many, so one session cannot mint tokens unbounded
/// (the API's CreateChatToken quota limits API keys the same way).
final class ConsoleTokenLimiter: Sendable {
    let ratePerSecond: Int
    private let buckets = Mutex<[String: TokenBucket]>([:])

    init(ratePerSecond: Int) { self.ratePerSecond = max(1, ratePerSecond) }

    /// Takes one token for `user`; false when the user is over the rate.
    func take(user: String, now: Date) -> Bool {
        buckets.withLock { buckets in
            buckets[user, default: TokenBucket(ratePerSecond: ratePerSecond, now: now)].take(now: now)
        }
    }

    var refusal: String { "Chat tokens from the console are limited to \(ratePerSecond) a second per user; wait a moment." }
}
