import OutpostCore
import OutpostGPS
import WireWorkload

/// The real track for the size table: a recorded NMEA 0183 log read by the agent's own reader
/// (`OutpostGPS.NMEAReader`: checksums verified, any talker, junk skipped, one fix per epoch).
///
/// Each fix becomes a point stamped with the fix's UTC time, as the agent stamps a position
/// record with the time of its fix; the position then does not repeat it (`fixTimeMs` nil).
struct NmeaTrack {
  var points: [TrackPoint] = []
  /// What the reader saw, for the report.
  var lines = 0
  var comments = 0
  var rejected = 0
  var malformed = 0
  var ignored = 0
  var epochsWithoutFix = 0
  /// Fixes before the first date (no RMC yet), which cannot be stamped and are left out.
  var undated = 0

  /// Reads the whole content of a log.
  init(bytes: [UInt8]) {
    var reader = NMEAReader()
    var splitter = LineSplitter(maxLineBytes: LineSplitter.nmeaMaxLineBytes)
    var fixes: [GPSFix] = []
    for line in splitter.feed(bytes) {
      lines += 1
      if line.drop(while: { $0 == " " || $0 == "\t" }).hasPrefix("#") {
        comments += 1
        continue
      }
      if let fix = reader.feed(line: line) { fixes.append(fix) }
    }
    if let last = reader.finish() { fixes.append(last) }
    rejected = reader.rejectedLines
    malformed = reader.malformedSentences
    ignored = reader.ignoredSentences
    epochsWithoutFix = reader.epochsWithoutFix
    for fix in fixes {
      guard let timeMs = fix.timeMs else {
        undated += 1
        continue
      }
      var position = fix.position
      position.fixTimeMs = nil
      points.append(TrackPoint(timeMs: timeMs, position: position))
    }
  }
}
