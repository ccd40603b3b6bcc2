import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ParleyDomain
import Testing

@testable import ParleyApp

@Suite("A full disk on each surface")
struct StorageFullTests {
    @Test("the API answers InternalServerException saying the disk is full")
    func apiAnswer() async throws {
        // Setup: a route whose write finds the disk full.
        let router = Router()
        router.add(middleware: AWSErrorMiddleware())
        router.post("CreateRoom") { _, _ -> Response in throw ParleyError.storageFull }

        try await Application(router: router).test(.router) { client in
            // Act
            let response = try await client.execute(uri: "/CreateRoom", method: .post)

            // Verify
            #expect(response.status == .internalServerError)
            #expect(response.headers[HTTPField.Name("x-amzn-ErrorType")!] == "InternalServerException")
            let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: String]
            #expect(body == ["message": "The server cannot store this change: its disk is full."])
        }
    }

    @Test("the console shows a 503 Disk full page")
    func consolePage() async throws {
        // Setup
        let router = Router(context: ParleyRequestContext.self)
        router.add(middleware: ConsoleErrorMiddleware(views: try await ConsoleViews(directory: testSettings().templatesDirectory)))
        router.post("console/keys") { _, _ -> Response in throw ParleyError.storageFull }

        try await Application(router: router).test(.router) { client in
            // Act
            let response = try await client.execute(uri: "/console/keys", method: .post)

            // Verify
            #expect(response.status == .serviceUnavailable)
            let page = String(buffer: response.body)
            #expect(page.contains("Disk full"))
            #expect(page.contains("The server cannot store this change: its disk is full."))
        }
    }
}
