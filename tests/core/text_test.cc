// What text from a user's file may hold, and how text is made safe for a terminal.
#include "core/text.h"

#include <gtest/gtest.h>

namespace clustertwin::core {
namespace {

std::string fault(std::string_view s) {
  auto f = find_unsafe_text(s);
  return f ? std::to_string(f->offset) + " " + f->what : "clean";
}

TEST(Text, PrintableUnicodeTabsAndLineEndsAreClean) {
  EXPECT_EQ(fault("mini1"), "clean");
  EXPECT_EQ(fault("n\xc5\x93ud \xe2\x86\x92 \xf0\x9f\x96\xa5 caf\xc3\xa9\tx\r\n"), "clean");  // nœud → 🖥 café
  EXPECT_EQ(fault(""), "clean");
}

TEST(Text, InvalidUtf8IsFoundAtItsByte) {
  EXPECT_EQ(fault("ab\xff"), "2 invalid UTF-8 (byte 0xff)");
  EXPECT_EQ(fault("a\xc3"), "1 invalid UTF-8 (byte 0xc3)");           // cut short
  EXPECT_EQ(fault("\xc0\x80"), "0 invalid UTF-8 (byte 0xc0)");        // overlong NUL
  EXPECT_EQ(fault("x\xe0\x80\xaf"), "1 invalid UTF-8 (byte 0xe0)");   // overlong '/'
  EXPECT_EQ(fault("\xed\xa0\x80"), "0 invalid UTF-8 (byte 0xed)");    // a surrogate
  EXPECT_EQ(fault("\xf4\x90\x80\x80"), "0 invalid UTF-8 (byte 0xf4)");  // past U+10FFFF
}

TEST(Text, ControlAndBidiCharactersAreNamed) {
  EXPECT_EQ(fault(std::string_view("a\0b", 3)), "1 a control character (U+0000)");
  EXPECT_EQ(fault("a\x1b[31m"), "1 a control character (U+001B)");
  EXPECT_EQ(fault("\x7f"), "0 a control character (U+007F)");
  EXPECT_EQ(fault("x\xc2\x85"), "1 a control character (U+0085)");
  EXPECT_EQ(fault("ab\xe2\x80\xae"), "2 a bidirectional-text control (U+202E)");
  EXPECT_EQ(fault("\xe2\x81\xa6"), "0 a bidirectional-text control (U+2066)");
}

TEST(Text, PrintableEscapesWhatIsUnsafe) {
  EXPECT_EQ(printable("mini1 caf\xc3\xa9"), "mini1 caf\xc3\xa9");
  EXPECT_EQ(printable(std::string_view("a\0b\xff\x1b", 5)), "a\\x00b\\xff\\x1b");
  EXPECT_EQ(printable("evil\xe2\x80\xaegpj.exe"), "evil\\u202egpj.exe");
  EXPECT_EQ(printable("a\nb\rc"), "a\\x0ab\\x0dc");
  EXPECT_EQ(printable("a\nb", true), "a\nb");
}

TEST(Text, DisplayWidthCountsCharacters) {
  EXPECT_EQ(display_width("abc"), 3u);
  EXPECT_EQ(display_width("caf\xc3\xa9"), 4u);
  EXPECT_EQ(display_width("\\u202e"), 6u);
}

}  // namespace
}  // namespace clustertwin::core
