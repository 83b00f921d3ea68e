import Testing

@Test func placeholderOutpostCoreTests() {}
