// What a file holds, for `ingest files`: its content type (libmagic), when it was captured
// (EXIF DateTimeOriginal, libexif), image width and height, and a video's duration, codec and
// frame rate (FFmpeg's libavformat). One MediaProbe per thread (libmagic handles are not
// thread-safe); probes of different files are independent.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "millpond/common/status.h"

namespace millpond::blob {

struct MediaInfo {
  /// MIME type, e.g. "image/jpeg", "video/mp4", "text/plain"; "application/octet-stream" when
  /// nothing is recognized.
  std::string content_type;
  /// EXIF DateTimeOriginal (the camera's wall clock, no time zone) as milliseconds since
  /// 1970-01-01T00:00 of that wall clock; absent when the file has none.
  std::optional<int64_t> exif_captured_millis;
  std::optional<int32_t> width;
  std::optional<int32_t> height;
  /// Videos only.
  std::optional<double> duration_seconds;
  std::optional<std::string> video_codec;
  std::optional<double> frame_rate;
};

class MediaProbe {
 public:
  static Result<std::unique_ptr<MediaProbe>> Make();
  ~MediaProbe();

  /// Probes the open file `fd` (read from its start; the offset is left anywhere), named `path`
  /// in errors. Unrecognized or damaged media give only what could be read, never an error; an
  /// error means the file could not be read.
  Result<MediaInfo> Probe(int fd, const std::string& path);

 private:
  MediaProbe() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Parses an EXIF date "YYYY:MM:DD HH:MM:SS" into wall-clock milliseconds since 1970-01-01.
std::optional<int64_t> ParseExifDateTime(const std::string& text);

}  // namespace millpond::blob
