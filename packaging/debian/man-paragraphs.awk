# Tidies the mdoc pages swift-argument-parser's generate-manual writes: it copies each
# command's discussion text as it is, where a blank line separates paragraphs and lines
# indented by two spaces are examples. In mdoc a blank line is an error ("Empty input line")
# and an example must not be filled; here a paragraph break becomes .Pp and a run of indented
# lines a literal display.
/^$/ { blank = 1; next }
/^  / {
  if (!literal) { print ".Bd -literal -offset indent"; literal = 1 }
  blank = 0
  sub(/^  /, "")
  print
  next
}
{
  if (literal) { print ".Ed"; literal = 0 }
  if (blank) print ".Pp"
  blank = 0
  print
}
END { if (literal) print ".Ed" }
