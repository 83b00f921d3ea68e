import ArgumentParser
import OutpostJournal

/// `outpostctl journal verify`: checks every frame of the live region.
struct JournalVerify: ParsableCommand {
  /// Names, help and exit statuses.
  static let configuration = CommandConfiguration(
    commandName: "verify",
    abstract: "Check every record of the journal; exit 0 only when it is clean.",
    discussion: """
      Prints a one-line summary, then on failure one line per damaged region, duplicate \
      sequence number and undecodable body. Damaged regions are logical byte ranges of the \
      ring (position plus laps times the ring size).

      The journal is opened read-only. Exit status: 0 when clean; 1 when damage was found or \
      reading failed; 2 when the file cannot be opened as a journal (not a journal, a newer \
      format, a size mismatch, missing or unreadable).
      """
  )

  /// `--file`.
  @OptionGroup var journal: JournalFileOption

  /// Opens the journal read-only, verifies it and reports.
  func run() throws {
    let path = journal.file
    let report = try reportingFailure { () throws(CommandFailure) in
      let ring = try JournalFile.openForInspection(path: path)
      do {
        return try ring.verify()
      } catch {
        throw CommandFailure(error, path: path)
      }
    }
    var output = LineWriter(.output)
    for line in Self.lines(report, path: path) {
      output.line(line)
    }
    output.flush()
    if !report.isClean { throw ExitCode(1) }
  }

  /// The summary line, then one line per problem found.
  static func lines(_ report: VerifyReport, path: String) -> [String] {
    let counts =
      "\(report.records) records (\(report.gapRecords) gap records, "
      + "\(report.unknownKinds) of unknown kinds)"
    guard !report.isClean else { return ["\(path): clean: \(counts)"] }
    let damagedBytes = report.damagedRegions.reduce(0) { $0 + $1.count }
    var lines = [
      "\(path): DAMAGED: \(counts); \(report.damagedRegions.count) damaged regions "
        + "(\(damagedBytes) bytes), \(report.duplicateSeqs.count) duplicate sequence numbers, "
        + "\(report.undecodableBodies.count) undecodable bodies"
    ]
    for region in report.damagedRegions {
      lines.append(
        "  damaged region: bytes \(region.lowerBound)..<\(region.upperBound) (\(region.count) bytes)"
      )
    }
    for seq in report.duplicateSeqs {
      lines.append("  duplicate sequence number: \(seq)")
    }
    for seq in report.undecodableBodies {
      lines.append("  undecodable body: sequence number \(seq)")
    }
    return lines
  }
}
