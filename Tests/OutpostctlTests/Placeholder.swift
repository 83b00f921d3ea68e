import Testing

@Test func placeholderOutpostctlTests() {}
