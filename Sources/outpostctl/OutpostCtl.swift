import ArgumentParser

/// `outpostctl`, the operator's tool on a field box and in admin scripts. Its command names,
/// flags and output formats are contracts: scripts parse them.
@main
struct OutpostCtl: ParsableCommand {
  /// The command tree.
  static let configuration = CommandConfiguration(
    commandName: "outpostctl",
    abstract: "Inspect and exercise an Outpost field box.",
    subcommands: [JournalCommand.self, WireCommand.self]
  )
}

/// `outpostctl journal`: the ring-buffer journal, opened directly from its file.
struct JournalCommand: ParsableCommand {
  /// The journal subcommands.
  static let configuration = CommandConfiguration(
    commandName: "journal",
    abstract: "Inspect the ring-buffer journal, or fill it with test records.",
    discussion: """
      dump, stat and verify open the journal read-only: recovery runs in memory and nothing is \
      written, so they are safe on the journal of a running agent. They exit with status 2 \
      when the file cannot be opened as a journal at all.
      """,
    subcommands: [JournalAppend.self, JournalDump.self, JournalStat.self, JournalVerify.self]
  )
}
