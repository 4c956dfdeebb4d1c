// Pack and segment codecs, CRC-32C, content classes and the compressibility probe.
#include <gtest/gtest.h>

#include "blob_test_util.h"
#include "content.h"
#include "crc32c.h"
#include "pack_format.h"

namespace millpond::blob {
namespace {

using testing::RandomBytes;

uint32_t BitwiseCrc32c(std::string_view s) {
  uint32_t c = 0xffffffffu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
  }
  return ~c;
}

TEST(Crc32cTest, KnownAnswerAndLongInputsMatchTheBitwiseDefinition) {
  EXPECT_EQ(Crc32c(std::string_view("123456789")), 0xE3069283u);
  EXPECT_EQ(Crc32c(std::string_view("")), 0u);
  // Around the three-stream block size (3 x 4096) and odd tails.
  for (size_t n : {1u, 7u, 8u, 4095u, 12287u, 12288u, 12289u, 40000u, 100003u}) {
    std::string data = RandomBytes(n, n);
    EXPECT_EQ(Crc32c(data), BitwiseCrc32c(data)) << n;
    // Extending in two parts gives the same result.
    size_t cut = n / 3;
    EXPECT_EQ(Crc32c(std::string_view(data).substr(cut),
                     Crc32c(std::string_view(data).substr(0, cut))),
              Crc32c(data))
        << n;
  }
}

TEST(PackFormatTest, FooterRoundTripsAndTrailerChecksTheSize) {
  std::vector<ChunkEntry> entries(3);
  for (int i = 0; i < 3; ++i) {
    entries[i].id = BlobId::Of("chunk" + std::to_string(i));
    entries[i].offset = kPackHeaderSize + 100 * i;
    entries[i].stored_len = 100;
    entries[i].raw_len = 150;
    entries[i].crc = 1234 + i;
    entries[i].codec = kCodecZstd;
    entries[i].cls = 1;
  }
  const uint64_t footer_offset = kPackHeaderSize + 300;
  std::string footer = EncodePackFooter(entries, footer_offset);
  const int64_t size = static_cast<int64_t>(footer_offset + footer.size());
  auto t = DecodePackTrailer(std::string_view(footer).substr(footer.size() - kPackTrailerSize),
                             size, "p");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  auto back = DecodePackFooter(std::string_view(footer).substr(0, 3 * kPackEntrySize), *t, "p");
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[2].id, entries[2].id);
  EXPECT_EQ((*back)[2].offset, entries[2].offset);
  EXPECT_EQ((*back)[2].crc, entries[2].crc);
  // A file of another size (truncated or appended to) is refused.
  auto bad = DecodePackTrailer(std::string_view(footer).substr(footer.size() - kPackTrailerSize),
                               size - 1, "/x/pack-1.mpk");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("/x/pack-1.mpk"), std::string::npos);
  // A flipped footer byte fails its checksum.
  footer[40] ^= 1;
  auto corrupt =
      DecodePackFooter(std::string_view(footer).substr(0, 3 * kPackEntrySize), *t, "p");
  ASSERT_FALSE(corrupt.ok());
  EXPECT_NE(corrupt.status().message().find("checksum"), std::string::npos);
}

TEST(PackFormatTest, SegmentRoundTripsAndDetectsCorruption) {
  Segment s;
  s.created = 1764000000123;
  s.packs = {PackId::Random(7), PackId::Random(7)};
  SegChunk c;
  c.entry.id = BlobId::Of("a");
  c.entry.offset = 48;
  c.entry.stored_len = 10;
  c.entry.raw_len = 20;
  c.pack = 1;
  s.chunks = {c};
  SegBlob b;
  b.id = BlobId::Of("ab");
  b.size = 40;
  b.ref_time = 5;
  b.puts = 2;
  b.chunks = {{BlobId::Of("a"), 20}, {BlobId::Of("b"), 20}};
  s.blobs = {b};
  s.touches = {SegTouch{BlobId::Of("zz"), 9}};
  std::string bytes = EncodeSegment(s);
  auto back = DecodeSegment(bytes, "seg");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->created, s.created);
  EXPECT_EQ(back->packs, s.packs);
  EXPECT_EQ(back->chunks[0].pack, 1u);
  EXPECT_EQ(back->blobs[0].chunks.size(), 2u);
  EXPECT_EQ(back->blobs[0].puts, 2u);
  EXPECT_EQ(back->touches[0].ref_time, 9);

  std::string flipped = bytes;
  flipped[60] ^= 0x10;
  auto bad = DecodeSegment(flipped, "/w/_blobs/index/seg-1.mpi");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("/w/_blobs/index/seg-1.mpi"), std::string::npos);
  EXPECT_NE(bad.status().message().find("checksum mismatch"), std::string::npos);
  auto cut = DecodeSegment(std::string_view(bytes).substr(0, bytes.size() - 5), "seg");
  EXPECT_FALSE(cut.ok());
}

TEST(PackFormatTest, NamesParse) {
  PackId id = PackId::Random(0x0123456789abcdefULL);
  EXPECT_EQ(id.writer(), 0x0123456789abcdefULL);
  PackId back;
  ASSERT_TRUE(ParsePackFileName(PackFileName(id), &back));
  EXPECT_EQ(back, id);
  EXPECT_FALSE(ParsePackFileName("pack-xyz.mpk", &back));
  EXPECT_TRUE(IsSegmentFileName(SegmentFileName(1764000000000, 42)));
  EXPECT_FALSE(IsSegmentFileName("seg-1.mpi"));
}

TEST(ContentTest, ClassesFromMagicBytes) {
  EXPECT_EQ(Classify("\xFF\xD8\xFF\xE0" "rest"), ContentClass::kJpeg);
  EXPECT_EQ(Classify("\x89PNG\r\n\x1a\n"), ContentClass::kPng);
  EXPECT_EQ(Classify(std::string("RIFF\x10\0\0\0WEBPVP8 ", 16)), ContentClass::kWebp);
  EXPECT_EQ(Classify(std::string("\0\0\0\x20" "ftypisom", 12)), ContentClass::kVideo);
  EXPECT_EQ(Classify("\x1A\x45\xDF\xA3" "more"), ContentClass::kVideo);
  EXPECT_EQ(Classify("\x28\xB5\x2F\xFD" "data"), ContentClass::kArchive);
  EXPECT_EQ(Classify("\x1F\x8B\x08\x00"), ContentClass::kArchive);
  EXPECT_EQ(Classify("P6\n640 480\n255\n"), ContentClass::kRawImage);
  EXPECT_EQ(Classify("2026-11-25 INFO spindle started\n"), ContentClass::kText);
  EXPECT_EQ(Classify("temp=21.5 °C\n"), ContentClass::kText);  // UTF-8
  EXPECT_EQ(Classify(std::string("\x01\x02\0\x03", 4)), ContentClass::kBinary);
  EXPECT_TRUE(IsPrecompressed(ContentClass::kJpeg));
  EXPECT_FALSE(IsPrecompressed(ContentClass::kText));
}

TEST(ContentTest, ProbeAndEncodeChooseByContent) {
  std::string random = RandomBytes(64 * 1024, 1);
  std::string text = testing::LogText(64 * 1024, 2);
  EXPECT_GT(SampledEntropy(reinterpret_cast<const uint8_t*>(random.data()), random.size()), 7.5);
  EXPECT_LT(SampledEntropy(reinterpret_cast<const uint8_t*>(text.data()), text.size()), 6.0);
  std::string scratch;
  auto t = EncodeChunk(text, ContentClass::kText, 1, &scratch);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->codec, kCodecZstd);
  EXPECT_LT(t->payload.size(), text.size() / 3);
  std::string back(text.size(), '\0');
  ASSERT_TRUE(DecodeChunk(t->codec, t->payload, reinterpret_cast<uint8_t*>(back.data()),
                          back.size())
                  .ok());
  EXPECT_EQ(back, text);
  // Compressible bytes inside a JPEG are stored as they are: the class decides first.
  auto j = EncodeChunk(text, ContentClass::kJpeg, 1, &scratch);
  EXPECT_EQ(j->codec, kCodecNone);
  auto r = EncodeChunk(random, ContentClass::kBinary, 1, &scratch);
  EXPECT_EQ(r->codec, kCodecNone);
  std::string zeros(64 * 1024, '\0');
  auto z = EncodeChunk(zeros, ContentClass::kBinary, 1, &scratch);
  EXPECT_EQ(z->codec, kCodecZstd);
}

}  // namespace
}  // namespace millpond::blob
