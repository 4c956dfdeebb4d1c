// MediaProbe: libmagic for the content type, libexif for DateTimeOriginal, libavformat for image
// dimensions and video streams. Everything reads through the caller's file descriptor, so what is
// probed is exactly the file that was opened (no second open by name, no symlink race).
#include "millpond/blob/media_probe.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include <libexif/exif-data.h>
#include <libexif/exif-loader.h>
#include <magic.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
}

namespace millpond::blob {
namespace {

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Reads through the descriptor with pread, so several readers never share an offset.
struct FdReader {
  int fd;
  int64_t pos = 0;
  int64_t size = -1;
};

int ReadPacket(void* opaque, uint8_t* buf, int n) {
  auto* r = static_cast<FdReader*>(opaque);
  ssize_t got;
  do {
    got = ::pread(r->fd, buf, static_cast<size_t>(n), r->pos);
  } while (got < 0 && errno == EINTR);
  if (got < 0) return AVERROR(errno);
  if (got == 0) return AVERROR_EOF;
  r->pos += got;
  return static_cast<int>(got);
}

int64_t Seek(void* opaque, int64_t offset, int whence) {
  auto* r = static_cast<FdReader*>(opaque);
  if (whence & AVSEEK_SIZE) return r->size;
  whence &= ~AVSEEK_FORCE;
  int64_t target = whence == SEEK_SET   ? offset
                   : whence == SEEK_CUR ? r->pos + offset
                   : whence == SEEK_END ? r->size + offset
                                        : -1;
  if (target < 0) return AVERROR(EINVAL);
  r->pos = target;
  return target;
}

// Dimensions (and for videos duration, codec and frame rate) of the best video stream.
void ProbeAv(int fd, int64_t size, bool video, MediaInfo* info) {
  static std::once_flag quiet;
  std::call_once(quiet, [] { av_log_set_level(AV_LOG_QUIET); });
  FdReader reader{fd, 0, size};
  constexpr int kBufferSize = 64 * 1024;
  auto* buffer = static_cast<uint8_t*>(av_malloc(kBufferSize));
  if (!buffer) return;
  AVIOContext* io =
      avio_alloc_context(buffer, kBufferSize, 0, &reader, &ReadPacket, nullptr, &Seek);
  if (!io) {
    av_free(buffer);
    return;
  }
  AVFormatContext* fmt = avformat_alloc_context();
  if (fmt) {
    fmt->pb = io;
    fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    if (avformat_open_input(&fmt, nullptr, nullptr, nullptr) < 0) fmt = nullptr;  // freed by it
  }
  if (fmt && avformat_find_stream_info(fmt, nullptr) >= 0) {
    int best = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    if (best >= 0) {
      AVStream* st = fmt->streams[best];
      if (st->codecpar->width > 0 && st->codecpar->height > 0) {
        info->width = st->codecpar->width;
        info->height = st->codecpar->height;
      }
      if (video) {
        info->video_codec = avcodec_get_name(st->codecpar->codec_id);
        AVRational rate = av_guess_frame_rate(fmt, st, nullptr);
        if (rate.num > 0 && rate.den > 0) info->frame_rate = av_q2d(rate);
        if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0) {
          info->duration_seconds = static_cast<double>(fmt->duration) / AV_TIME_BASE;
        } else if (st->duration != AV_NOPTS_VALUE && st->duration > 0) {
          info->duration_seconds = static_cast<double>(st->duration) * av_q2d(st->time_base);
        }
      }
    }
  }
  if (fmt) avformat_close_input(&fmt);
  av_freep(&io->buffer);
  avio_context_free(&io);
}

// DateTimeOriginal of a JPEG's EXIF block, read only as far as the loader needs.
std::optional<int64_t> ProbeExif(int fd) {
  ExifLoader* loader = exif_loader_new();
  if (!loader) return std::nullopt;
  unsigned char buf[16 * 1024];
  int64_t pos = 0;
  while (true) {
    ssize_t got = ::pread(fd, buf, sizeof(buf), pos);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    pos += got;
    if (!exif_loader_write(loader, buf, static_cast<unsigned int>(got))) break;
  }
  ExifData* data = exif_loader_get_data(loader);
  exif_loader_unref(loader);
  if (!data) return std::nullopt;
  std::optional<int64_t> out;
  for (ExifTag tag : {EXIF_TAG_DATE_TIME_ORIGINAL, EXIF_TAG_DATE_TIME_DIGITIZED}) {
    ExifEntry* e = exif_content_get_entry(data->ifd[EXIF_IFD_EXIF], tag);
    if (!e) continue;
    char value[64] = {0};
    exif_entry_get_value(e, value, sizeof(value));
    out = ParseExifDateTime(value);
    if (out) break;
  }
  exif_data_unref(data);
  return out;
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

std::optional<int64_t> ParseExifDateTime(const std::string& text) {
  int y, mo, d, h, mi, s;
  char tail;
  if (std::sscanf(text.c_str(), "%4d:%2d:%2d %2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &tail) !=
      6) {
    return std::nullopt;
  }
  static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] || h > 23 || mi > 59 || s > 60 ||
      h < 0 || mi < 0 || s < 0) {
    return std::nullopt;  // "0000:00:00 00:00:00" and other placeholders
  }
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return ((days * 24 + h) * 60 + mi) * 60000LL + s * 1000LL;
}

struct MediaProbe::Impl {
  magic_t magic = nullptr;
  ~Impl() {
    if (magic) magic_close(magic);
  }
};

MediaProbe::~MediaProbe() = default;

Result<std::unique_ptr<MediaProbe>> MediaProbe::Make() {
  auto p = std::unique_ptr<MediaProbe>(new MediaProbe());
  p->impl_ = std::make_unique<Impl>();
  p->impl_->magic = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS);
  if (!p->impl_->magic) return Status::IOError("libmagic: cannot open: ", std::strerror(errno));
  if (magic_load(p->impl_->magic, nullptr) != 0) {
    return Status::IOError("libmagic: cannot load its database: ", magic_error(p->impl_->magic));
  }
  return p;
}

Result<MediaInfo> MediaProbe::Probe(int fd, const std::string& path) {
  MediaInfo info;
  off_t size = ::lseek(fd, 0, SEEK_END);
  if (size < 0 || ::lseek(fd, 0, SEEK_SET) < 0) {
    return Status::IOError(path, ": cannot seek: ", std::strerror(errno));
  }
  const char* mime = magic_descriptor(impl_->magic, fd);
  if (!mime) {
    return Status::IOError(path, ": cannot read to find its type: ", magic_error(impl_->magic));
  }
  info.content_type = mime;
  if (StartsWith(info.content_type, "image/jpeg")) info.exif_captured_millis = ProbeExif(fd);
  const bool video = StartsWith(info.content_type, "video/");
  if (video || StartsWith(info.content_type, "image/")) ProbeAv(fd, size, video, &info);
  return info;
}

}  // namespace millpond::blob
