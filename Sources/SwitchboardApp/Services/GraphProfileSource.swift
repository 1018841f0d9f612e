import AsyncHTTPClient
import Messenger
import SwitchboardCore
import SwitchboardServices

/// Profiles from the Graph API (or the emulator), with the Page's sealed token.
struct GraphProfileSource: ProfileSource {
    let graph: GraphClient
    let store: any Store
    let box: SecretBox

    func profile(pageId: String, psid: String) async throws -> ContactProfile? {
        guard let page = try await store.page(id: pageId), let sealed = page.sealedAccessToken else {
            // A Page we have no token for: nothing to ask with; keep the PSID as the name.
            return nil
        }
        let token = PageAccessToken(try box.open(sealed))
        let result: Result<UserProfile, GraphError>
        do {
            result = .success(try await graph.userProfile(psid: psid, token: token))
        } catch {
            result = .failure(error)
        }
        switch result {
        case .success(let profile):
            return ContactProfile(firstName: profile.firstName, lastName: profile.lastName, avatarURL: profile.profilePicURL)
        case .failure(let error):
            // "No profile available" (accounts made with a phone number): not worth retrying.
            if error.body?.code == 2_018_218 || error.body?.subcode == 2_018_218 { return nil }
            let failure = GraphErrorClassifier.classify(error)
            // Unknown person, missing permission, bad token: asking again will not help.
            guard failure.isRetryable else { throw PermanentJobFailure("\(failure.reason) (\(error))") }
            throw error
        }
    }
}
