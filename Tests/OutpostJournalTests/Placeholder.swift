import Testing

@Test func placeholderOutpostJournalTests() {}
