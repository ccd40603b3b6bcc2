import Crypto
import Foundation
import Hummingbird
import ParleyDomain
import Synchronization

/// A signed-in operator: sealed into the `parley_session` cookie (HttpOnly, SameSite=Strict, Secure over TLS).
struct ConsoleSession: Codable, Sendable {
    var user: String
    var role: ConsoleRole
    /// The token every state-changing form must carry.
    var csrf: String
    var expires: Date

    static let cookieName = "parley_session"
    static let lifetime: TimeInterval = 12 * 3_600
}

/// Seals and opens session cookies with the server key: they cannot be read or forged.
struct ConsoleSessions: Sendable {
    let key: ServerKey
    let clock: any WallClock
    let secureCookies: Bool

    func start(for user: ConsoleUser) -> (session: ConsoleSession, cookie: String) {
        let session = ConsoleSession(
            user: user.name, role: user.role, csrf: ChatTokenClaims.newTokenID(), expires: clock.now() + ConsoleSession.lifetime)
        // Encoding a struct of strings and a date cannot fail.
        let value = Base64URL.encode(key.seal(try! JSONEncoder().encode(session), for: .consoleSession))
        return (session, cookie(value, maxAge: Int(ConsoleSession.lifetime)))
    }

    func open(_ request: Request) -> ConsoleSession? {
        guard let value = request.cookies[ConsoleSession.cookieName]?.value, let sealed = Base64URL.decode(value),
            let plain = key.open(sealed, for: .consoleSession), let session = try? JSONDecoder().decode(ConsoleSession.self, from: plain),
            session.expires > clock.now()
        else { return nil }
        return session
    }

    /// A Set-Cookie value that ends the session.
    var signOutCookie: String { cookie("", maxAge: 0) }

    private func cookie(_ value: String, maxAge: Int) -> String {
        "\(ConsoleSession.cookieName)=\(value); Path=/console; Max-Age=\(maxAge); HttpOnly; SameSite=Strict\(secureCookies ? "; Secure" : "")"
    }
}

/// At most 10 failed sign-ins a minute for each user and address pair.
final class SignInThrottle: Sendable {
    private let failures = Mutex<[String: [Date]]>([:])
    let limit = 10

    func isBlocked(user: String, address: String, now: Date) -> Bool {
        failures.withLock { all in
            let recent = (all["\(user)|\(address)"] ?? []).filter { now.timeIntervalSince($0) < 60 }
            all["\(user)|\(address)"] = recent
            return recent.count >= limit
        }
    }

    func recordFailure(user: String, address: String, now: Date) {
        failures.withLock { $0["\(user)|\(address)", default: []].append(now) }
    }
}
