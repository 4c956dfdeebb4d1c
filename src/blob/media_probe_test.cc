// MediaProbe on hand-made files: a JPEG whose EXIF block carries DateTimeOriginal, a PNG (real
// zlib image data, so FFmpeg decodes its size), plain text, and EXIF date parsing. Videos and
// camera-made images are covered end to end in tests/test_ingest_files.py (made by ffmpeg).
#include "millpond/blob/media_probe.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace millpond::blob {
namespace {

namespace stdfs = std::filesystem;

void Put16BE(std::string* s, uint16_t v) {
  s->push_back(static_cast<char>(v >> 8));
  s->push_back(static_cast<char>(v & 0xff));
}
void Put32BE(std::string* s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
template <typename T>
void PutLE(std::string* s, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// SOI, APP1 "Exif" (IFD0 -> Exif IFD -> DateTimeOriginal), EOI.
std::string JpegWithExif(const std::string& date) {
  std::string value = date + '\0';
  std::string tiff = "II*";
  tiff.push_back('\0');
  PutLE<uint32_t>(&tiff, 8);
  PutLE<uint16_t>(&tiff, 1);
  PutLE<uint16_t>(&tiff, 0x8769);
  PutLE<uint16_t>(&tiff, 4);
  PutLE<uint32_t>(&tiff, 1);
  PutLE<uint32_t>(&tiff, 26);
  PutLE<uint32_t>(&tiff, 0);
  PutLE<uint16_t>(&tiff, 1);
  PutLE<uint16_t>(&tiff, 0x9003);
  PutLE<uint16_t>(&tiff, 2);
  PutLE<uint32_t>(&tiff, static_cast<uint32_t>(value.size()));
  PutLE<uint32_t>(&tiff, 44);
  PutLE<uint32_t>(&tiff, 0);
  tiff += value;
  std::string payload = std::string("Exif\0\0", 6) + tiff;
  std::string jpeg = "\xff\xd8\xff\xe1";
  Put16BE(&jpeg, static_cast<uint16_t>(payload.size() + 2));
  jpeg += payload;
  jpeg += "\xff\xd9";
  return jpeg;
}

std::string PngChunk(const std::string& type, const std::string& data) {
  std::string out;
  Put32BE(&out, static_cast<uint32_t>(data.size()));
  std::string body = type + data;
  out += body;
  Put32BE(&out, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()),
                                            static_cast<uInt>(body.size()))));
  return out;
}

// A 7x5 grey PNG.
std::string Png() {
  const int w = 7, h = 5;
  std::string raw;
  for (int y = 0; y < h; ++y) {
    raw.push_back('\0');  // filter: none
    for (int x = 0; x < w; ++x) raw.push_back(static_cast<char>(x * 30 + y));
  }
  uLongf n = compressBound(raw.size());
  std::string z(n, '\0');
  compress(reinterpret_cast<Bytef*>(z.data()), &n, reinterpret_cast<const Bytef*>(raw.data()),
           raw.size());
  z.resize(n);
  std::string ihdr;
  Put32BE(&ihdr, w);
  Put32BE(&ihdr, h);
  ihdr += std::string("\x08\x00\x00\x00\x00", 5);  // 8-bit greyscale
  return std::string("\x89PNG\r\n\x1a\n", 8) + PngChunk("IHDR", ihdr) + PngChunk("IDAT", z) +
         PngChunk("IEND", "");
}

class MediaProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = stdfs::temp_directory_path() / ("millpond_media_probe_" + std::to_string(::getpid()));
    stdfs::create_directories(dir_);
  }
  void TearDown() override { stdfs::remove_all(dir_); }

  MediaInfo Probe(const std::string& name, const std::string& bytes) {
    auto path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    int fd = ::open(path.c_str(), O_RDONLY);
    EXPECT_GE(fd, 0);
    auto probe = MediaProbe::Make();
    EXPECT_TRUE(probe.ok()) << probe.status().ToString();
    auto info = (*probe)->Probe(fd, name);
    ::close(fd);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    return *info;
  }

  stdfs::path dir_;
};

TEST_F(MediaProbeTest, JpegExifDateTimeOriginal) {
  auto info = Probe("a.jpg", JpegWithExif("2024:05:06 07:08:09"));
  EXPECT_EQ(info.content_type, "image/jpeg");
  ASSERT_TRUE(info.exif_captured_millis.has_value());
  EXPECT_EQ(*info.exif_captured_millis, *ParseExifDateTime("2024:05:06 07:08:09"));
  EXPECT_FALSE(info.duration_seconds.has_value());
  // A placeholder date is no date.
  EXPECT_FALSE(Probe("b.jpg", JpegWithExif("0000:00:00 00:00:00")).exif_captured_millis);
}

TEST_F(MediaProbeTest, PngDimensionsWithoutExif) {
  auto info = Probe("p.png", Png());
  EXPECT_EQ(info.content_type, "image/png");
  EXPECT_EQ(info.width, 7);
  EXPECT_EQ(info.height, 5);
  EXPECT_FALSE(info.exif_captured_millis);
  EXPECT_FALSE(info.video_codec);
}

TEST_F(MediaProbeTest, TextAndDamagedMediaGiveWhatIsKnown) {
  auto text = Probe("n.txt", "spindle alarm\n");
  EXPECT_EQ(text.content_type, "text/plain");
  EXPECT_FALSE(text.width);
  // A PNG cut short: still image/png by its magic, no dimensions, no error.
  auto cut = Png().substr(0, 20);
  auto damaged = Probe("cut.png", cut);
  EXPECT_FALSE(damaged.width);
  auto empty = Probe("empty", "");
  EXPECT_FALSE(empty.content_type.empty());
}

TEST(ExifDate, ParsesAndRejects) {
  EXPECT_EQ(ParseExifDateTime("1970:01:01 00:00:00"), 0);
  EXPECT_EQ(ParseExifDateTime("1970:01:02 00:00:01"), 86401000);
  EXPECT_EQ(ParseExifDateTime("2000:03:01 00:00:00"), 951868800000LL);
  EXPECT_EQ(ParseExifDateTime("1969:12:31 23:59:59"), -1000);
  for (const char* bad : {"", "2024-05-06 07:08:09", "2024:13:01 00:00:00", "2024:05:06 24:00:00",
                          "2024:05:06 07:08:09x", "0000:00:00 00:00:00", "    :  :     :  :  "}) {
    EXPECT_FALSE(ParseExifDateTime(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace millpond::blob
