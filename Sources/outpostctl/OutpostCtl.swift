import ArgumentParser

/// `outpostctl`, the operator's tool on a field box and in admin scripts. Its command names,
/// flags and output formats are contracts: scripts parse them.
@main
struct OutpostCtl: ParsableCommand {
  /// The command tree.
  static let configuration = CommandConfiguration(
    commandName: "outpostctl",
    abstract: "Inspect and exercise an Outpost field box.",
    subcommands: [
      SOSCommand.self, CheckInCommand.self, CancelCommand.self, ReportCommand.self,
      StatusCommand.self, EnrollCommand.self, JournalCommand.self, WireCommand.self,
    ]
  )
}

/// `outpostctl journal`: the ring-buffer journal, opened directly from its file.
struct JournalCommand: ParsableCommand {
  /// The journal subcommands.
  static let configuration = CommandConfiguration(
    commandName: "journal",
    abstract: "Inspect the ring-buffer journal, or fill it with test records.",
    discussion: """
      Without --file, dump, stat and verify ask the running agent (through its control \
      socket) about its live journal: stat and verify are computed by the agent on the journal \
      it holds; dump reads the file once the agent has made everything durable. With --file \
      they open that journal read-only: recovery runs in memory and nothing is written, so they \
      are safe on the journal of a running agent. They exit with status 2 when the file cannot \
      be opened as a journal at all, 3 when the agent cannot be reached.
      """,
    subcommands: [JournalAppend.self, JournalDump.self, JournalStat.self, JournalVerify.self]
  )
}
