import Foundation
import ParleyDomain
import Testing

@testable import ParleyApp

@Suite struct PageTokenTests {
    @Test func tokensRoundTripAndNeverLookLikeAnOption() {
        // base64url can begin with "-", which the AWS CLI would read as an option: tokens start with a letter.
        let codec = PageTokenCodec(key: .generate())
        for index in 0..<500 {
            let cursor = PageCursor(updateTime: Date(millisecondsSince1970: 1_795_000_000_000 + Int64(index)), id: ResourceID.generate())
            let token = codec.encode(cursor)
            #expect(token.first?.isLetter == true, "\(token)")
            #expect(codec.decode(token) == cursor)
        }
        #expect(codec.decode("-abc") == nil)
        #expect(codec.decode("Pgarbage") == nil)
    }
}
