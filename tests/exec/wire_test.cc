#include "exec/wire.h"

#include <gtest/gtest.h>

namespace clustertwin::exec::wire {
namespace {

TEST(Wire, HeaderRoundTripIsBigEndian) {
  auto h = encode_header(FrameType::Step, 0x01020304);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(h.data()), 4), "CTW1");
  EXPECT_EQ(h[4], 0);
  EXPECT_EQ(h[5], kVersion);
  EXPECT_EQ(h[6], 0);
  EXPECT_EQ(h[7], 7);  // FrameType::Step
  EXPECT_EQ(h[8], 0x01);
  EXPECT_EQ(h[11], 0x04);
  Header d = decode_header(h.data());
  EXPECT_EQ(d.version, kVersion);
  EXPECT_EQ(d.type, FrameType::Step);
  EXPECT_EQ(d.length, 0x01020304u);
}

TEST(Wire, EncodeFrameAppendsPayload) {
  std::string f = encode_frame(FrameType::Hello, "{}");
  ASSERT_EQ(f.size(), kHeaderSize + 2);
  EXPECT_EQ(f.substr(kHeaderSize), "{}");
  EXPECT_EQ(decode_header(reinterpret_cast<const uint8_t*>(f.data())).length, 2u);
}

TEST(Wire, BadMagicIsRefused) {
  auto h = encode_header(FrameType::Hello, 0);
  h[0] = 'G';  // an HTTP client: "GET /"
  try {
    decode_header(h.data());
    FAIL() << "accepted bad magic";
  } catch (const FrameError& e) {
    EXPECT_NE(std::string(e.what()).find("bad magic 0x47545731"), std::string::npos) << e.what();
  }
}

TEST(Wire, OversizedFrameIsRefused) {
  auto h = encode_header(FrameType::Assign, kMaxPayload + 1);
  EXPECT_THROW(decode_header(h.data()), FrameError);
  auto ok = encode_header(FrameType::Assign, kMaxPayload);
  EXPECT_EQ(decode_header(ok.data()).length, kMaxPayload);
  EXPECT_THROW(encode_frame(FrameType::Assign, std::string(kMaxPayload + 1, 'x')), FrameError);
}

TEST(Wire, UnknownTypeIsRefused) {
  auto h = encode_header(FrameType::Hello, 0);
  h[7] = 99;
  EXPECT_THROW(decode_header(h.data()), FrameError);
}

TEST(Wire, DataFrameShorterThanItsSubHeaderIsRefused) {
  auto h = encode_header(FrameType::Chunk, kDataHeaderSize - 1);
  EXPECT_THROW(decode_header(h.data()), FrameError);
}

TEST(Wire, OtherVersionIsReportedNotRejected) {
  auto h = encode_header(FrameType::Hello, 5);
  h[5] = 9;
  h[7] = 200;  // a type this version does not know must not hide the version mismatch
  Header d = decode_header(h.data());
  EXPECT_EQ(d.version, 9);
}

TEST(Wire, DataHeaderRoundTrip) {
  DataHeader in{-3, 7, 0x0102030405060708ull, 1ull << 40};
  auto b = encode_data_header(in);
  EXPECT_EQ(b[8], 0x01);
  EXPECT_EQ(b[15], 0x08);
  DataHeader out = decode_data_header(b.data());
  EXPECT_EQ(out.tag, -3);
  EXPECT_EQ(out.step, 7u);
  EXPECT_EQ(out.offset, in.offset);
  EXPECT_EQ(out.total, in.total);
}

}  // namespace
}  // namespace clustertwin::exec::wire
