public import Foundation

/// Reads how long a server asks us to wait before the next attempt.
public enum RetryAfter {
    /// `retry-after-ms` (milliseconds, sent by OpenAI) wins over `Retry-After`, which is
    /// delta-seconds or an HTTP date (RFC 9110 §10.2.3). A date is measured from `now`;
    /// past dates and unreadable values give nil (the backoff alone applies).
    public static func parse(retryAfter: String?, retryAfterMilliseconds: String?, now: Date) -> Duration? {
        if let text = retryAfterMilliseconds?.trimmingCharacters(in: .whitespaces), let ms = Double(text), ms >= 0, ms.isFinite {
            return .milliseconds(Int64(ms.rounded(.up)))
        }
        guard let text = retryAfter?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        if let seconds = Double(text) {
            return seconds >= 0 && seconds.isFinite ? .milliseconds(Int64((seconds * 1000).rounded(.up))) : nil
        }
        guard let date = httpDate(text) else { return nil }
        let seconds = date.timeIntervalSince(now)
        return seconds > 0 ? .milliseconds(Int64((seconds * 1000).rounded(.up))) : nil
    }

    /// IMF-fixdate, the only form RFC 9110 asks senders to use.
    private static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.date(from: text)
    }
}
