import Foundation

/// A line chart as SVG markup, drawn on the server from numbers only (no user text goes in), styled by console.css classes.
struct SVGChart {
    let start: Date
    let end: Date
    let period: Int
    let timestamps: [Date]
    let values: [Double]

    func render() -> String {
        let width = 640.0
        let height = 160.0
        let left = 40.0
        let bottom = 20.0
        let span = max(1, end.timeIntervalSince(start))
        let maximum = max(1, values.max() ?? 1)
        // Periods without a point are zero, so gaps show as drops rather than straight lines across.
        var byTime: [Int: Double] = [:]
        for (time, value) in zip(timestamps, values) { byTime[Int(time.timeIntervalSince(start)) / period] = value }
        let buckets = Int(span) / period + 1
        var points: [String] = []
        for bucket in 0..<buckets {
            let x = left + (width - left) * Double(bucket * period) / span
            let y = (height - bottom) * (1 - (byTime[bucket] ?? 0) / maximum)
            points.append(String(format: "%.1f,%.1f", x, y))
        }
        let label = String(format: "%.0f", maximum)
        return """
            <svg class="chart" viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-label="chart, maximum \(label)">\
            <line class="axis" x1="\(left)" y1="\(height - bottom)" x2="\(width)" y2="\(height - bottom)"/>\
            <line class="axis" x1="\(left)" y1="0" x2="\(left)" y2="\(height - bottom)"/>\
            <text class="label" x="2" y="12">\(label)</text><text class="label" x="2" y="\(Int(height - bottom))">0</text>\
            <polyline class="series" fill="none" points="\(points.joined(separator: " "))"/></svg>
            """
    }
}
